#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench_syscalls.sh - what kspan adds to one HTTP exchange over loopback (4
# traced syscalls, 2 spans), to one read of a file (a syscall kspan must look
# at and skip) and to one open+close of a file (every close is looked at),
# measured side by side in one run: without kspan, with it, without it again.
# A benchmark, not a test: it prints numbers.
#
# Environment: KSPAN (build/kspan), ROUNDS_HTTP (100000), ROUNDS_FILE (1000000)
# for reads and open+close pairs.
set -euo pipefail

KSPAN=${KSPAN:-build/kspan}
ROUNDS_HTTP=${ROUNDS_HTTP:-100000}
ROUNDS_FILE=${ROUNDS_FILE:-1000000}
BIN=build/bench/syscall_cost
KSPAN_PID=''

cleanup() {
	[ -n "$KSPAN_PID" ] && kill -INT "$KSPAN_PID" 2>/dev/null && wait "$KSPAN_PID" || true
	rm -f "${LOG:-}"
}
trap cleanup EXIT

mkdir -p build/bench
cc -O2 -Wall -Wextra -Werror -o "$BIN" tests/bench/syscall_cost.c
LOG=$(mktemp)

# Median of three runs.
measure() {
	local kind=$1 rounds=$2
	for _ in 1 2 3; do "$BIN" "$kind" "$rounds"; done | sort -n | sed -n 2p
}

declare -A HTTP FILE OPEN
run() {
	HTTP[$1]=$(measure http "$ROUNDS_HTTP")
	FILE[$1]=$(measure file "$ROUNDS_FILE")
	OPEN[$1]=$(measure open "$ROUNDS_FILE")
}

run without
"$KSPAN" --exporter none 2>"$LOG" >/dev/null &
KSPAN_PID=$!
for _ in $(seq 300); do grep -q '^kspan: ready' "$LOG" && break; sleep 0.1; done
grep -q '^kspan: ready' "$LOG" || { echo "kspan did not start:"; cat "$LOG"; exit 1; }
run with
kill -INT "$KSPAN_PID"
wait "$KSPAN_PID"
KSPAN_PID=''
run again

base_http=$(((HTTP[without] + HTTP[again]) / 2))
base_file=$(((FILE[without] + FILE[again]) / 2))
base_open=$(((OPEN[without] + OPEN[again]) / 2))
echo
echo "kspan syscall cost: medians of 3 runs, $(nproc) CPUs, kernel $(uname -r)"
printf '%-28s %14s %14s %14s\n' "" "without" "with kspan" "without again"
printf '%-28s %14s %14s %14s\n' "ns per HTTP exchange" "${HTTP[without]}" "${HTTP[with]}" \
	"${HTTP[again]}"
printf '%-28s %14s %14s %14s\n' "ns per 1-byte file read" "${FILE[without]}" "${FILE[with]}" \
	"${FILE[again]}"
printf '%-28s %14s %14s %14s\n' "ns per file open+close" "${OPEN[without]}" "${OPEN[with]}" \
	"${OPEN[again]}"
echo
echo "added per HTTP exchange (2 spans): $((HTTP[with] - base_http)) ns," \
	"ratio $(awk -v a="${HTTP[with]}" -v b="$base_http" 'BEGIN { printf "%.2f", a / b }')"
echo "added per file read:               $((FILE[with] - base_file)) ns," \
	"ratio $(awk -v a="${FILE[with]}" -v b="$base_file" 'BEGIN { printf "%.2f", a / b }')"
echo "added per file open+close:        $((OPEN[with] - base_open)) ns," \
	"ratio $(awk -v a="${OPEN[with]}" -v b="$base_open" 'BEGIN { printf "%.2f", a / b }')"
grep '^kspan: counters' "$LOG" | tr ' ' '\n' | grep -E '^(events_received|spans_created|kernel_ringbuf_drops)='
