#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench_nginx_tls.sh - what kspan's OpenSSL uprobes cost an https nginx
# (issue 14), beside the same worker's plaintext port. A benchmark, not a
# test: it reports numbers and never judges them.
#
# One nginx worker answers "ok" on a plaintext and an https port (a
# self-signed EC P-256 certificate made at start; bench_lib.sh's start_nginx
# https); wrk saturates it (-t BENCH_THREADS -c BENCH_CONNECTIONS,
# keep-alive: one TLS handshake per connection, then SSL_read/SSL_write per
# request) for BENCH_SECONDS per run. nginx and wrk both map the system's
# libssl.so.3; with --pid kspan probes it for the nginx worker alone (wrk's
# SSL calls do not trap; a build before per-pid probes, as KSPAN_BASELINE,
# probes wrk's too and its programs return at the process filter). kspan exports OTLP/HTTP protobuf to a sink that does not
# decode. Runs, each kspan build (KSPAN_BASELINE first when set) in turn:
#   https without             wrk to the https port, no kspan
#   https pid <build>         kspan --pid <nginx worker>, wrk to https
#   https without again
#   http pid <build>          the same kspan run, wrk to the plaintext port:
#                             the BPF time and agent CPU beside https's
# The throughput ratio divides by the mean of the two runs without kspan.
# With kernel.bpf_stats_enabled=1 (restored afterwards), each kspan run's
# BPF time per request is the run_time_ns its programs (uprobes included;
# /proc/PID/fdinfo) added during the load, over the requests wrk completed,
# and every program that ran is listed with its runs and ns per request.
# Agent CPU per span: kspan's utime+stime during the load over the spans
# (one per request). spans - requests: as in bench_nginx.sh.
#
# Environment: bench_lib.sh's (KSPAN, KSPAN_BASELINE, BENCH_SECONDS,
# BENCH_RESULTS, BENCH_KEEP), BENCH_CONNECTIONS (16), BENCH_THREADS (1),
# KSPAN_ARGS (extra agent options). Needs root, nginx, wrk, curl, openssl,
# python3, bpftool.
set -euo pipefail
BENCH_NAME=bench_nginx_tls
# shellcheck source=tests/bench/bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-16}
BENCH_THREADS=${BENCH_THREADS:-1}
KSPAN_ARGS=${KSPAN_ARGS:-}
STATS_WAS=''
declare -A RPS REQ P50 P99 ERR CPU_US BPF_NS CHECK DROPS STATE
RUNS=()

restore_stats() {
	[ -n "$STATS_WAS" ] && sysctl -q -w kernel.bpf_stats_enabled="$STATS_WAS" >/dev/null
	bench_cleanup
}
trap restore_stats EXIT

keep_row() {
	local label=$1
	RUNS+=("$label")
	RPS[$label]=${R_RPS:-0} REQ[$label]=${R_REQUESTS:-0} P50[$label]=${R_P50:-?}
	P99[$label]=${R_P99:-?} ERR[$label]=${R_ERRORS:-?}
}

run_without() {
	local label=$1
	clear_results
	run_wrk "$TMP/$label.out" "$HTTPS_URL" "$BENCH_THREADS" "$BENCH_CONNECTIONS"
	keep_row "$label"
}

# run_with LABEL BINARY URL
run_with() {
	local label=$1 bin=$2 url=$3 log="$TMP/$1.kspan.stderr" f="$TMP/${1// /-}"
	local cpu_before cpu exported
	clear_results
	# shellcheck disable=SC2086 # KSPAN_ARGS is a list of options
	if ! start_kspan "$bin" "$log" --exporter otlp --otlp-endpoint "$SINK_URL" \
		--metrics-addr '' --pid "$WORKER" $KSPAN_ARGS; then
		keep_row "$label"
		STATE[$label]="did not start"
		return 0
	fi
	grep '^kspan: TLS: ' "$log" | sed "s/^/    $label: /" >&2 || true
	bpf_run_per_prog "$KSPAN_PID" >"$f.before"
	cpu_before=$(cpu_seconds "$KSPAN_PID")
	run_wrk "$TMP/$label.out" "$url" "$BENCH_THREADS" "$BENCH_CONNECTIONS"
	cpu=$(awk -v a="$cpu_before" -v b="$(cpu_seconds "$KSPAN_PID")" 'BEGIN { print b - a }')
	bpf_run_per_prog "$KSPAN_PID" >"$f.after"
	prog_names "$f.after" >"$f.names"
	stop_kspan
	keep_row "$label"
	STATE[$label]="exit $K_EXIT"
	CPU_US[$label]=$(awk -v c="$cpu" -v n="${REQ[$label]}" \
		'BEGIN { if (n > 0) printf "%.2f", c * 1e6 / n; else print "?" }')
	BPF_NS[$label]=$(bpf_ns_per "$f.before" "$f.after" "${REQ[$label]}")
	exported=$(counter "$log" spans_exported)
	DROPS[$label]=$(drops_of "$log")
	CHECK[$label]=$(awk -v s="$exported" -v n="${REQ[$label]}" -v x="$BENCH_CONNECTIONS" \
		'BEGIN { if (s !~ /^[0-9]+$/) { print "?"; exit }
			d = s - n; printf "%s%+d", (d >= 0 && d <= x) ? "ok " : "MISSING ", d }')
	# Where the BPF time goes: runs and ns per request of every program that ran.
	echo "$label ($bin): ${BPF_NS[$label]} ns of BPF time per request"
	print_prog_split "$f.before" "$f.after" "$f.names" "${REQ[$label]}" request
}

