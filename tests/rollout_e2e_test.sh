#!/bin/bash
# Automated rollouts end to end: real client traffic through the XDP
# program, real backends with injected faults, the real agent judging on
# kernel counters. Times are the agent's own decision timestamps.
# TAP output; everything is torn down on EXIT, INT and TERM.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/e2e.sh ro

# start_backend NS COLOUR ADDR [backend flags...]
start_backend() {
	local ns=$1 colour=$2 addr=$3
	shift 3
	local out=$WORK/backend-$colour.out
	nsenter --net="$TESTBED_NETNS_DIR/$ns" "$BIN/backend" \
		--listen "$addr:8080" --colour "$colour" --version "$colour" \
		--seed 7 "$@" >"$out" 2>&1 &
	PIDS+=($!)
	# Up to 30 s on a busy host; a backend that died fails at once.
	for _ in $(seq 300); do
		grep -q ready "$out" && return 0
		kill -0 "${PIDS[-1]}" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

stop_backends() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait "${PIDS[@]}" 2>/dev/null
	PIDS=()
}

# load SECONDS RATE OUT: steady client traffic in the background.
# --timeout 10s, not loadgen's 2 s: "no client connection failed" is
# asserted of it, and a connection that stalls 2 s on a busy host (a SYN
# lost twice) is no fault of sluice's; a refused or reset one still
# fails at once.
load() {
	nsenter --net="$TESTBED_NETNS_DIR/$NS_CLIENT" "$BIN/loadgen" \
		--target "$VIP4:80" --timeout 10s \
		--duration "$1s" --rate "$2" --clients 250 --concurrency 256 \
		--json >"$3" 2>"$3.err" &
	LOAD=$!
}

# wait_step N SECONDS: until web's rollout is at step index N (0-based).
wait_step() {
	local _
	for _ in $(seq $(($2 * 10))); do
		sl rollout status web --json 2>/dev/null |
			jq -e --argjson n "$1" '.step == $n' >/dev/null && return 0
		sleep 0.1
	done
	return 1
}


# Milliseconds from the rollout's start to its first decision ACTION.
ms_to() {
	current | jq --arg a "$1" '
		(.[0].ts_ns) as $s |
		(map(select(.action == $a))[0].ts_ns) as $e |
		if $s and $e then (($e - $s) / 1000000 | floor) else -1 end'
}

split_ppm() {
	sl status web --json | jq '.services[0].split.configured_ppm'
}

testbed_up >/dev/null || {
	not_ok "testbed up"
	exit 1
}
check "sluice up" sl up --iface c0 --iface b0 --iface g0
start_agent --events "$WORK/events.jsonl" && ok "agent listening" ||
	not_ok "agent listening"

FAST="--tick 250ms --failure-limit 2 --min-flows 40 --max-error-ratio 1%"

# ---- a healthy release completes and the pools swap roles ----------------
fresh_service
start_backend "$NS_BLUE" blue "$BLUE4"
start_backend "$NS_GREEN" green "$GREEN4"
load 14 400 "$WORK/healthy.json"
check "rollout start" sl rollout start web --steps 1,5,25,50,100 --bake 2s \
	--min-flows 5 --tick 250ms
if wait_state promoted 20; then
	ok "healthy green walks 1,5,25,50,100 and is promoted"
else
	not_ok "healthy green walks 1,5,25,50,100 and is promoted"
	sl rollout history web | sed 's/^/# /'
fi
steps=$(current |
	jq -r '[.[] | select(.action == "start" or .action == "advance") | .split] | join(",")')
[ "$steps" = "1%,5%,25%,50%,100%" ] && ok "every step applied once, in order" ||
	not_ok "every step applied once, in order ($steps)"
roles=$(sl status web --json | jq -r '.services[0] | "\(.stable)/\(.candidate)"')
[ "$roles" = "green/blue" ] && ok "pools swapped: green stable, blue candidate" ||
	not_ok "pools swapped (got $roles)"
wait $LOAD
jq -e '.errors | add == 0' "$WORK/healthy.json" >/dev/null &&
	ok "no client connection failed during the rollout" ||
	not_ok "no client connection failed during the rollout"
stop_backends

