#!/bin/bash
# The sluice demo: a client, an edge running sluice, and blue (v1) and
# green (v2) backends in network namespaces of their own. Steady client
# traffic runs throughout. The agent releases v2 on green step by step
# (1% -> 5% -> 25% -> 50% -> 100%) judging each step on kernel counters,
# and the pools swap roles. Then a faulty v3 goes to blue and is caught
# and rolled back. Everything is torn down on exit, Ctrl-C included.
set -u
cd "$(dirname "$0")/.."
. tools/testbed.sh
P=""

S=$PWD/build/sluice
RATE=${DEMO_RATE:-300}
BAKE=${DEMO_BAKE:-3s}
TMP=$(mktemp -d)
export SLUICE_PIN_DIR=/sys/fs/bpf/sluice-demo$$
export SLUICE_LOCK_FILE=$TMP/lock
export SLUICE_STATE_DIR=$TMP/state
export SLUICE_SOCKET=$TMP/agent.sock
PIDS=()

teardown() {
	# A second INT (timeout(1) signals the whole group) must not cut
	# the teardown short.
	trap '' INT TERM
	trap - EXIT
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "$P" ] && nsenter --net="$TESTBED_NETNS_DIR/$NS_EDGE" "$S" down \
		>/dev/null 2>&1
	testbed_down
	rm -rf "$TMP" "$SLUICE_PIN_DIR"
}
trap teardown EXIT
trap 'echo; echo "interrupted: tearing down"; exit 130' INT TERM

in_ns() {
	local ns=$1
	shift
	nsenter --net="$TESTBED_NETNS_DIR/$ns" "$@"
}
edge() { in_ns "$NS_EDGE" "$S" "$@"; }

# backend NS COLOUR VERSION ADDR [flags]: start one, wait until ready.
backend() {
	local ns=$1 colour=$2 version=$3 addr=$4
	shift 4
	local out=$TMP/$colour-$addr
	nsenter --net="$TESTBED_NETNS_DIR/$ns" build/tools/backend \
		--listen "$addr:8080" --colour "$colour" --version "$version" \
		--name "$colour-$addr" "$@" >"$out" 2>&1 &
	PIDS+=($!)
	eval "BE_${colour}_${addr//./_}=$!"
	for _ in $(seq 50); do
		grep -q ready "$out" && return 0
		sleep 0.1
	done
	echo "demo: backend $addr did not start" >&2
	exit 1
}

# Print each agent decision as it happens, with its evidence.
follow_decisions() {
	tail -n +1 -F "$TMP/events.jsonl" 2>/dev/null | jq --unbuffered -r '
		select(.type == "decision") |
		def pool(p): if p then
			"\(p.flows) flows, \(p.errors) err, p99 \(p.p99_first_byte_ms * 10 | round / 10)ms"
			else "" end;
		"  \(.ts[11:23])  \(.action | .[0:12] | . + " " * (12 - length)) " +
		"\(.split | . + " " * (6 - length)) " +
		(if .evidence then "cand \(pool(.evidence.candidate)) | stable \(pool(.evidence.stable))"
		 else .reason end)' &
	PIDS+=($!)
}

wait_state() {
	for _ in $(seq $(($2 * 10))); do
		edge rollout status web --json 2>/dev/null |
			jq -e --arg s "$1" '.state == $s' >/dev/null && return 0
		sleep 0.1
	done
	return 1
}

echo "== testbed: client -- edge (sluice) -- blue / green, in namespaces"
testbed_up >/dev/null || exit 1
backend "$NS_BLUE" blue v1 "$BLUE4"
backend "$NS_BLUE" blue v1 "$BLUE4B"
backend "$NS_GREEN" green v2 "$GREEN4"
backend "$NS_GREEN" green v2 "$GREEN4B"

echo "== sluice up on the edge; service 'web' with blue (v1) and green (v2)"
edge up --iface c0 --iface b0 --iface g0 >/dev/null || exit 1
edge service add web --vip "$VIP4:80/tcp" --affinity client >/dev/null
for a in "$BLUE4" "$BLUE4B"; do edge backend add web blue "$a:8080" >/dev/null; done
for a in "$GREEN4" "$GREEN4B"; do edge backend add web green "$a:8080" >/dev/null; done
nsenter --net="$TESTBED_NETNS_DIR/$NS_EDGE" "$S" agent \
	--events "$TMP/events.jsonl" 2>"$TMP/agent.log" &
