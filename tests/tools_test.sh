#!/bin/bash
# End-to-end test of the testbed tools, with no XDP at all: the edge
# namespace forwards with the plain kernel stack. Proves testbed.sh,
# backend and loadgen before any sluice test leans on them.
#
# Output is TAP: "ok N - what" / "not ok N - what", with the JSON of a
# failed check echoed as "# " lines. Needs root, nsenter and jq.
set -u
cd "$(dirname "$0")/.." || exit 1

BIN=build/tools
PORT=8080
n=0
failed=0
work=""

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}

not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
}

# check DESC FILE JQ-EXPR: pass when the expression is true of the JSON.
check() {
	if jq -e "$3" "$2" >/dev/null 2>&1; then
		ok "$1"
	else
		not_ok "$1"
		sed 's/^/# /' "$2"
	fi
}

if [ "$(id -u)" != 0 ]; then
	echo "ok 1 - tools end-to-end # SKIP needs root for namespaces"
	exit 0
fi
for cmd in jq nsenter ethtool; do
	if ! command -v "$cmd" >/dev/null; then
		echo "not ok 1 - $cmd is installed"
		exit 1
	fi
done
if [ ! -x $BIN/backend ] || [ ! -x $BIN/loadgen ]; then
	make -s $BIN/backend $BIN/loadgen >/dev/null || {
		echo "not ok 1 - tools build"
		exit 1
	}
fi

# shellcheck source=tools/testbed.sh
. tools/testbed.sh
# testbed_down falls back to $P: never let one from the environment name
# someone else's namespaces before testbed_up has set ours.
P=""