# The file written before the release still says "green is the candidate
# at 0%". Applied again (an agent restarting with --config), it must not
# flip the promoted green back to the candidate: the old version would
# take every new flow again.
prefile() { # CANDIDATE SPLIT
	printf 'services:\n  web:\n    vip: %s:80/tcp\n    blue: [%s:8080]\n    green: [%s:8080]\n    candidate: %s\n    split: %s\n' \
		"$VIP4" "$BLUE4" "$GREEN4" "$1" "$2" >"$WORK/pre.yaml"
}
prefile green 0
out=$(sl apply -f "$WORK/pre.yaml" 2>&1)
roles=$(sl status web --json | jq -r '.services[0] | "\(.stable)/\(.candidate) \(.split.configured_ppm)"')
[ "$roles" = "green/blue 0" ] && grep -q "keep the roles and split of 'web'" <<<"$out" &&
	ok "apply of the pre-release file keeps the promotion, and says so" ||
	not_ok "apply of the pre-release file keeps the promotion ($roles: $out)"
prefile blue 5%
sl apply -f "$WORK/pre.yaml" >/dev/null 2>&1
roles=$(sl status web --json | jq -r '.services[0] | "\(.stable)/\(.candidate) \(.split.configured_ppm)"')
[ "$roles" = "green/blue 50000" ] &&
	ok "a file that names blue as the candidate applies again (blue at 5%)" ||
	not_ok "a file naming blue as the candidate applies ($roles)"

# ---- faulty releases are rolled back well under a second ------------------
# Measured as the issue asks: from the first faulty response to the split
# reaching 0, with a 250 ms tick, under one second. Typically 450-750 ms.

# ms_fault_to_rollback DELAY_MS: from this rollout's first faulty
# response to its rollback decision (recorded as the split is written),
# both from the agent's event stream. The first faulty response is the
# first error event from green after the start; for a slow release
# (DELAY_MS > 0), the start plus the delay, the earliest a slow answer
# can come, which can only make the figure larger.
ms_fault_to_rollback() {
	sleep 0.5 # the agent writes the ring's events on a timer
	jq -s --argjson delay "$1" '
		def ns: if .ts_ns then .ts_ns else
			(.ts | capture("^(?<s>[^.]+)[.](?<f>[0-9]+)Z$")) as $c
			| (($c.s + "Z") | fromdateiso8601) * 1e9
			  + (($c.f + "000000000")[0:9] | tonumber) end;
		def decisions($a): map(select(.type == "decision"
			and .service == "web" and .action == $a) | ns);
		(decisions("start") | last) as $start
		| (decisions("rollback") | map(select(. > $start)) | first)
			as $rb
		| (if $delay > 0 then $start + $delay * 1e6 else
			map(select(.type == "error" and .service == "web"
				and .colour == "green") | ns
				| select(. >= $start)) | min end) as $f
		| if $rb and $f then (($rb - $f) / 1e6 | floor) else -1 end' \
		"$WORK/events.jsonl"
}

rollback_case() {
	local name=$1 gate=$2 delay=$3 ms all
	shift 3
	fresh_service
	start_backend "$NS_BLUE" blue "$BLUE4"
	start_backend "$NS_GREEN" green "$GREEN4" "$@"
	load 6 1200 "$WORK/$name.json"
	sleep 0.5
	sl rollout start web --steps 50,100 --bake 30s $FAST $gate >/dev/null
	if wait_state "rolled back" 5; then
		ms=$(ms_fault_to_rollback "$delay")
		all=$(ms_to rollback)
		if [ "$ms" -ge 0 ] && [ "$ms" -lt 1000 ]; then
			ok "$name: split at 0 ${ms} ms after the first faulty response ($all ms after the start)"
		else
			not_ok "$name: split at 0 in under 1000 ms after the first faulty response (took $ms ms; $all ms after the start)"
			sl rollout history web | sed 's/^/# /'
		fi
		[ "$(split_ppm)" = 0 ] && ok "$name: split is 0 after rollback" ||
			not_ok "$name: split is 0 after rollback"
	else
		not_ok "$name: rolled back"
		sl rollout history web | sed 's/^/# /'
	fi
	current |
		jq -e 'map(select(.action == "rollback"))[0].evidence.candidate.flows > 0' \
			>/dev/null && ok "$name: the rollback carries its evidence" ||
		not_ok "$name: the rollback carries its evidence"
	wait $LOAD
	stop_backends
}
rollback_case "5% HTTP 500s" "" 0 --error-ratio 0.05
rollback_case "refused connections" "" 0 --refuse
rollback_case "+200ms first byte" "--max-p99-first-byte 100ms" 200 --delay 200ms

