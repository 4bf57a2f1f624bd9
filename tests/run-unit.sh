#!/usr/bin/env bash
# Runs every cmocka unit-test binary given as an argument, adds up the tests
# cmocka reports, and prints one summary line; exits non-zero on any failure.
# A binary that crashes or reports nothing counts as one failed test.
set -u
passed=0 failed=0
for t in "$@"; do
	out=$("$t" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	p=$(sed -nE 's/^\[  PASSED  \] ([0-9]+) test.*/\1/p' <<<"$out" | tail -n 1)
	f=$(sed -nE 's/^\[  FAILED  \] ([0-9]+) test.*/\1/p' <<<"$out" | tail -n 1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if [ "$rc" -ne 0 ] && [ -z "$f" ]; then
		echo "unit: $t exited with status $rc" >&2
		failed=$((failed + 1))
	fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
