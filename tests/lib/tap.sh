# TAP helpers for end-to-end shell tests: one "ok N - name" or
# "not ok N - name" line per check, output of a failing check shown.
TAP_N=0
TAP_FAILED=0

ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $*"
}

not_ok() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $*"
}

# check NAME CMD...: run CMD, ok if it exits 0.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		not_ok "$name"
		printf '%s\n' "$out" | sed 's/^/# /'
	fi
}

# expect_exit CODE NAME CMD...: ok if CMD exits with CODE.
expect_exit() {
	local code=$1 name=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -eq "$code" ]; then
		ok "$name"
	else
		not_ok "$name (exit $rc, want $code)"
		printf '%s\n' "$out" | sed 's/^/# /'
	fi
}

tap_done() {
	[ "$TAP_FAILED" -eq 0 ]
}
