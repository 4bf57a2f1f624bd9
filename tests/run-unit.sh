#!/usr/bin/env bash
# Runs every cmocka unit-test binary given as an argument, adds up the tests
# cmocka reports, and prints one summary line; exits non-zero on any failure.
# A binary that crashes or reports nothing counts as one failed test.
# Each binary runs under valgrind when it is installed (KSPAN_VALGRIND=0 to
# skip): a leak or invalid access fails the binary.
set -u
passed=0 failed=0
runner=()
if [ "${KSPAN_VALGRIND:-1}" != 0 ] && command -v valgrind >/dev/null; then
	runner=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect
		--error-exitcode=99)
fi
for t in "$@"; do
	out=$("${runner[@]}" "$t" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	p=$(sed -nE 's/^\[  PASSED  \] ([0-9]+) test.*/\1/p' <<<"$out" | tail -n 1)
	f=$(sed -nE 's/^\[  FAILED  \] ([0-9]+) test.*/\1/p' <<<"$out" | tail -n 1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if [ "$rc" -ne 0 ] && [ -z "$f" ]; then
		echo "unit: $t exited with status $rc (99: valgrind found an error)" >&2
		failed=$((failed + 1))
	fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
