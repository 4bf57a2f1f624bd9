#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench_sampling.sh - what a sampled-out request costs kspan next to a sampled
# one. A benchmark, not a test: it reports numbers and never judges them.
#
# One nginx worker answers wrk (keep-alive, 2-byte body) while kspan traces
# its port and exports OTLP/HTTP protobuf to a local sink (otlp_sink.py) with
# OTEL_TRACES_SAMPLER=traceidratio at 1.0, then at 0.1, alternately,
# BENCH_ROUNDS times each. Every request is two spans (wrk's CLIENT, nginx's
# SERVER, one trace: the kernel joins them), parsed and timed either way; at
# 0.1 nine traces in ten are dropped before anything is encoded. Printed per
# run: requests, kspan's CPU seconds (load phase only) and CPU seconds per
# 100k requests, the spans kspan exported and its spans_sampled_out; then
# the medians per ratio.
#
# Environment: bench_lib.sh's (KSPAN, BENCH_SECONDS, BENCH_KEEP),
# BENCH_ROUNDS (1), BENCH_CONNECTIONS (16), BENCH_THREADS (2). Needs root,
# nginx, wrk, curl.
set -euo pipefail
BENCH_NAME=bench_sampling
BENCH_SECONDS=${BENCH_SECONDS:-5}
# shellcheck source=tests/bench/bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

BENCH_ROUNDS=${BENCH_ROUNDS:-1}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-16}
BENCH_THREADS=${BENCH_THREADS:-2}

need_root
command -v wrk >/dev/null || die "wrk not found: apt-get install wrk"
[ -x "$KSPAN" ] || die "$KSPAN not built: make"
start_nginx
start_sink

echo "bench_sampling: nginx, wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS, ${BENCH_SECONDS}s per run," \
	"$BENCH_ROUNDS rounds; $(nproc) CPUs, kernel $(uname -r)"
for round in $(seq "$BENCH_ROUNDS"); do
	for sampler_ratio in 1.0 0.1; do
		log=$TMP/kspan-$round-$sampler_ratio.err
		KSPAN_ENV="OTEL_TRACES_SAMPLER=traceidratio OTEL_TRACES_SAMPLER_ARG=$sampler_ratio
			OTEL_BSP_SCHEDULE_DELAY=200 OTEL_BSP_MAX_QUEUE_SIZE=200000" \
			start_kspan "$KSPAN" "$log" --otlp-endpoint "$SINK_URL" \
			--port "$NGINX_PORT" --metrics-addr "" || die "kspan did not start"
		cpu_before=$(cpu_seconds "$KSPAN_PID")
		run_wrk "$TMP/wrk.out" "$URL" "$BENCH_THREADS" "$BENCH_CONNECTIONS"
		cpu_after=$(cpu_seconds "$KSPAN_PID")
		sleep 1 # the last batches reach the sink
		stop_kspan
		cpu=$(awk -v a="$cpu_before" -v b="$cpu_after" 'BEGIN { printf "%.2f", b - a }')
		per100k=$(awk -v c="$cpu" -v n="$R_REQUESTS" \
			'BEGIN { printf "%.3f", (n > 0 ? c * 100000 / n : 0) }')
		printf '  round %d  ratio %-3s  %9s requests  kspan CPU %6s s  %7s s/100k requests' \
			"$round" "$sampler_ratio" "$R_REQUESTS" "$cpu" "$per100k"
		printf '  spans exported %8s  sampled out %8s\n' "$(counter "$log" spans_exported)" \
			"$(counter "$log" spans_sampled_out)"
		echo "$sampler_ratio $per100k" >>"$TMP/results"
	done
done
"$PYTHON" - "$TMP/results" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    ratio, per100k = line.split()
    runs.setdefault(ratio, []).append(float(per100k))
med = {r: statistics.median(v) for r, v in runs.items()}
print("  median kspan CPU s per 100k requests: ratio 1.0 %.3f, ratio 0.1 %.3f"
      % (med["1.0"], med["0.1"]))
if med["1.0"] > 0:
    print("  ratio 0.1 / ratio 1.0: %.3f" % (med["0.1"] / med["1.0"]))
PY
