#!/bin/bash
# sluice events: each event type produced by a real cause in the testbed
# and read back with its fields checked. TAP output; torn down on exit.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/e2e.sh ev

backend() {
	local ns=$1 colour=$2 addr=$3
	shift 3
	nsenter --net="$TESTBED_NETNS_DIR/$ns" "$BIN/backend" \
		--listen "$addr:8080" --colour "$colour" --seed 3 "$@" \
		>"$WORK/$colour.out" 2>&1 &
	PIDS+=($!)
	# Up to 30 s on a busy host; a backend that died fails at once.
	for _ in $(seq 300); do
		grep -q ready "$WORK/$colour.out" && return 0
		kill -0 "${PIDS[-1]}" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# --timeout 10s unless flags say otherwise: the 500s the client saw are
# compared with the events one for one, and a connection given up after
# loadgen's default 2 s on a busy host would be missing from one side.
load() { # N TARGET [flags]
	local n=$1 target=$2
	shift 2
	in_ns "$NS_CLIENT" "$BIN/loadgen" --target "$target" --connections "$n" \
		--clients 20 --timeout 10s --json "$@" 2>/dev/null
}

testbed_up >/dev/null || {
	not_ok "testbed up"
	exit 1
}
check "sluice up --sample-every 1" sl up --iface c0 --iface b0 --iface g0 \
	--sample-every 1
sl service add web --vip "$VIP4:80/tcp" >/dev/null
sl backend add web blue "$BLUE4:8080" >/dev/null
sl backend add web green "$GREEN4:8080" >/dev/null
sl split web 50 >/dev/null
backend "$NS_BLUE" blue "$BLUE4"
backend "$NS_GREEN" green "$GREEN4" --error-ratio 0.5

# new flows (sampled 1 in 1) and HTTP 5xx errors
sl events >/dev/null # start from an empty ring
load 200 "$VIP4:80" >"$WORK/load.json"
sl events --json >"$WORK/ev.jsonl"
n=$(jq -s 'map(select(.type == "new_flow")) | length' "$WORK/ev.jsonl")
[ "$n" -eq 200 ] && ok "200 connections: 200 new_flow events" ||
	not_ok "200 connections: 200 new_flow events (got $n)"
jq -e -s --arg vip "$VIP4" 'map(select(.type == "new_flow")) | all(
	.service == "web" and .dst == $vip and .dport == 80 and .proto == "tcp"
	and (.src | startswith("198.18.64.")) and .sport > 0
	and (.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$"))
	and ((.colour == "blue" and .backend == "198.18.1.10:8080") or
	     (.colour == "green" and .backend == "198.18.2.10:8080")))' \
	"$WORK/ev.jsonl" >/dev/null &&
	ok "new_flow events: service, colour, backend, 5-tuple, ISO-8601 time" ||
	not_ok "new_flow events: fields"
want=$(jq '.status["500"] // 0' "$WORK/load.json")
got=$(jq -s 'map(select(.type == "error" and .reason == "http_5xx" and
	.status == 500 and .colour == "green")) | length' "$WORK/ev.jsonl")
[ "$want" -gt 0 ] && [ "$got" -eq "$want" ] &&
	ok "one http_5xx error event per 500 the client saw ($got)" ||
	not_ok "http_5xx events: $got, client saw $want"
# Blue answers every request, so it sends no RST, 5xx or ICMP error. A
# syn_retry is the client sending its SYN again because no SYN-ACK came
# back within its 1 s retransmission timeout: on a busy shared host a
# SYN or SYN-ACK can be lost or late, which is the host's doing, not
# blue's, so that kind alone is not held against blue (but counted).
blue_err=$(jq -s -c 'map(select(.type == "error" and .colour != "green"))
	| {other: map(select(.reason != "syn_retry")),
	   syn_retry: map(select(.reason == "syn_retry")) | length}' \
	"$WORK/ev.jsonl")
jq -e '.other == []' <<<"$blue_err" >/dev/null &&
	ok "no error event for blue but syn_retry ($(jq .syn_retry <<<"$blue_err") of those)" ||
	not_ok "no error event for blue but syn_retry ($blue_err)"

# backend RSTs
kill "${PIDS[-1]}"
wait "${PIDS[-1]}" 2>/dev/null
backend "$NS_GREEN" green "$GREEN4" --refuse
sl events >/dev/null
load 100 "$VIP4:80" --timeout 1s >"$WORK/load2.json"
sl events --json >"$WORK/ev2.jsonl"
want=$(jq '.errors.refused' "$WORK/load2.json")
got=$(jq -s 'map(select(.type == "error" and .reason == "rst" and
	.backend == "198.18.2.10:8080")) | length' "$WORK/ev2.jsonl")
[ "$want" -gt 0 ] && [ "$got" -ge "$want" ] &&
	ok "an rst error event per refused connection ($got for $want)" ||
	not_ok "rst events: $got, refused $want"

# drops: a service with no backends
sl service add empty --vip "$VIP4:81/tcp" >/dev/null
sl events >/dev/null
load 10 "$VIP4:81" --timeout 1s >/dev/null
sl events --json >"$WORK/ev3.jsonl"
jq -e -s 'map(select(.type == "drop")) | length >= 10 and all(
	.reason == "empty_pool" and .service == "empty" and .backend == null
	and .dport == 81)' "$WORK/ev3.jsonl" >/dev/null &&
	ok "drop events for an empty pool, reason and service named" ||
	not_ok "drop events for an empty pool"

# the human format
sl events >/dev/null
load 5 "$VIP4:81" --timeout 1s >/dev/null
out=$(sl events)
grep -q "drop .*empty .*empty_pool" <<<"$out" &&
	ok "text format names type, service and reason" ||
	not_ok "text format: $out"

# a full ring: lost events are counted and reported
sl service del empty >/dev/null
kill "${PIDS[-1]}"
wait "${PIDS[-1]}" 2>/dev/null
backend "$NS_GREEN" green "$GREEN4"
sl events >/dev/null
load 16000 "$VIP4:80" --concurrency 256 >"$WORK/load4.json"
echo "# $(jq -c "{connections, ok, errors}" "$WORK/load4.json")"
sl events --json >"$WORK/ev4.jsonl"
out=$(jq -c 'select(.type == "lost")' "$WORK/ev4.jsonl")
echo "# $(wc -l <"$WORK/ev4.jsonl") events read"
jq -e '.type == "lost" and .count > 0' <<<"$out" >/dev/null &&
	ok "a full ring: lost events reported ($(jq .count <<<"$out"))" ||
	not_ok "a full ring: lost events reported ($out)"
expect_exit 2 "events: bad argument" sl events --bogus
tap_done
