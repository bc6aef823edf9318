#!/bin/bash
# The sluice demo: a client, an edge running sluice, and blue (v1) and
# green (v2) backends in network namespaces of their own. Steady client
# traffic runs while the split walks 1% -> 5% -> 25% -> 50% -> 100%, then
# a blue/green flip switches every new flow back and forth. Everything is
# torn down on exit, Ctrl-C included.
set -u
cd "$(dirname "$0")/.."
. tools/testbed.sh

S=$PWD/build/sluice
STEP_SECONDS=${DEMO_STEP_SECONDS:-4}
RATE=${DEMO_RATE:-300}
export SLUICE_PIN_DIR=/sys/fs/bpf/sluice-demo$$
export SLUICE_LOCK_FILE=/tmp/sluice-demo$$.lock
TMP=$(mktemp -d)

teardown() {
	[ -n "${NS_EDGE:-}" ] && nsenter --net=/var/run/netns/"$NS_EDGE" \
		"$S" down >/dev/null 2>&1
	testbed_down
	rm -rf "$TMP" "$SLUICE_LOCK_FILE"
}
trap teardown EXIT
trap 'echo; echo "interrupted: tearing down"; exit 130' INT TERM

in_ns() {
	local ns=$1
	shift
	nsenter --net=/var/run/netns/"$ns" "$@"
}
edge() { in_ns "$NS_EDGE" "$S" "$@"; }

start_backend() {
	local ns=$1 colour=$2 version=$3 addr=$4
	local out=$TMP/$colour-$addr
	in_ns "$ns" build/tools/backend --listen "$addr:8080" --colour "$colour" \
		--version "$version" --name "$colour-$addr" >"$out" 2>&1 &
	for _ in $(seq 50); do
		grep -q ready "$out" && return 0
		sleep 0.1
	done
	echo "demo: backend $addr did not start" >&2
	cat "$out" >&2
	exit 1
}

# Errors the kernel counted for one colour: RSTs, ICMP errors, HTTP 5xx.
kernel_errors() {
	edge status web --json |
		jq "[.services[0].pools.$1.backends[].errors | add] | add // 0"
}

# One step of steady traffic, then a row of what a person wants to see.
traffic_row() {
	local label=$1 eb eg
	eb=$(kernel_errors blue)
	eg=$(kernel_errors green)
	pgrep -x sluice >/dev/null && echo "demo: a sluice process is running?" >&2
	in_ns "$NS_CLIENT" build/tools/loadgen --target "$VIP4:80" \
		--duration "${STEP_SECONDS}s" --rate "$RATE" --clients 1000 \
		--json >"$TMP/step.json"
	jq -r --arg step "$label" \
		--argjson eb "$(($(kernel_errors blue) - eb))" \
		--argjson eg "$(($(kernel_errors green) - eg))" '
		def n(x): x // 0;
		def p99(c): (.by_colour[c].first_byte_ms.p99 // null) |
			if . == null then "-" else "\(.) ms" end;
		(n(.colours.blue) + n(.colours.green)) as $t |
		[$step, n(.colours.blue), n(.colours.green),
		 (if $t > 0 then "\((1000 * n(.colours.green) / $t | round) / 10)%" else "-" end),
		 $eb, $eg,
		 (.errors | to_entries | map(.value) | add),
		 p99("blue"), p99("green")] | @tsv' "$TMP/step.json" |
		awk -F'\t' '{ printf "%-22s %7s %7s %8s %6s %6s %7s %11s %11s\n",
			$1, $2, $3, $4, $5, $6, $7, $8, $9 }'
}

header() {
	printf "%-22s %7s %7s %8s %6s %6s %7s %11s %11s\n" "step" "blue" \
		"green" "green%" "errB" "errG" "failed" "p99 blue" "p99 green"
}

echo "== building the testbed: client -- edge (sluice) -- blue / green"
testbed_up >/dev/null || exit 1
start_backend "$NS_BLUE" blue v1 "$BLUE4"
start_backend "$NS_BLUE" blue v1 "$BLUE4B"
start_backend "$NS_GREEN" green v2 "$GREEN4"
start_backend "$NS_GREEN" green v2 "$GREEN4B"

echo "== sluice up on the edge, one service, two pools"
edge up --iface c0 --iface b0 --iface g0 || exit 1
edge service add web --vip "$VIP4:80/tcp" --affinity client
edge backend add web blue "$BLUE4:8080"
edge backend add web blue "$BLUE4B:8080"
edge backend add web green "$GREEN4:8080"
edge backend add web green "$GREEN4B:8080"
echo
echo "== steady traffic: $RATE connections/s from 1000 clients, ${STEP_SECONDS}s a step"
echo "   (no sluice process runs while traffic flows: the kernel holds the state)"
echo "   blue/green: connections answered by each pool; err: kernel-counted"
echo "   errors per pool; failed: connections the client saw fail"
echo
header
traffic_row "split 0% (all blue)"
for s in 1 5 25 50 100; do
	edge split web "$s" >/dev/null
	traffic_row "split $s%"
done
echo
edge flip web
traffic_row "flip: green stable"
edge flip web
traffic_row "flip back: blue"
echo
edge status web
