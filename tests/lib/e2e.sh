# Shared frame of the end-to-end tests on the namespace testbed, sourced
# from the repository root as `. tests/lib/e2e.sh TAG`: pins, lock, state
# and control socket private to the run; helpers to run commands inside
# the testbed's namespaces; and a teardown, on EXIT, INT and TERM, that
# kills what the test started, brings sluice down, deletes the namespaces
# and removes the run's files. Tests add the pids they start to PIDS (or
# BG); start_agent sets AGENT.
. tests/lib/tap.sh
. tools/testbed.sh
# testbed_down falls back to $P: never one inherited from the caller.
P=""

S=$PWD/build/sluice
BIN=$PWD/build/tools
WORK=/tmp/sluice-$1$$
export SLUICE_PIN_DIR=/sys/fs/bpf/sluice-$1$$
export SLUICE_LOCK_FILE=$WORK/lock
export SLUICE_STATE_DIR=$WORK/state
export SLUICE_SOCKET=$WORK/agent.sock
mkdir -p "$WORK"
AGENT=""
PIDS=()
BG=()

in_ns() {
	local ns=$1
	shift
	nsenter --net="$TESTBED_NETNS_DIR/$ns" "$@"
}
# sluice, in the edge namespace where its interfaces are.
sl() { in_ns "$NS_EDGE" "$S" "$@"; }

e2e_cleanup() {
	# A second INT (timeout(1) signals the whole group) must not cut
	# the teardown short.
	trap '' INT TERM
	trap - EXIT
	local p
	for p in $AGENT "${PIDS[@]}" "${BG[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	[ -n "$P" ] && sl down >/dev/null 2>&1
	testbed_down
	rm -rf "$WORK" "$SLUICE_PIN_DIR"
}
trap e2e_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_agent [ARGS...]: the agent in the edge namespace; nsenter execs,
# so $AGENT is the agent itself (for kill -9).
start_agent() {
	# A killed agent leaves its socket file: wait for the new one.
	rm -f "$SLUICE_SOCKET"
	nsenter --net="$TESTBED_NETNS_DIR/$NS_EDGE" "$S" agent "$@" \
		2>>"$WORK/agent.log" &
	AGENT=$!
	# Up to 30 s: a busy shared host can take seconds to start it; one
	# that died (a held lock, a bad flag) is a failure at once.
	for _ in $(seq 300); do
		[ -S "$SLUICE_SOCKET" ] && return 0
		kill -0 "$AGENT" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# fresh_service: service web with one backend per colour, no rollout.
fresh_service() {
	sl service del web >/dev/null 2>&1
	sl service add web --vip "$VIP4:80/tcp" >/dev/null &&
		sl backend add web blue "$BLUE4:8080" >/dev/null &&
		sl backend add web green "$GREEN4:8080" >/dev/null
}

# wait_state STATE SECONDS: until web's rollout reaches STATE.
wait_state() {
	local i
	for i in $(seq $(($2 * 10))); do
		sl rollout status web --json 2>/dev/null |
			jq -e --arg s "$1" '.state == $s' >/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# The decisions of web's latest rollout (history keeps every rollout).
current() {
	sl rollout history web --json |
		jq '(map(.action == "start") | rindex(true)) as $i | .[$i:]'
}
