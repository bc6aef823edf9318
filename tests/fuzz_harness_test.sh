#!/bin/bash
# The libFuzzer harnesses of tests/fuzz/ (config parser, CLI argument
# parsers, the agent's request and state-file parsers), each run for a
# bounded time from a small seed corpus made here. A crash, a leak or
# undefined behaviour fails the harness; the reproducer is kept in
# build/fuzz/artifacts/. FUZZ_SECONDS (default 10) and FUZZ_RUNS (default
# 2000000, -1 for no cap) bound each run, FUZZ_NAMES picks harnesses;
# `make fuzz-long` runs each for 10 minutes. TAP.
set -u
cd "$(dirname "$0")/.."
SECS=${FUZZ_SECONDS:-10}
RUNS=${FUZZ_RUNS:-2000000}
NAMES=${FUZZ_NAMES:-fuzz_config fuzz_parse fuzz_ctl}
echo "1..$(echo $NAMES | wc -w)"
if ! make -s fuzz-targets >/dev/null 2>&1; then
	n=0
	for f in $NAMES; do
		n=$((n + 1))
		echo "not ok $n - $f: make fuzz-targets failed"
	done
	make -s fuzz-targets 2>&1 | tail -20 | sed 's/^/# /'
	exit 1
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
ART=$PWD/build/fuzz/artifacts
mkdir -p "$ART"

seed() { # dir name text
	mkdir -p "$T/$1"
	printf '%s' "$3" >"$T/$1/$2"
}

# Config files: the example, and small valid and invalid ones.
mkdir -p "$T/fuzz_config"
cp tools/sluice.example.yaml "$T/fuzz_config/example.yaml"
seed fuzz_config small 'services:
  web:
    vip: 198.18.100.10:80/tcp
    blue: [198.18.1.10:8080, {address: 198.18.1.11:8080, weight: 3}]
    green: [198.18.2.10:8080]
    split: 1%
    segments: [{prefix: 198.18.7.0/24, colour: green}]
    rollout: {steps: [1, 5, 25, 50, 100], bake: 30s, min_flows: 200}
'
seed fuzz_config agent 'agent: {metrics: "127.0.0.1:9464", events: "-", state_dir: /tmp/x}
services: {}
'
seed fuzz_config v6 'services:
  dns6: {vip: "[fd00::53]:53/udp", mode: dsr, affinity: prefix, candidate: blue}
'
seed fuzz_config anchor 'a: &x 1
b: *x
'

# Command-line values, one per file.
i=0
for s in 198.18.0.10 fd00::10 ::ffff:10.0.0.1 198.18.1.10:8080 \
	'[fd00::1]:8080' 198.18.0.10:80/tcp '[fd00::10]:53/UDP' \
	198.18.7.0/24 fd00:7::/48 5% 0.0001% 100 1m30s 250ms 1.5s 3 65535 \
	green BLUE 4294967295; do
	i=$((i + 1))
	seed fuzz_parse "s$i" "$s"
done

# Requests and a persisted rollout state.
hist=$(printf '0,%.0s' $(seq 23))0
seed fuzz_ctl start '{"cmd":"start","service":"web","policy":{"steps":[10000,50000,250000,1000000],"gates":[250000],"bake_ns":30000000000,"tick_ns":1000000000,"max_error_ratio_ppm":10000,"max_error_ratio_increase_ppm":5000,"max_p99_first_byte_ns":0,"min_flows":200,"failure_limit":3,"ramp_ns":0,"inconclusive_timeout_ns":0,"reset_on_rollback":false}}'
seed fuzz_ctl status '{"cmd":"status","service":"web"}'
seed fuzz_ctl state '{"version":1,"service":"web","state":"running","state_code":0,"step":1,"started_ns":1,"step_started_ns":2,"failures":0,"inconclusive_noted":false,"ramp_started_ns":0,"ramp_from_ppm":0,"reason":"","candidate":1,"settled":false,"service_created_ns":5,"policy":{"steps":[10000,1000000],"gates":[],"bake_ns":1000000000,"tick_ns":1000000000,"max_error_ratio_ppm":10000,"max_error_ratio_increase_ppm":5000,"max_p99_first_byte_ns":0,"min_flows":1,"failure_limit":3,"ramp_ns":0,"inconclusive_timeout_ns":0,"reset_on_rollback":true},"base":{"flows":[1,2],"errors":[0,0],"first_byte_hist_blue":['"$hist"'],"first_byte_hist_green":['"$hist"']}}'

n=0 fail=0
for f in $NAMES; do
	n=$((n + 1))
	log=$T/$f.log
	mkdir -p "$T/$f.work"
	start=$SECONDS
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		build/fuzz/$f -max_total_time="$SECS" -runs="$RUNS" \
		-rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$ART/$f-" "$T/$f.work" "$T/$f" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	if [ "$rc" -eq 0 ] && ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log"; then
		echo "ok $n - $f: ${execs:-?} execs in $((SECONDS - start))s, no crash, leak or UB"
	else
		fail=1
		echo "not ok $n - $f: failed (rc $rc) after ${execs:-?} execs; reproducer in $ART"
		grep -E -A40 'ERROR:|runtime error:|SUMMARY|failed$' "$log" | head -60 | sed 's/^/# /'
	fi
done
exit $fail