# ---- too little evidence: hold, neither advance nor roll back --------------
fresh_service
start_backend "$NS_BLUE" blue "$BLUE4"
start_backend "$NS_GREEN" green "$GREEN4" --error-ratio 0.5
load 4 100 "$WORK/thin.json"
sl rollout start web --steps 1,100 --bake 1s --tick 250ms --min-flows 500 \
	>/dev/null
sleep 3
st=$(sl rollout status web --json | jq -r '"\(.state) \(.step)"')
[ "$st" = "running 0" ] && ok "thin evidence: still running at step 1" ||
	not_ok "thin evidence: still running at step 1 (got $st)"
current | jq -e 'any(.action == "inconclusive") and
	(any(.action == "rollback" or .action == "advance") | not)' >/dev/null &&
	ok "thin evidence: recorded inconclusive, no rollback, no advance" ||
	not_ok "thin evidence: recorded inconclusive, no rollback, no advance"

# ---- a manual split is refused during a rollout, unless --force ------------
expect_exit 2 "manual split during a rollout is refused" sl split web 50
check "split --force aborts the rollout" sl split web 50 --force
[ "$(sl rollout status web --json | jq -r .state)" = aborted ] &&
	ok "rollout aborted by --force" || not_ok "rollout aborted by --force"
[ "$(split_ppm)" = 500000 ] && ok "the forced split is in force" ||
	not_ok "the forced split is in force"
wait $LOAD
stop_backends

# ---- pause, resume, gate, promote, abort ----------------------------------
fresh_service
start_backend "$NS_BLUE" blue "$BLUE4"
start_backend "$NS_GREEN" green "$GREEN4"
# A 5 s bake: the pause must land before step 1 could advance, however
# slow the host runs the CLI. Resuming starts a fresh window, so the gate
# comes two bakes after it.
load 20 300 "$WORK/manual.json"
sl rollout start web --steps 5,25,100 --bake 5s --tick 250ms --min-flows 5 \
	--manual-gate 25 >/dev/null
check "pause" sl rollout pause web
sleep 6 # past the bake: an unpaused rollout would have advanced by now
st=$(sl rollout status web --json | jq -r '"\(.state) \(.step)"')
[ "$st" = "paused 0" ] &&
	ok "paused: holds at step 1 past its bake" ||
	not_ok "paused: holds at step 1 past its bake (got $st)"
expect_exit 2 "pause twice is refused" sl rollout pause web
check "resume" sl rollout resume web
wait_state "waiting at gate" 20 && ok "stops at the manual gate (25%)" ||
	not_ok "stops at the manual gate (25%)"
sleep 1.5
[ "$(split_ppm)" = 250000 ] && ok "gate holds the split at 25%" ||
	not_ok "gate holds the split at 25%"
check "promote" sl rollout promote web
[ "$(sl rollout status web --json | jq -r .state)" = promoted ] &&
	ok "promote jumps to 100% and completes" || not_ok "promote completes"
expect_exit 2 "abort after completion is refused" sl rollout abort web
wait $LOAD
stop_backends

fresh_service
start_backend "$NS_BLUE" blue "$BLUE4"
start_backend "$NS_GREEN" green "$GREEN4"
sl rollout start web --steps 25,100 --bake 60s --tick 250ms >/dev/null
check "abort" sl rollout abort web
[ "$(split_ppm)" = 0 ] && ok "abort sets the split to 0" ||
	not_ok "abort sets the split to 0"
expect_exit 2 "a second rollout start on an unknown service is refused" \
	sl rollout start nosuch --steps 100
stop_backends

