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

# jcheck DESC FILE EXPR [JQ-ARGS...]: ok when the jq EXPR is true of
# FILE; else FILE (and FILE.err, a command's stderr) as evidence.
jcheck() {
	local desc=$1 file=$2 expr=$3
	shift 3
	if jq -e "$@" "$expr" "$file" >/dev/null 2>&1; then
		ok "$desc"
	else
		not_ok "$desc"
		head -c 4000 "$file" 2>/dev/null | sed 's/^/# /'
		[ -s "$file.err" ] && sed 's/^/# stderr: /' "$file.err"
	fi
}

tap_done() {
	[ "$TAP_FAILED" -eq 0 ]
}