cleanup() {
	# A second INT (timeout(1) signals the whole group) must not cut
	# the teardown short.
	trap '' INT TERM
	trap - EXIT
	testbed_down
	[ -n "$work" ] && rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

work=$(mktemp -d)

in_ns() {
	local ns=$1
	shift
	nsenter --net="$TESTBED_NETNS_DIR/$ns" "$@"
}

# A signal to the test reaches loadgen too (same process group), which
# then prints its summary and removes its addresses before we tear down.
loadgen() {
	local out=$1
	shift
	timeout --foreground -k 5 -s INT 60 \
		nsenter --net="$TESTBED_NETNS_DIR/$NS_CLIENT" \
		$BIN/loadgen --json "$@" >"$out" 2>"$out.err"
}

# start_backend NS TAG ARGS...: run a backend, wait for its "ready".
start_backend() {
	local ns=$1 tag=$2
	shift 2
	nsenter --net="$TESTBED_NETNS_DIR/$ns" $BIN/backend "$@" \
		>"$work/$tag.out" 2>"$work/$tag.err" &
	for _ in $(seq 50); do
		grep -q '^ready$' "$work/$tag.out" 2>/dev/null && return 0
		kill -0 $! 2>/dev/null || break
		sleep 0.1
	done
	sed 's/^/# /' "$work/$tag.err"
	return 1
}

if testbed_up; then
	ok "testbed up ($P)"
else
	not_ok "testbed up"
	exit 1
fi

if start_backend "$NS_BLUE" blue --listen "$BLUE4:$PORT" \
	--listen "[$BLUE6]:$PORT" --colour blue --version v1 --name blue-a &&
	start_backend "$NS_BLUE" reset --listen "$BLUE4B:$PORT" \
		--colour blue --reset-ratio 1 &&
	start_backend "$NS_BLUE" refuse --listen "[$BLUE6B]:$PORT" \
		--colour blue --refuse &&
	start_backend "$NS_GREEN" green --listen "$GREEN4:$PORT" \
		--colour green --version v2 --name green-a --error-ratio 0.5 \
		--seed 7 &&
	start_backend "$NS_GREEN" slow --listen "$GREEN4B:$PORT" \
		--listen "[$GREEN6]:$PORT" --colour green --delay 200ms; then
	ok "backends ready"
else
	not_ok "backends ready"
	exit 1
fi

f=$work/blue.json
loadgen "$f" --target "$BLUE4:$PORT" --connections 200 --clients 50 \
	--clients-detail
check "200 connections from 50 clients to blue over IPv4 all answered 200 by blue" \
	"$f" '.connections == 200 and .ok == 200 and .status["200"] == 200
	and .colours == {"blue": 200} and .backends == {"blue-a": 200}
	and .versions == {"v1": 200} and ([.errors[]] | add) == 0'
check "loadgen used 50 distinct client addresses" "$f" \
	'(.clients | length) == 50 and .clients["198.18.64.1"] == ["blue"]
	and .clients["198.18.64.50"] == ["blue"]
	and .clients_multi_colour == 0'
if in_ns "$NS_CLIENT" ip -o addr show dev "$CLIENT_IF" |
	grep -q ' 198\.18\.64\.'; then
	not_ok "loadgen removed its client addresses"
else
	ok "loadgen removed its client addresses"
fi

f=$work/blue6.json
loadgen "$f" --target "[$BLUE6]:$PORT" --connections 200 --clients 20
check "IPv6 target with IPv6 clients answered by blue" "$f" \
	'.ok == 200 and .colours.blue == 200 and .client_count == 20'

# With a fixed seed the count is exact run to run; the bounds are the
# binomial ones (n=400, p=0.5: sd 10) at five sigma, so they hold for
# any seed.
f=$work/green.json
loadgen "$f" --target "$GREEN4:$PORT" --connections 400 --clients 40
check "error-ratio 0.5 gives about half 500s" "$f" \
	'.ok == 400 and .colours.green == 400 and .versions.v2 == 400
	and .status["500"] >= 150 and .status["500"] <= 250
	and .status["200"] + .status["500"] == 400'

f=$work/reset.json
loadgen "$f" --target "$BLUE4B:$PORT" --connections 100 --clients 10
check "reset-ratio 1 resets every connection" "$f" \
	'.ok == 0 and .errors.reset == 100'

f=$work/refuse.json
loadgen "$f" --target "[$BLUE6B]:$PORT" --connections 100 --clients 10
check "refuse gives every connection refused" "$f" \
	'.ok == 0 and .errors.refused == 100'

f=$work/slow.json
loadgen "$f" --target "$GREEN4B:$PORT" --connections 40 --clients 4
check "delay 200ms puts p50 first byte at 200ms or more" "$f" \
	'.ok == 40 and .first_byte_ms.p50 >= 200 and .first_byte_ms.p50 < 2000'

f=$work/transfer.json
loadgen "$f" --target "$BLUE4:$PORT" --transfer 300000 --rate 600000 \
	--clients 1
check "transfer mode verifies every byte of a paced stream" "$f" \
	'.transfer.ok == true and .transfer.bytes == 300000
	and .transfer.colour == "blue" and .transfer.backend == "blue-a"
	and .transfer.duration_s >= 0.4'

f=$work/transfer6.json
loadgen "$f" --target "[$GREEN6]:$PORT" --transfer 1000000
check "transfer mode over IPv6, unpaced" "$f" \
	'.transfer.ok == true and .transfer.bytes == 1000000
	and .transfer.colour == "green"'

f=$work/duration.json
loadgen "$f" --target "$BLUE4:$PORT" --duration 2s --rate 50 --clients 5
check "duration mode at 50 connections/s for 2s" "$f" \
	'.connections >= 90 and .connections <= 110 and .ok == .connections
	and .duration_s >= 1.9'

if in_ns "$NS_CLIENT" $BIN/loadgen --target 198.18.1.300:80 \
	--connections 1 >/dev/null 2>"$work/usage.err"; then
	rc=0
else
	rc=$?
fi
if [ $rc = 2 ] && grep -q '198.18.1.300' "$work/usage.err"; then
	ok "loadgen bad usage exits 2 naming the value"
else
	not_ok "loadgen bad usage exits 2 naming the value (rc $rc)"
fi
$BIN/backend --listen 127.0.0.1:1 --colour red >/dev/null 2>"$work/usage.err"
rc=$?
if [ $rc = 2 ] && grep -q "'red'" "$work/usage.err"; then
	ok "backend bad usage exits 2 naming the value"
else
	not_ok "backend bad usage exits 2 naming the value (rc $rc)"
fi

testbed_down
if ip netns list | grep -q "^$P"; then
	not_ok "testbed down removes every namespace"
else
	ok "testbed down removes every namespace"
fi
if testbed_down; then
	ok "testbed down again is a quiet no-op"
else
	not_ok "testbed down again is a quiet no-op"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
