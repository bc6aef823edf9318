#!/bin/bash
# sluice top in a real terminal: tmux panes of 80x24 running `sluice top`
# in the edge namespace, against real client traffic through the XDP
# program, with green answering HTTP 500 for a quarter of its requests.
# The screen is read back with capture-pane and checked field by field.
# TAP output; everything is torn down on EXIT, INT and TERM.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/tap.sh
. tools/testbed.sh
P=""

S=$PWD/build/sluice
BIN=$PWD/build/tools
export SLUICE_PIN_DIR=/sys/fs/bpf/sluice-top$$
export SLUICE_LOCK_FILE=/tmp/sluice-top$$.lock
export SLUICE_STATE_DIR=/tmp/sluice-top$$/state
export SLUICE_SOCKET=/tmp/sluice-top$$/agent.sock
WORK=/tmp/sluice-top$$
mkdir -p "$WORK"
# A private tmux server: never a user's sessions, and killed on exit.
TMUX_SOCK=$WORK/tmux.sock
unset TMUX
AGENT=""
PIDS=()
RATE=200 # client connections per second, split 50/50

in_ns() {
	local ns=$1
	shift
	nsenter --net="$TESTBED_NETNS_DIR/$ns" "$@"
}
sl() { in_ns "$NS_EDGE" "$S" "$@"; }
tm() { tmux -S "$TMUX_SOCK" -f /dev/null "$@"; }

