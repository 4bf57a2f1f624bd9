#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench_backends.sh - what each probe backend this kernel allows costs a
# saturated nginx (issue 13, target 3, per backend). A benchmark, not a test.
#
# One nginx worker answers "ok" (keep-alive), wrk saturates it (-t1 -c16,
# BENCH_SECONDS per run); kspan traces the worker (--pid, or every process
# with BACKEND_MODE=all), --propagation tuple (so that every backend can run),
# and exports OTLP/HTTP protobuf to a sink that does not decode. This machine
# kind drifts by a quarter within minutes, more than the difference between
# backends, so the conditions are interleaved: BACKEND_ROUNDS rounds (4), each
# running "without kspan" and every backend once, in an order that rotates
# from round to round; each round's ratios divide by that round's own run
# without kspan. Printed per condition: the median over the rounds of the
# throughput ratio, of nginx's CPU us per request (its scheduler clock: what
# kspan costs the traced server itself, the steadier figure) and of kspan's
# CPU us per span.
#
# BACKEND_PIN=1 runs them pinned as bench_nginx.sh's target 3p does: nginx
# alone on CPU 0; wrk, kspan and the sink on CPU 1.
#
# Environment: bench_lib.sh's (KSPAN, BENCH_SECONDS, BENCH_KEEP),
# BACKEND_ROUNDS (4), BACKENDS ("tracepoint socket-tracepoint"), BACKEND_MODE
# (pid or all), BACKEND_PIN (0). Needs root, nginx, wrk, taskset.
set -euo pipefail
BENCH_NAME=bench_backends
# shellcheck source=tests/bench/bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

BACKEND_ROUNDS=${BACKEND_ROUNDS:-4}
BACKENDS=${BACKENDS:-tracepoint socket-tracepoint}
BACKEND_MODE=${BACKEND_MODE:-pid}
BACKEND_PIN=${BACKEND_PIN:-0}
WRK_CPU=''
trap bench_cleanup EXIT

declare -A RATIOS NGINX_US SPAN_US # condition -> space-separated values, one per round

# measure CONDITION: one wrk run with kspan on backend CONDITION ("without":
# no kspan); sets M_RPS, M_NGINX_US, M_SPAN_US.
measure() {
	local cond=$1 log="$TMP/$1.stderr" args=() before cpu_before per_request=1
	M_SPAN_US=-
	if [ "$cond" != without ]; then
		[ "$BACKEND_MODE" = pid ] && args=(--pid "$WORKER")
		[ "$BACKEND_MODE" = all ] && per_request=2
		KSPAN_CPU=$WRK_CPU start_kspan "$KSPAN" "$log" --backend "$cond" --propagation tuple --exporter otlp \
			--otlp-endpoint "$SINK_URL" --metrics-addr '' "${args[@]}" ||
			die "kspan did not start on $cond"
		cpu_before=$(cpu_seconds "$KSPAN_PID")
	fi
	before=$(run_seconds "$WORKER")
	clear_results
	run_wrk "$TMP/$cond.wrk" "$URL" 1 16 "$WRK_CPU"
	M_RPS=${R_RPS:-0}
	M_NGINX_US=$(awk -v a="$before" -v b="$(run_seconds "$WORKER")" -v n="${R_REQUESTS:-0}" \
		'BEGIN { if (n > 0) printf "%.2f", (b - a) * 1e6 / n; else print "?" }')
	if [ "$cond" != without ]; then
		M_SPAN_US=$(awk -v a="$cpu_before" -v b="$(cpu_seconds "$KSPAN_PID")" \
			-v n="${R_REQUESTS:-0}" -v k="$per_request" \
			'BEGIN { if (n > 0) printf "%.2f", (b - a) * 1e6 / (n * k); else print "?" }')
		stop_kspan
	fi
}

median() {
	tr ' ' '\n' | grep -E '^[0-9.]+$' | sort -g | awk '{ v[NR] = $1 }
		END { if (NR == 0) print "?"; else if (NR % 2) print v[(NR + 1) / 2];
			else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

main() {
	local conds round i n cond base
	read -r -a conds <<<"without $BACKENDS"
	need_root
	command -v wrk >/dev/null || die "wrk not found: apt-get install wrk"
	[ -x "$KSPAN" ] || die "$KSPAN not found (make)"
	start_sink
	start_nginx http
	if [ "$BACKEND_PIN" = 1 ]; then
		taskset -a -p -c 0 "$NGINX_PID" >/dev/null
		taskset -a -p -c 0 "$WORKER" >/dev/null
		taskset -a -p -c 1 "$SINK_PID" >/dev/null
		WRK_CPU=1
	fi
	BENCH_SECONDS=2 run_wrk "$TMP/warmup.wrk" "$URL" 1 16 "$WRK_CPU" # unreported warm-up
	n=${#conds[@]}
	echo "probe backends under a saturated nginx: $BACKEND_ROUNDS rounds of ${BENCH_SECONDS}s runs,"
	echo "kspan $BACKEND_MODE, --propagation tuple${WRK_CPU:+, pinned (nginx CPU 0; wrk, kspan, sink CPU 1)};" \
		"$(nproc) CPUs, kernel $(uname -r)"
	for round in $(seq "$BACKEND_ROUNDS"); do
		base=''
		for i in $(seq 0 $((n - 1))); do
			cond=${conds[$(((i + round) % n))]}
			measure "$cond"
			echo "round $round: $cond: $M_RPS req/s, nginx $M_NGINX_US us/request," \
				"kspan $M_SPAN_US us/span"
			NGINX_US[$cond]+=" $M_NGINX_US"
			SPAN_US[$cond]+=" $M_SPAN_US"
			RATIOS[$cond]+=" $M_RPS"
		done
		# Each run against this round's run without kspan.
		base=${RATIOS[without]##* }
		for cond in $BACKENDS; do
			RATIOS[ratio $cond]+=" $(ratio "${RATIOS[$cond]##* }" "$base")"
		done
	done
	echo
	printf '%-20s %12s %14s %12s\n' condition "ratio" "nginx us/req" "kspan us/span"
	printf '%-20s %12s %14s %12s\n' without "-" "$(echo "${NGINX_US[without]}" | median)" "-"
	for cond in $BACKENDS; do
		printf '%-20s %12s %14s %12s\n' "$cond" "$(echo "${RATIOS[ratio $cond]}" | median)" \
			"$(echo "${NGINX_US[$cond]}" | median)" "$(echo "${SPAN_US[$cond]}" | median)"
	done
	echo "(medians over the rounds; ratio: req/s with kspan / the round's req/s without)"
}

main "$@"
