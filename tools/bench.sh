#!/bin/bash
# sluice benchmarks: `make bench` runs this after building.
#
#   tools/bench.sh            print the tables, write build/bench/results.json
#   BENCH_SMOKE=1 ...         every case on tiny counts (seconds, not minutes)
#   BENCH_OUT=DIR ...         write DIR/results.json instead
#
# Each case is its own process (build/tools/bench CASE) in a private
# network namespace, so a crash in one leaves nothing behind and does not
# stop the others; a failed case is recorded as {"error": ...} and makes
# the exit status 1. Nothing here judges a time: the numbers are for
# people, and the machine is usually shared, so every figure is a
# min/median/max and every speed is also given as a ratio to a baseline
# measured in the same run.
set -u
cd "$(dirname "$0")/.." || exit 1

BIN=build/tools/bench
OUT=${BENCH_OUT:-build/bench}
SMOKE=${BENCH_SMOKE:-0}
[ "$SMOKE" = 0 ] && SMOKE=""

if [ "$(id -u)" != 0 ]; then
	echo "bench: needs root (BPF, XDP and network namespaces)" >&2
	exit 1
fi
for cmd in jq ip sysctl; do
	command -v "$cmd" >/dev/null || {
		echo "bench: $cmd is not installed (make deps)" >&2
		exit 1
	}
done
if [ ! -x "$BIN" ]; then
	echo "bench: $BIN is missing; run 'make bench'" >&2
	exit 1
fi
mkdir -p "$OUT" || exit 1
parts=$(mktemp -d) || exit 1
trap 'rm -rf "$parts"' EXIT
# Ctrl-C: stop the case running now (its namespace goes with it).
trap 'exit 130' INT TERM

start=$(date +%s.%N)
failed=0
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "sluice bench${SMOKE:+ (smoke: tiny counts, numbers meaningless)}:" \
	"kernel $(uname -r), $(nproc) CPUs, ${cpu_model:-unknown CPU}"

# run NAME ARGS...: one case; its JSON lands in $parts/NAME.json.
run() {
	local name=$1 rc
	shift
	"$BIN" "$@" --json "$parts/$name.json"
	rc=$?
	if [ $rc -ne 0 ] || ! jq -e . "$parts/$name.json" >/dev/null 2>&1; then
		echo "bench: case '$name' failed (exit $rc)" >&2
		jq -n --arg e "exit $rc" '{error: $e}' >"$parts/$name.json"
		failed=1
	fi
}

run idle_before idle --label before
run pktcost pktcost
run pps pps
run control control
run scale scale
run idle_after idle --label after

elapsed=$(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN { printf "%.1f", a - b }')
jq -n --arg kernel "$(uname -r)" --arg cpu "${cpu_model:-unknown}" \
	--argjson cpus "$(nproc)" \
	--argjson smoke "$([ -n "$SMOKE" ] && echo true || echo false)" \
	--argjson elapsed "$elapsed" --arg date "$(date -u +%FT%TZ)" \
	--slurpfile ib "$parts/idle_before.json" \
	--slurpfile ia "$parts/idle_after.json" \
	--slurpfile pc "$parts/pktcost.json" \
	--slurpfile pps "$parts/pps.json" \
	--slurpfile ctl "$parts/control.json" \
	--slurpfile sc "$parts/scale.json" \
	'{schema: 1, date: $date, smoke: $smoke, kernel: $kernel,
	  cpu: $cpu, cpus: $cpus, elapsed_s: $elapsed,
	  idle_before: $ib[0], idle_after: $ia[0],
	  cases: {pktcost: $pc[0], pps: $pps[0], control: $ctl[0],
		  scale: $sc[0]}}' >"$OUT/results.json.tmp" &&
	mv "$OUT/results.json.tmp" "$OUT/results.json" || failed=1
status="done"
[ $failed = 0 ] || status="done, with FAILED cases"
printf '\nbench: %s in %.0f s -> %s\n' "$status" "$elapsed" \
	"$OUT/results.json"
exit $failed
