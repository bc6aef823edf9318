#!/bin/bash
# The userspace unit tests and the CLI under AddressSanitizer and
# UndefinedBehaviorSanitizer (clang; `make asan` builds them into
# build/asan/). The unit tests that need no BPF run as they are;
# tests/cli_test.sh runs against build/asan/sluice. Any ASan, LSan or
# UBSan report fails, whatever the exit status. TAP.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
UNITS="parse_test maglev_test config_test rollout_test top_model_test"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $*"; }

echo "1..$(($(echo $UNITS | wc -w) + 3))"
if ! make -s asan >"$T/make.log" 2>&1; then
	not_ok "make asan"
	sed 's/^/# /' "$T/make.log" | tail -30
	exit 1
fi
ok "make asan builds the sanitized unit tests and sluice"

# Reports go to files, so that one is seen even when a test swallows
# the program's stderr or expects it to fail.
mkdir -p "$T/san"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:log_path=$T/san/asan
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$T/san/ubsan
export CMOCKA_MESSAGE_OUTPUT=TAP

reports() { # name: any sanitizer report since the last call fails it
	local f found=0
	for f in "$T"/san/*; do
		[ -e "$f" ] || continue
		found=1
		echo "# $1: sanitizer report $(basename "$f"):"
		head -40 "$f" | sed 's/^/#   /'
		rm -f "$f"
	done
	return $found
}

for u in $UNITS; do
	build/asan/tests/$u >"$T/$u.log" 2>&1
	rc=$?
	nok=$(grep -cE '^not ok' "$T/$u.log")
	if reports "$u" && [ "$rc" -eq 0 ] && [ "$nok" -eq 0 ]; then
		ok "$u under ASan+UBSan ($(grep -cE '^ok' "$T/$u.log") passed)"
	else
		not_ok "$u under ASan+UBSan (exit $rc, $nok failed)"
		grep -E '^not ok|ERROR|runtime error' "$T/$u.log" | head -20 |
			sed 's/^/# /'
	fi
done

# End-to-end scripts as they are, with sluice replaced by the sanitized
# binary: the CLI (cli_test.sh) and the agent with its metrics endpoint,
# events reader and a rollout (dashboard_test.sh).
against_asan() {
	local t=$1 rc p f
	sed -e "s#^cd \"\$(dirname \"\$0\")/..\"\( || exit 1\)\{0,1\}\$#cd '$ROOT'#" \
		-e "s|^S=\$PWD/build/sluice\$|S=\$PWD/build/asan/sluice|" \
		"tests/$t" >"$T/$t"
	if ! grep -q '^S=$PWD/build/asan/sluice$' "$T/$t" ||
		! grep -q "^cd '$ROOT'$" "$T/$t"; then
		not_ok "$t: cannot point it at build/asan/sluice"
		return
	fi
	bash "$T/$t" >"$T/$t.log" 2>&1
	rc=$?
	p=$(grep -cE '^ok [0-9]+' "$T/$t.log")
	f=$(grep -cE '^not ok [0-9]+' "$T/$t.log")
	if reports "$t" && [ "$rc" -eq 0 ] && [ "$f" -eq 0 ]; then
		ok "$t against build/asan/sluice ($p passed)"
	else
		not_ok "$t against build/asan/sluice (exit $rc, $p passed, $f failed)"
		grep -E '^not ok' "$T/$t.log" | head -20 | sed 's/^/# /'
	fi
}
against_asan cli_test.sh
against_asan dashboard_test.sh
exit $fail
