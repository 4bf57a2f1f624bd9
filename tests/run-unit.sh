#!/usr/bin/env bash
# Runs every cmocka unit-test binary given as an argument and prints one
# summary line; exits non-zero if any binary failed.
set -u
passed=0 failed=0
for t in "$@"; do
	if "$t"; then
		passed=$((passed + 1))
	else
		echo "unit: FAILED: $t" >&2
		failed=$((failed + 1))
	fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
