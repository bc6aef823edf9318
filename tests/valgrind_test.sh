#!/bin/bash
# The CLI and the agent under valgrind --leak-check=full, in a namespace
# of their own with private pins, lock, state and socket. What counts is
# the LEAK SUMMARY: no byte definitely or indirectly lost. valgrind's
# bpf(2) wrapper reports uninitialised union members and the NULL key of
# get_next_key as errors; tests/valgrind.supp names those, and other
# errors are shown but do not fail the test. TAP.
set -u
cd "$(dirname "$0")/.."
. tests/lib/tap.sh

NS=slvg$$
W=/tmp/sluice-vg$$
S=$W/sluice # a copy: a rebuild during the run cannot swap it
export SLUICE_PIN_DIR=/sys/fs/bpf/sluice-vg$$
export SLUICE_LOCK_FILE=$W/lock
export SLUICE_STATE_DIR=$W/state
export SLUICE_SOCKET=$W/agent.sock
AGENT=""
in_ns() { nsenter --net=/var/run/netns/$NS "$@"; }
cleanup() {
	trap '' INT TERM
	[ -n "$AGENT" ] && kill -9 "$AGENT" 2>/dev/null
	in_ns "$S" down >/dev/null 2>&1
	rm -rf "$SLUICE_PIN_DIR"; [ -n "${VG_KEEP:-}" ] || rm -rf "$W"
	ip netns del $NS 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! command -v valgrind >/dev/null; then
	echo "1..0 # SKIP valgrind is not installed"
	exit 0
fi
mkdir -p "$W/vg" "$SLUICE_STATE_DIR"
cp build/sluice "$S"
ip netns add $NS
in_ns ip link add e0 type veth peer name e1
in_ns ip link set e0 up
in_ns ip link set e1 up
in_ns ip link set lo up

VG=(valgrind --leak-check=full --show-leak-kinds=definite,indirect
	--errors-for-leak-kinds=definite,indirect --track-fds=no
	--suppressions="$PWD/tests/valgrind.supp" --num-callers=30)
i=0
# vg WANT_EXIT ARGS...: one sluice command under valgrind in the namespace.
vg() {
	local want=$1 log rc
	shift
	i=$((i + 1))
	log=$W/vg/$i.log
	in_ns "${VG[@]}" --log-file="$log" "$S" "$@" >"$W/vg/$i.out" 2>&1
	rc=$?
	leaks "sluice $* (exit $rc, want $want)" "$log" "$rc" "$want"
}
# leaks NAME LOG RC WANT
leaks() {
	local name=$1 log=$2 rc=$3 want=$4 def ind
	def=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log")
	ind=$(sed -n 's/.*indirectly lost: \([0-9,]*\) bytes.*/\1/p' "$log")
	# no LEAK SUMMARY at all means nothing was left allocated
	if grep -q "All heap blocks were freed" "$log"; then
		def=0 ind=0
	fi
	if [ "${def:-x}" = 0 ] && [ "${ind:-x}" = 0 ] && [ "$rc" = "$want" ]; then
		ok "$name: no leak"
	else
		not_ok "$name: definitely lost ${def:-?}, indirectly lost ${ind:-?} bytes"
		grep -E 'definitely|indirectly|by 0x|at 0x|^==[0-9]+== [A-Z]' "$log" |
			head -60 | sed 's/^/# /'
		sed 's/^/# out: /' "$W/vg/$i.out" 2>/dev/null | head -10
	fi
}

vg 0 up --iface e0 --iface e1 --seed 5eed
vg 0 service add web --vip 198.18.0.10:80/tcp --affinity client
vg 0 backend add web blue 198.18.1.10:8080
vg 0 backend add web blue 198.18.1.11:8080 --weight 3
vg 0 backend add web green 198.18.2.10:8080
vg 0 split web 5%
vg 0 segment add web 198.18.7.0/24 green
vg 0 status web
vg 0 status --json
vg 0 events --json
vg 0 service list
vg 0 backend list web
vg 2 split web 101%
vg 2 service add bad --vip 198.18.0.300:80/tcp
vg 0 backend del web blue 198.18.1.11:8080 --now

# The agent over a short rollout: steps 50,100 with a 1 s bake and no
# traffic, so it holds on thin evidence; SIGTERM must end it cleanly.
i=$((i + 1))
alog=$W/vg/agent.log
# nsenter execs: $! is valgrind itself, the process SIGTERM is sent to.
nsenter --net=/var/run/netns/$NS "${VG[@]}" --log-file="$alog" "$S" agent --events "$W/events.jsonl" \
	--metrics 127.0.0.1:19464 >"$W/vg/agent.out" 2>&1 &
AGENT=$!
for _ in $(seq 100); do
	[ -S "$SLUICE_SOCKET" ] && break
	sleep 0.1
done
if in_ns "$S" rollout start web --steps 50,100 --bake 1s --min-flows 1 \
	>"$W/vg/start.out" 2>&1; then
	ok "rollout start with the agent under valgrind"
else
	not_ok "rollout start with the agent under valgrind"
	sed 's/^/# /' "$W/vg/start.out" "$W/vg/agent.out"
fi
in_ns curl -sf http://127.0.0.1:19464/metrics >/dev/null ||
	echo "# (metrics scrape failed)"
sleep 5
kill -TERM "$AGENT"
rc=timeout
for _ in $(seq 150); do
	if ! kill -0 "$AGENT" 2>/dev/null; then
		wait "$AGENT"
		rc=$?
		break
	fi
	sleep 0.1
done
AGENT=""
[ "$rc" = timeout ] && kill -9 "$AGENT" 2>/dev/null
leaks "agent with --events and --metrics, SIGTERM (exit $rc)" "$alog" "$rc" 0

vg 0 service del web
vg 0 down
echo "1..$TAP_N"
[ "$TAP_FAILED" -eq 0 ]