cleanup() {
	# A second INT (timeout(1) signals the whole group) must not cut
	# the teardown short.
	trap '' INT TERM
	trap - EXIT
	local p
	tm kill-server 2>/dev/null
	for p in $AGENT "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "$P" ] && sl down >/dev/null 2>&1
	testbed_down
	rm -rf "$WORK" "$SLUICE_LOCK_FILE" "$SLUICE_PIN_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_top SESSION [top args...]: `sluice top` in a detached 80x24 pane
# inside the edge namespace. The pane's command starts from the tmux
# server's environment, so the private pins and state go in with env.
# tmux 3.3 sometimes never fills in #{pane_dead_status}, so bash writes
# the exit status to SESSION.rc (bash, not sh: on Ctrl-C it waits for
# top and goes on when top exits normally). remain-on-exit keeps a dead
# pane's last screen to read.
start_top() {
	local sess=$1 cmd
	shift
	cmd=$(printf '%q ' env "SLUICE_PIN_DIR=$SLUICE_PIN_DIR" \
		"SLUICE_LOCK_FILE=$SLUICE_LOCK_FILE" \
		"SLUICE_STATE_DIR=$SLUICE_STATE_DIR" \
		"SLUICE_SOCKET=$SLUICE_SOCKET" \
		nsenter --net="$TESTBED_NETNS_DIR/$NS_EDGE" "$S" top "$@")
	cmd=$(printf '%q ' bash -c "$cmd; echo \$? >$WORK/$sess.rc")
	tm start-server \; set-option -g remain-on-exit on \; \
		new-session -d -s "$sess" -x 80 -y 24 "$cmd"
}

screen() { tm capture-pane -p -t "$1"; }
# What a pane printed, history included (a dead pane's message may have
# scrolled).
printed() { tm capture-pane -p -S - -t "$1"; }

# wait_screen SESSION REGEX SECONDS: until the screen matches.
wait_screen() {
	local _
	for _ in $(seq $(($3 * 10))); do
		screen "$1" 2>/dev/null | grep -qE "$2" && return 0
		sleep 0.1
	done
	return 1
}

# wait_dead SESSION SECONDS: until the pane's process has exited; prints
# top's exit status.
wait_dead() {
	local _
	for _ in $(seq $(($2 * 10))); do
		if [ "$(tm display-message -p -t "$1" '#{pane_dead}' 2>/dev/null)" = 1 ] &&
			[ -s "$WORK/$1.rc" ]; then
			cat "$WORK/$1.rc"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# field SCREEN COLOUR N: the Nth column of a colour's row (1 = colour;
# role, split, observed, flows/s, errors, p50, p99 follow).
field() {
	printf '%s\n' "$1" | awk -v c="$2" -v n="$3" '$1 == c { print $n; exit }'
}

# num VALUE: the number in "12.5", "12.50%", "850us" (empty if none).
num() { printf '%s\n' "$1" | sed -n 's/^\([0-9.]*\).*/\1/p'; }

# holds EXPR A [B]: an awk condition on the numbers a and b.
holds() { awk -v a="$2" -v b="${3:-0}" "BEGIN { exit !($1) }"; }

show() { printf '%s\n' "$1" | sed 's/^/# | /'; }

start_agent() {
	nsenter --net="$TESTBED_NETNS_DIR/$NS_EDGE" "$S" agent \
		2>>"$WORK/agent.log" &
	AGENT=$!
	for _ in $(seq 50); do
		[ -S "$SLUICE_SOCKET" ] && return 0
		sleep 0.1
	done
	return 1
}

# start_backend NS COLOUR ADDR [backend flags...]
start_backend() {
	local ns=$1 colour=$2 addr=$3
	shift 3
	local out=$WORK/backend-$colour.out
	nsenter --net="$TESTBED_NETNS_DIR/$ns" "$BIN/backend" \
		--listen "$addr:8080" --colour "$colour" --version "$colour" \
		--seed 7 "$@" >"$out" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do
		grep -q ready "$out" && return 0
		sleep 0.1
	done
	return 1
}

# ---- without a terminal or with bad input: exit 2, naming the value -------
out=$("$S" top --help 2>&1) && printf '%s' "$out" | grep -q -- '--interval' &&
	ok "top --help explains --interval" || not_ok "top --help explains --interval"
out=$("$S" top --interval 0s </dev/null 2>&1)
[ $? = 2 ] && printf '%s' "$out" | grep -q "'0s'" &&
	ok "--interval 0s: exit 2 naming '0s'" ||
	not_ok "--interval 0s: exit 2 naming '0s' ($out)"
out=$("$S" top --interval soon </dev/null 2>&1)
[ $? = 2 ] && printf '%s' "$out" | grep -q "'soon'" &&
	ok "--interval soon: exit 2 naming 'soon'" ||
	not_ok "--interval soon: exit 2 naming 'soon' ($out)"
expect_exit 2 "an unknown option is exit 2" "$S" top --colour </dev/null
out=$("$S" top </dev/null 2>&1)
rc=$?
[ "$rc" = 2 ] && printf '%s' "$out" | grep -q "sluice status" &&
	ok "not a terminal: exit 2, suggests 'sluice status'" ||
	not_ok "not a terminal: exit 2, suggests 'sluice status' (exit $rc: $out)"

# ---- a service with traffic at a known rate, split 50% -------------------
testbed_up >/dev/null || {
	not_ok "testbed up"
	exit 1
}
check "sluice up" sl up --iface c0 --iface b0 --iface g0
make_service() {
	sl service add web --vip "$VIP4:80/tcp" &&
		sl backend add web blue "$BLUE4:8080" &&
		sl backend add web green "$GREEN4:8080" && sl split web 50
}
check "service web, one backend per colour, split 50%" make_service
start_backend "$NS_BLUE" blue "$BLUE4" || not_ok "blue backend up"
start_backend "$NS_GREEN" green "$GREEN4" --error-ratio 0.25 ||
	not_ok "green backend up"
in_ns "$NS_CLIENT" "$BIN/loadgen" --target "$VIP4:80" --duration 60s \
	--rate $RATE --clients 250 --concurrency 256 --json \
	>"$WORK/load.json" 2>"$WORK/load.err" &
PIDS+=($!)
sleep 1

start_top main --interval 1s
# Two refreshes make the first interval; give it a third for a full one.
wait_screen main '^  green' 10 || not_ok "top draws the service"
sleep 3.5
scr=$(screen main)
echo "# the screen at 80x24, ${RATE} connections/s, green 25% HTTP 500s:"
show "$scr"

printf '%s\n' "$scr" | grep -qE "^web +$VIP4:80/tcp +nat" &&
	ok "shows the service with its VIP" || not_ok "shows the service with its VIP"
[ "$(field "$scr" blue 2)" = stable ] && [ "$(field "$scr" green 2)" = candidate ] &&
	ok "both colours with their roles (blue stable, green candidate)" ||
	not_ok "both colours with their roles"
[ "$(field "$scr" blue 3)" = 50% ] && [ "$(field "$scr" green 3)" = 50% ] &&
	ok "configured split 50% / 50%" || not_ok "configured split 50% / 50%"
ob=$(num "$(field "$scr" blue 4)")
og=$(num "$(field "$scr" green 4)")
[ -n "$ob" ] && [ -n "$og" ] && holds 'a >= 25 && a <= 75 && b >= 25 && b <= 75' \
	"$ob" "$og" && ok "observed split near 50% (blue $ob%, green $og%)" ||
	not_ok "observed split near 50% (blue '$ob', green '$og')"
rb=$(num "$(field "$scr" blue 5)")
rg=$(num "$(field "$scr" green 5)")
[ -n "$rb" ] && [ -n "$rg" ] && holds 'a > 0 && b > 0' "$rb" "$rg" &&
	ok "a non-zero rate for each colour (blue $rb/s, green $rg/s)" ||
	not_ok "a non-zero rate for each colour (blue '$rb', green '$rg')"
# The rate is per second of the interval, not per interval or cumulative.
# One interval can fall outside the band on a busy shared host (the
# client or top paused for a while): read the screen again, each second's
# refresh, for up to 10 s. A cumulative count is far above the band by
# now and never comes back into it.
band="a + b >= 0.5 * $RATE && a + b <= 1.5 * $RATE"
rb2=$rb rg2=$rg
for _ in $(seq 20); do
	[ -n "$rb2" ] && [ -n "$rg2" ] && holds "$band" "$rb2" "$rg2" && break
	sleep 0.5
	scr2=$(screen main)
	rb2=$(num "$(field "$scr2" blue 5)")
	rg2=$(num "$(field "$scr2" green 5)")
done
if [ -n "$rb2" ] && [ -n "$rg2" ] && holds "$band" "$rb2" "$rg2"; then
	ok "flows/s add up to the client's rate (${rb2} + ${rg2} vs $RATE/s)"
else
	not_ok "flows/s add up to the client's rate ('$rb2' + '$rg2' vs $RATE/s, first read '$rb' + '$rg')"
fi
eb=$(field "$scr" blue 6)
eg=$(num "$(field "$scr" green 6)")
[ "$eb" = 0.00% ] && ok "blue's error ratio is 0.00%" ||
	not_ok "blue's error ratio is 0.00% (got '$eb')"
[ -n "$eg" ] && holds 'a >= 5 && a <= 60' "$eg" &&
	ok "green's error ratio is non-zero, near 25% ($eg%)" ||
	not_ok "green's error ratio is non-zero, near 25% (got '$eg')"
p99b=$(field "$scr" blue 8)
p99g=$(field "$scr" green 8)
printf '%s\n%s\n' "$p99b" "$p99g" | grep -qvE '^[0-9.]+(us|ms|s)$' &&
	not_ok "p99 first byte shown for both (blue '$p99b', green '$p99g')" ||
	ok "p99 first byte shown for both (blue $p99b, green $p99g)"

# Fits 80x24: the rightmost column and the title's right end are whole,
# nothing says it was cut, and no line runs into the last column.
printf '%s\n' "$scr" | grep -qE '  P99 FB$' &&
	printf '%s\n' "$scr" | head -1 | grep -qE '[0-9]{2}:[0-9]{2}:[0-9]{2}  q quit$' &&
	! printf '%s\n' "$scr" | grep -q 'cuts the view' &&
	[ "$(printf '%s\n' "$scr" | awk '{ if (length > m) m = length } END { print m }')" -lt 80 ] &&
	ok "fits 80x24: every column whole, no cut hint" ||
	not_ok "fits 80x24: every column whole, no cut hint"

# ---- a smaller terminal: what fits, and a hint; back to full on resize ----
tm resize-window -t main -x 60 -y 12
if wait_screen main 'terminal 60x12 cuts the view' 5; then
	ok "resized to 60x12: a hint says the view is cut"
	show "$(screen main)"
else
	not_ok "resized to 60x12: a hint says the view is cut"
	show "$(screen main)"
fi
tm resize-window -t main -x 80 -y 24
wait_screen main '  P99 FB$' 5 && ! screen main | grep -q 'cuts the view' &&
	ok "resized back to 80x24: full view, no hint" ||
	not_ok "resized back to 80x24: full view, no hint"

# ---- a rollout: the agent holds step 1 (50%) for its 60 s bake ------------
# The error gates are off (0) so the 500s injected above do not roll it
# back: the step and state on screen are what is checked here.
start_agent && ok "agent listening" || not_ok "agent listening"
check "rollout start" sl rollout start web --steps 50,100 --bake 60s \
	--max-error-ratio 0 --max-error-ratio-increase 0
if wait_screen main 'rollout running: step 1 of 2 \(50% to green\)' 5; then
	ok "shows the rollout: running, step 1 of 2 at 50%"
else
	not_ok "shows the rollout: running, step 1 of 2 at 50%"
	show "$(screen main)"
fi
sleep 2
scr=$(screen main)
echo "# with the rollout:"
show "$scr"
[ "$(field "$scr" green 3)" = 50% ] &&
	ok "the split stays 50% while the step bakes" ||
	not_ok "the split stays 50% while the step bakes"

# ---- q quits ------------------------------------------------------------
tm send-keys -t main q
st=$(wait_dead main 5)
[ "$st" = 0 ] && ok "q quits: the pane's process exits 0" ||
	not_ok "q quits: the pane's process exits 0 (status '$st')"

# ---- an unknown service: exit 2 naming it ---------------------------------
start_top nosuch nosuch
st=$(wait_dead nosuch 5)
[ "$st" = 2 ] && printed nosuch | grep -q "service 'nosuch' does not exist" &&
	ok "top nosuch: exit 2 naming the service" ||
	not_ok "top nosuch: exit 2 naming the service (status '$st')"

# ---- the data path goes down under it: it says so, and keeps going --------
start_top down web --interval 200ms
wait_screen down '^  green' 5
kill -TERM "$AGENT" 2>/dev/null
wait "$AGENT" 2>/dev/null
AGENT=""
check "sluice down while top runs" sl down
if wait_screen down 'sluice is down' 5; then
	ok "sluice down under top: the screen says so"
else
	not_ok "sluice down under top: the screen says so"
	show "$(screen down)"
fi
tm send-keys -t down C-c
st=$(wait_dead down 5)
[ "$st" = 0 ] && ok "Ctrl-C quits too, exit 0" ||
	not_ok "Ctrl-C quits too, exit 0 (status '$st')"
tap_done
