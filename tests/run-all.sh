#!/usr/bin/env bash
# `make test`: every suite runs even when an earlier one fails; each prints a
# line "<suite>: N passed, M failed", and the totals close the run.
set -u
cd "$(dirname "$0")/.."
log_dir=build/test-logs
mkdir -p "$log_dir"
total_passed=0 total_failed=0 status=0

run_suite() {
	local name=$1
	shift
	echo "=== $name"
	"$@" 2>&1 | tee "$log_dir/$name.log"
	local rc=${PIPESTATUS[0]}
	local line
	line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" "$log_dir/$name.log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "$name: no summary line (exit $rc): counted as 1 failed"
		total_failed=$((total_failed + 1))
		status=1
		return
	fi
	local p f
	p=$(sed -E 's/^[a-z]+: ([0-9]+) passed.*/\1/' <<<"$line")
	f=$(sed -E 's/^[a-z]+: [0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")
	total_passed=$((total_passed + p))
	total_failed=$((total_failed + f))
	if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then
		status=1
	fi
}

run_suite layout make --no-print-directory -s layout-tests
run_suite unit make --no-print-directory -s unit-tests
run_suite fuzz make --no-print-directory -s fuzz-tests
run_suite integration make --no-print-directory -s integration-tests
run_suite vm make --no-print-directory -s vm-tests

echo
echo "all: $total_passed passed, $total_failed failed"
exit $status
