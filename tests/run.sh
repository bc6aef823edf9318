#!/bin/bash
# Run the whole suite: every built test binary (cmocka, TAP output) and
# every tests/*.sh end-to-end script (TAP-like "ok"/"not ok" lines).
# Output of a passing test is kept quiet; a failing one's is shown.
# Ends with one line: "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
export CMOCKA_MESSAGE_OUTPUT=TAP
pass=0 fail=0 skip=0
failed_names=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_one() {
	local name=$1
	shift
	local start=$SECONDS rc
	# A hung test fails alone, after 10 minutes, instead of the run.
	timeout -k 10 600 "$@" >"$log" 2>&1
	rc=$?
	[ "$rc" -eq 124 ] && echo "# $name: killed after 600 s" >>"$log"
	local p f s
	p=$(grep -cE '^ok [0-9]+' "$log" || true)
	s=$(grep -cE '^ok [0-9]+.*# (SKIP|skip)' "$log" || true)
	f=$(grep -cE '^not ok [0-9]+' "$log" || true)
	p=$((p - s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# crashed or failed before reporting: count it as one failure
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	skip=$((skip + s))
	printf '%-28s %4d passed %3d failed %3d skipped  (%ds)\n' \
		"$name" "$p" "$f" "$s" $((SECONDS - start))
	if [ "$f" -ne 0 ]; then
		failed_names+=("$name")
		sed 's/^/    | /' "$log"
	fi
}

for t in build/tests/*_test; do
	[ -x "$t" ] || continue
	run_one "$(basename "$t")" "$t"
done
for t in tests/*_test.sh; do
	[ -f "$t" ] || continue
	run_one "$(basename "$t")" bash "$t"
done

[ ${#failed_names[@]} -eq 0 ] || echo "failed: ${failed_names[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