# ---- abort with --rollback-flows drain vs reset ---------------------------
# A client that the split sends to green (client affinity), found by
# asking: then its long transfer is on the candidate when the rollout ends.
green_client() {
	in_ns "$NS_CLIENT" "$BIN/loadgen" --target "$VIP4:80" --connections 40 \
		--clients 40 --client-base 198.18.65.1 --clients-detail \
		--timeout 10s --json |
		jq -r '.clients | to_entries | map(select(.value == ["green"]))[0].key'
}
# transfer_through_abort drain|reset TIMEOUT: a 4 s transfer on green, the
# rollout aborted once green's backend holds it. A reset flow ends by the
# client's progress TIMEOUT (no more of the body reaches it), so reset
# keeps it short; drain, where completion is asserted, gets 10 s.
transfer_through_abort() {
	sl service del web >/dev/null 2>&1
	sl service add web --vip "$VIP4:80/tcp" --affinity client >/dev/null
	sl backend add web blue "$BLUE4:8080" >/dev/null
	sl backend add web green "$GREEN4:8080" >/dev/null
	sl rollout start web --steps 50,100 --bake 60s --tick 250ms \
		--rollback-flows "$1" >/dev/null
	local c
	c=$(green_client)
	nsenter --net="$TESTBED_NETNS_DIR/$NS_CLIENT" "$BIN/loadgen" \
		--target "$VIP4:80" --transfer 400000 --rate 100000 \
		--clients 1 --client-base "$c" --timeout "$2" --json \
		>"$WORK/xfer-$1.json" &
	local x=$!
	# Mid-transfer: green's backend is streaming to the client (up to
	# 10 s for it to show on a busy host; 4 s of the stream remain).
	for _ in $(seq 100); do
		[ -n "$(in_ns "$NS_GREEN" ss -Htn state established \
			"( sport = :8080 and dst $c )")" ] && break
		sleep 0.1
	done
	sl rollout abort web >/dev/null
	wait $x
	jq -c '.transfer | {ok, colour, error}' "$WORK/xfer-$1.json"
}
start_backend "$NS_BLUE" blue "$BLUE4"
start_backend "$NS_GREEN" green "$GREEN4"
out=$(transfer_through_abort drain 10s)
[ "$out" = '{"ok":true,"colour":"green","error":null}' ] &&
	ok "abort, flows drain: a transfer on green completes" ||
	not_ok "abort, flows drain: a transfer on green completes ($out)"
out=$(transfer_through_abort reset 2s)
jq -e '.ok == false' <<<"$out" >/dev/null &&
	ok "abort, flows reset: a transfer on green is cut ($out)" ||
	not_ok "abort, flows reset: a transfer on green is cut ($out)"
current | jq -e 'any(.action == "reset flows")' >/dev/null &&
	ok "the reset is a recorded decision" || not_ok "the reset is a recorded decision"
stop_backends

# ---- kill -9 mid-rollout: traffic flows, the restart resumes -------------
fresh_service
start_backend "$NS_BLUE" blue "$BLUE4"
start_backend "$NS_GREEN" green "$GREEN4"
# A 15 s bake: from the advance to step 2 until the restarted agent is
# read back (kill, 1.5 s down, restart, 0.5 s) takes ~3 s on an idle
# host, and must stay inside step 2 however busy the host is.
load 34 300 "$WORK/kill.json"
sl rollout start web --steps 5,25,100 --bake 15s --tick 250ms \
	--min-flows 5 >/dev/null
wait_step 1 25 || not_ok "the rollout reaches step 2 (25%)"
before=$(sl rollout status web --json | jq -c '{step, step_started_ns}')
kill -KILL "$AGENT"
wait "$AGENT" 2>/dev/null
AGENT=""
sleep 1.5
start_agent --events "$WORK/events.jsonl"
sleep 0.5
# Bounded: an agent that wrongly starts would otherwise run (and this
# test wait on its output) for ever.
expect_exit 1 "a second agent on the same state refuses to start" \
	timeout 20 nsenter --net="$TESTBED_NETNS_DIR/$NS_EDGE" "$S" agent
after=$(sl rollout status web --json | jq -c '{step, step_started_ns}')
[ "$before" = "$after" ] &&
	ok "after kill -9 and restart: same step, same evidence window" ||
	not_ok "same step and window after restart ($before vs $after)"
wait_state promoted 30 && ok "the restarted agent completes the rollout" ||
	not_ok "the restarted agent completes the rollout"
wait $LOAD
jq -e '.errors | add == 0' "$WORK/kill.json" >/dev/null &&
	ok "no client connection failed across the kill" ||
	not_ok "no client connection failed across the kill ($(jq -c .errors "$WORK/kill.json"))"
steps=$(current |
	jq -r '[.[] | select(.action == "start" or .action == "advance") | .split] | join(",")')
[ "$steps" = "5%,25%,100%" ] && ok "no step lost or applied twice" ||
	not_ok "no step lost or applied twice ($steps)"
stop_backends

# the events stream carries the decisions
jq -e -s 'any(.type == "decision" and .action == "rollback" and
	(.evidence.candidate.errors > 0))' "$WORK/events.jsonl" >/dev/null &&
	ok "decisions with evidence on the events stream" ||
	not_ok "decisions with evidence on the events stream"
tap_done
