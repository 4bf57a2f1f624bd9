#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench_bpf_lines.sh - where kspan's BPF time goes, source line by source
# line (issue 13: "for each target not met, where the remaining time goes").
# A benchmark, not a test: it prints a profile.
#
# bench_bpf_time.sh says how much BPF time a request costs, per program;
# this says which lines of those programs spend it. While one nginx worker
# is saturated by wrk (-t1 -c16, keep-alive, as in bench_bpf_time's loaded
# runs), `perf record -a -g` samples every CPU (cpu-clock, LINES_HZ); then,
# with the programs still loaded, bpf_jit_lines (bpf_jit_lines.c) reads
# where each source line starts in their JIT images, and
# bpf_line_profile.py charges every sample taken in a program, or in a
# helper it called, to the line that ran or called. A helper's cost shows at
# its call site: a map lookup's bucket walk under the lookup of that map.
#
# Environment: bench_lib.sh's (KSPAN, BENCH_RESULTS, BENCH_KEEP),
# LINES_MODE (nginx: kspan --pid <worker>, the default; all: every process,
# wrk too), LINES_SECONDS (4: the sampled part of the wrk run), LINES_HZ
# (10000), LINES_TOP (40 lines), KSPAN_ARGS (more kspan arguments, e.g.
# "--backend tracepoint"). Needs root, perf (linux-perf), nginx, wrk.
set -euo pipefail
BENCH_NAME=bench_bpf_lines
# shellcheck source=tests/bench/bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

LINES_MODE=${LINES_MODE:-nginx}
LINES_SECONDS=${LINES_SECONDS:-4}
LINES_HZ=${LINES_HZ:-10000}
LINES_TOP=${LINES_TOP:-40}
JIT_LINES=${JIT_LINES:-build/bench/bpf_jit_lines}
need_root
command -v perf >/dev/null || die "perf not found: apt-get install linux-perf"
[ -x "$JIT_LINES" ] || die "$JIT_LINES not built: make $JIT_LINES"
check_kspan_builds

BENCH_SECONDS=$((LINES_SECONDS + 3))
start_nginx
args=(--exporter none --metrics-addr '')
[ "$LINES_MODE" = nginx ] && args+=(--pid "$WORKER")
# shellcheck disable=SC2206 # KSPAN_ARGS is a list of words
args+=(${KSPAN_ARGS:-})
start_kspan "$KSPAN" "$TMP/kspan.stderr" "${args[@]}" || die "kspan did not start"
# The sampled seconds sit inside the wrk run: its first second (connections,
# warm-up) and its end are left out.
(
	sleep 1
	perf record -a -g -F "$LINES_HZ" -o "$TMP/perf.data" -- sleep "$LINES_SECONDS" \
		>"$TMP/perf.log" 2>&1
) &
PERF_JOB=$!
run_wrk "$TMP/wrk.out" "$URL" 1 16
wait "$PERF_JOB" || die "perf record failed: $(tail -3 "$TMP/perf.log")"
# kspan's own programs: those it holds open (bench_lib.sh's bpf_run_per_prog).
for id in $(bpf_run_per_prog "$KSPAN_PID" | awk '{ print $1 }'); do
	"$JIT_LINES" "$id" >"$TMP/jit_lines.$id" 2>/dev/null || rm -f "$TMP/jit_lines.$id"
done
stop_kspan
echo "kspan's BPF time by source line: nginx \"ok\" under wrk -t1 -c16 ($R_RPS req/s),"
echo "kspan ${args[*]} ($LINES_MODE); $LINES_SECONDS s of perf at $LINES_HZ Hz on every CPU"
"$PYTHON" "$BENCH_HERE/bpf_line_profile.py" "$TMP" "$LINES_TOP"
kept_or_removed