print_runs() {
	local label
	echo
	echo "kspan https nginx benchmark: ${BENCH_SECONDS}s per run; $(nproc) CPUs, kernel $(uname -r)"
	echo "wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS, keep-alive; nginx 1 worker (pid $WORKER), 2-byte body;"
	echo "https: $HTTPS_URL, http: $URL; kspan --pid worker, OTLP/HTTP protobuf to a sink that does not decode"
	for b in $(kspan_builds); do echo "  ${b%%=*}: ${b#*=}"; done
	echo
	printf '%-24s %9s %9s %7s %7s %5s %8s %8s %-12s %s\n' run requests req/s p50ms p99ms err \
		"us/span" "bpf_ns" "spans-req" drops
	for label in "${RUNS[@]}"; do
		printf '%-24s %9s %9s %7s %7s %5s %8s %8s %-12s %s\n' "$label" "${REQ[$label]}" \
			"${RPS[$label]}" "${P50[$label]}" "${P99[$label]}" "${ERR[$label]}" \
			"${CPU_US[$label]:--}" "${BPF_NS[$label]:--}" "${CHECK[$label]:--}" \
			"${DROPS[$label]:-}${STATE[$label]:+ (${STATE[$label]})}"
	done
}

us() {
	awk -v n="${1:-}" 'BEGIN { if (n ~ /^[0-9.]+$/) printf "%.3f", n / 1000; else print n }'
}

summarize() {
	local base b label
	base=$(mean "${RPS[https without]}" "${RPS[https without again]}")
	local -A v
	for b in $(kspan_builds); do
		label=${b%%=*}
		v[rps.$label]=${RPS[https pid $label]:-0}
		v[r.$label]=$(ratio "${RPS[https pid $label]:-0}" "$base")
		v[bpf.$label]=$(us "${BPF_NS[https pid $label]:-?}")
		v[hbpf.$label]=$(us "${BPF_NS[http pid $label]:-?}")
		v[rbpf.$label]=$(ratio "${BPF_NS[https pid $label]:-0}" "${BPF_NS[http pid $label]:-0}")
		v[cpu.$label]=${CPU_US[https pid $label]:-?}
		v[hcpu.$label]=${CPU_US[http pid $label]:-?}
		v[rcpu.$label]=$(ratio "${CPU_US[https pid $label]:-0}" "${CPU_US[http pid $label]:-0}")
		v[chk.$label]="${CHECK[https pid $label]:-?}; drops ${DROPS[https pid $label]:-?}"
	done
	result "3s" "nginx https req/s, kspan --pid worker (OpenSSL uprobes)" "$base" \
		"${v[rps.baseline]:-}" "${v[rps.kspan]}" "${v[r.kspan]}" "${v[r.baseline]:-}" "-"
	result "3s" "  spans - requests; drops" "-" "${v[chk.baseline]:-}" "${v[chk.kspan]}" "-" "" \
		"ok, none"
	result "3s" "BPF us per https request, uprobes included (ratio: / http)" "-" \
		"${v[bpf.baseline]:-}" "${v[bpf.kspan]}" "${v[rbpf.kspan]}" "${v[rbpf.baseline]:-}" "-"
	result "3s" "  the same worker's http port, BPF us per request" "-" \
		"${v[hbpf.baseline]:-}" "${v[hbpf.kspan]}" "-" "" "-"
	result "3s" "agent CPU per https span, us (ratio: / http)" "-" "${v[cpu.baseline]:-}" \
		"${v[cpu.kspan]}" "${v[rcpu.kspan]}" "${v[rcpu.baseline]:-}" "-"
	echo
	printf '%-58s %s\n' "saturating https, kspan --pid nginx / without:" "${v[r.kspan]}"
	printf '%-58s %s\n' "BPF time per request, https / http:" "${v[rbpf.kspan]}"
	printf '%-58s %s\n' "agent CPU per span, https / http:" "${v[rcpu.kspan]}"
	printf '%-58s %s\n' "noise: https without again / without:" \
		"$(ratio "${RPS[https without again]}" "${RPS[https without]}")"
}

main() {
	local b
	need_root
	command -v wrk >/dev/null || die "wrk not found: apt-get install wrk"
	check_kspan_builds
	start_nginx https
	start_sink
	note "nginx on $HTTPS_URL and $URL, OTLP sink on $SINK_URL"
	STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -q -w kernel.bpf_stats_enabled=1

	# Unreported warm-up: the first run after nginx starts is otherwise the slowest.
	BENCH_SECONDS=2 run_wrk "$TMP/warmup.out" "$HTTPS_URL" "$BENCH_THREADS" "$BENCH_CONNECTIONS"
	run_without "https without"
	for b in $(kspan_builds); do
		run_with "https pid ${b%%=*}" "${b#*=}" "$HTTPS_URL"
	done
	run_without "https without again"
	for b in $(kspan_builds); do
		run_with "http pid ${b%%=*}" "${b#*=}" "$URL"
	done
	print_runs
	summarize
	kept_or_removed
}

main "$@"