PIDS+=($!)
for _ in $(seq 50); do [ -S "$SLUICE_SOCKET" ] && break; sleep 0.1; done

echo "== steady traffic: $RATE connections/s from 1000 clients (loadgen)"
nsenter --net="$TESTBED_NETNS_DIR/$NS_CLIENT" build/tools/loadgen \
	--target "$VIP4:80" --duration 300s --rate "$RATE" --clients 1000 \
	--json >"$TMP/load.json" 2>/dev/null &
LOAD=$!
PIDS+=($LOAD)
sleep 1
touch "$TMP/events.jsonl"
follow_decisions

echo
echo "== release 1: v2 on green, 1% -> 5% -> 25% -> 50% -> 100%, bake $BAKE"
echo "   (decisions as the agent makes them; evidence is the step's window)"
edge rollout start web --steps 1,5,25,50,100 --bake "$BAKE" --tick 250ms \
	--min-flows 10 --max-error-ratio 1% --max-p99-first-byte 1s \
	>/dev/null
wait_state promoted 60 || echo "demo: release 1 did not complete" >&2
sleep 0.3
echo "   -> $(edge status web --json | jq -r '.services[0] |
	"green is stable now, \(.candidate) is the candidate"')"

echo
echo "== release 2: v3 on blue, which answers 10% of requests with HTTP 500"
for a in "$BLUE4" "$BLUE4B"; do
	v=BE_blue_${a//./_}
	kill "${!v}"
	backend "$NS_BLUE" blue v3 "$a" --error-ratio 0.1
done
edge rollout start web --steps 5,25,50,100 --bake "$BAKE" --tick 250ms \
	--min-flows 10 --max-error-ratio 1% --failure-limit 2 >/dev/null
wait_state "rolled back" 30 || echo "demo: release 2 was not rolled back" >&2
sleep 0.3
# The first faulty answer after the start, from the agent's event stream
# (ring-buffer events carry an ISO time, the agent's decisions ts_ns).
first_error_ns=$(jq -s '
	def ns: if .ts_ns then .ts_ns else
		(.ts | capture("^(?<s>[^.]+)[.](?<f>[0-9]+)Z$")) as $c
		| (($c.s + "Z") | fromdateiso8601) * 1e9
		  + (($c.f + "000000000")[0:9] | tonumber) end;
	(map(select(.type == "decision" and .action == "start")) | last | ns)
		as $start
	| map(select(.type == "error" and .service == "web") | ns
		| select(. >= $start)) | min // 0' "$TMP/events.jsonl")
edge rollout history web --json | jq -r --argjson f "$first_error_ns" '
	(map(.action == "start") | rindex(true)) as $i | .[$i:] |
	(.[0].ts_ns) as $s | (map(select(.action == "rollback"))[0]) as $r |
	if $r then
	"   -> rolled back \(($r.ts_ns - $s) / 1e6 | round) ms after the split went up"
	+ (if $f > 0 then " (the first HTTP 500 came \(($f - $s) / 1e6 | round) ms in;"
	   + " one error is not evidence yet)" else "" end)
	+ ":\n      \($r.reason)"
	else "   -> not rolled back: \(.[-1].action) \(.[-1].reason)" end'

mkdir -p build
edge rollout report web --all --html "$PWD/build/demo-report.html" >/dev/null &&
	echo "   -> both rollouts charted in build/demo-report.html"
kill -INT "$LOAD"
wait "$LOAD" 2>/dev/null
echo
echo "== what the clients saw over the whole demo"
jq -r '"   \(.connections) connections: \(.ok) answered (\(.status | to_entries |
	map("\(.value) x \(.key)") | join(", "))), \(.errors | add) failed;
   by version: \(.versions | to_entries | map("\(.key) \(.value)") | join(", "))"' \
	"$TMP/load.json"
echo
edge status web
