#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench_nginx.sh - what kspan costs an nginx under load. A benchmark, not a test:
# it reports numbers and never judges them.
#
# Runs, each BENCH_SECONDS long, against one nginx worker answering "ok":
#   (a) wrk, saturating, without kspan
#   (b) the same with `kspan --exporter otlp` sending to a local counting sink
#   (c) (a) again, to show how noisy the machine is
#   (d) hey at a fixed BENCH_RATE req/s without kspan, (e) the same with kspan
#   (f) (b) with kspan tracing only the nginx worker (--pid), as on a node
#       whose load comes from elsewhere: wrk's own syscalls then cost little
# and prints requests/s, the with/without ratio, kspan's CPU seconds per 100k
# requests (utime+stime from /proc/PID/stat, load phase only), its peak RSS
# (VmHWM), the drop counters of its final "kspan: counters" line, and the
# spans the sink received. kspan is started afresh for (b) and (e) so that
# every number belongs to one load pattern.
#
# Environment: BENCH_SECONDS (10), BENCH_CONNECTIONS (32), BENCH_THREADS (2),
# BENCH_RATE (5000), BENCH_RATE_WORKERS (10: hey paces each worker, and fewer than
# about ten fall short of 5000 req/s here), KSPAN (build/kspan), KSPAN_ARGS (extra
# agent options, e.g. "--port N"; by default kspan traces every process, wrk
# and hey included), BENCH_KEEP=1 keeps the temporary directory.
# Needs root (kspan loads BPF programs), nginx, wrk, curl, python3; hey for
# (d) and (e) (Debian package hey: wrk cannot hold a fixed rate, and wrk2 is
# not packaged), without it a light wrk run (-c 4 -t 1) stands in.
set -euo pipefail

BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-32}
BENCH_THREADS=${BENCH_THREADS:-2}
BENCH_RATE=${BENCH_RATE:-5000}
BENCH_RATE_WORKERS=${BENCH_RATE_WORKERS:-10}
KSPAN=${KSPAN:-build/kspan}
KSPAN_ARGS=${KSPAN_ARGS:-}
PYTHON=${PYTHON:-/usr/bin/python3}
KSPAN_READY_TIMEOUT=30 # seconds to attach
KSPAN_EXIT_TIMEOUT=20  # seconds to flush and exit after SIGINT

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TMP=$(mktemp -d /tmp/kspan-bench.XXXXXX)
NGINX_PID='' SINK_PID='' KSPAN_PID=''
FAILED=0

die() {
	echo "bench_nginx: $*" >&2
	exit 1
}

note() {
	echo "bench_nginx: $*" >&2
}

# Stops only what this script started, by pid.
cleanup() {
	local pid
	for pid in $KSPAN_PID $NGINX_PID $SINK_PID; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in $KSPAN_PID $NGINX_PID $SINK_PID; do
		wait "$pid" 2>/dev/null || true
	done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		note "kept $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- setup ---------------------------------------------------------------------------------------

check_tools() {
	[ "$(id -u)" = 0 ] || die "run as root: kspan loads BPF programs"
	NGINX=$(command -v nginx || echo /usr/sbin/nginx)
	[ -x "$NGINX" ] || die "nginx not found: apt-get install nginx-light"
	command -v wrk >/dev/null || die "wrk not found: apt-get install wrk"
	command -v curl >/dev/null || die "curl not found: apt-get install curl"
	[ -x "$PYTHON" ] || die "$PYTHON not found: apt-get install python3"
	HEY=$(command -v hey || true)
	# Another agent tracing the same syscalls would add its cost to every run.
	if pgrep -x kspan >/dev/null 2>&1; then
		note "warning: other kspan processes are running ($(pgrep -x kspan | tr '\n' ' '))"
	fi
	[ -n "$HEY" ] || note "hey not found (apt-get install hey): fixed-rate runs use wrk -t1 -c4"
}

free_port() {
	"$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Waits until `curl URL` succeeds; $2 is the pid that must stay alive meanwhile.
wait_http() {
	local url=$1 pid=$2
	for _ in $(seq 100); do
		curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

start_nginx() {
	NGINX_PORT=$(free_port)
	mkdir -p "$TMP/nginx"
	cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events {
	worker_connections 4096;
}
http {
	access_log off;
	default_type text/plain;
	keepalive_timeout 75s;
	keepalive_requests 100000000;
	client_body_temp_path $TMP/nginx/client_body;
	proxy_temp_path $TMP/nginx/proxy;
	fastcgi_temp_path $TMP/nginx/fastcgi;
	uwsgi_temp_path $TMP/nginx/uwsgi;
	scgi_temp_path $TMP/nginx/scgi;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		location / {
			return 200 "ok";
		}
	}
}
EOF
	"$NGINX" -c "$TMP/nginx/nginx.conf" -g 'daemon off;' 2>>"$TMP/nginx/error.log" &
	NGINX_PID=$!
	URL=http://127.0.0.1:$NGINX_PORT/
	wait_http "$URL" "$NGINX_PID" ||
		die "nginx did not start: $(tail -3 "$TMP/nginx/error.log")"
}

start_sink() {
	"$PYTHON" "$HERE/otlp_sink.py" "$TMP/sink.port" 2>"$TMP/sink.stderr" &
	SINK_PID=$!

	for _ in $(seq 100); do
		[ -s "$TMP/sink.port" ] && break
		sleep 0.1
	done
	[ -s "$TMP/sink.port" ] || die "OTLP sink did not start: $(tail -3 "$TMP/sink.stderr")"
	SINK_URL=http://127.0.0.1:$(cat "$TMP/sink.port")
	wait_http "$SINK_URL/stats" "$SINK_PID" || die "OTLP sink does not answer"
}

sink_spans() {
	curl -fsS "$SINK_URL/stats" | sed -n 's/.*spans=\([0-9]*\).*/\1/p'
}

# ---- load generators -----------------------------------------------------------------------------
# Each sets R_RPS, R_REQUESTS, R_P50, R_P99 (ms) and R_ERRORS for the summary.

parse_wrk() {
	local out=$1
	R_RPS=$(awk '/^Requests\/sec:/ { printf "%.1f\n", $2 }' "$out")
	R_REQUESTS=$(awk '/ requests in / { print $1 }' "$out")
	R_P50=$(awk '$1 == "50%" { print $2 }' "$out" | to_ms)
	R_P99=$(awk '$1 == "99%" { print $2 }' "$out" | to_ms)
	R_ERRORS=$(awk '/Non-2xx or 3xx responses:/ { n += $NF }
		/Socket errors:/ { for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i }
		END { print n + 0 }' "$out")
}

# wrk prints latencies as 812.00us, 1.23ms or 1.05s.
to_ms() {
	awk '{ v = $1 + 0
		if ($1 ~ /us$/) v /= 1000; else if ($1 ~ /ms$/) v += 0;
		else if ($1 ~ /m$/) v *= 60000; else if ($1 ~ /s$/) v *= 1000;
		printf "%.2f\n", v }'
}

run_wrk() {
	local out=$1 threads=$2 connections=$3
	wrk -t "$threads" -c "$connections" -d "${BENCH_SECONDS}s" --latency "$URL" >"$out" 2>&1 ||
		note "wrk failed: $(tail -3 "$out")"
	parse_wrk "$out"
}

run_fixed_rate() {
	local out=$1
	if [ -z "$HEY" ]; then
		run_wrk "$out" 1 4
		return
	fi
	local per_worker=$((BENCH_RATE / BENCH_RATE_WORKERS))
	"$HEY" -z "${BENCH_SECONDS}s" -c "$BENCH_RATE_WORKERS" -q "$per_worker" "$URL" \
		>"$out" 2>&1 || note "hey failed: $(tail -3 "$out")"
	# Status lines read "  [200]	49339 responses"; error lines "  [12]	Get ...".
	R_RPS=$(awk '/Requests\/sec:/ { printf "%.1f\n", $2 }' "$out")
	R_REQUESTS=$(awk '/^ *\[[0-9]+\][ \t]+[0-9]+ responses/ { n += $2 }
		END { print n + 0 }' "$out")
	R_P50=$(awk '$1 == "50%" && $2 == "in" { printf "%.2f\n", $3 * 1000 }' "$out")
	R_P99=$(awk '$1 == "99%" && $2 == "in" { printf "%.2f\n", $3 * 1000 }' "$out")
	R_ERRORS=$(awk '/^ *\[[0-9]+\][ \t]+[0-9]+ responses/ { if ($1 != "[200]") n += $2 }
		/^Error distribution:/ { e = 1; next }
		e && /^ *\[[0-9]+\]/ { gsub(/[\[\]]/, "", $1); n += $1 }
		END { print n + 0 }' "$out")
}

clear_results() {
	R_RPS='' R_REQUESTS='' R_P50='' R_P99='' R_ERRORS=''
}

# ---- kspan ---------------------------------------------------------------------------------------

# utime + stime of a process, in seconds.
cpu_seconds() {
	local fields
	fields=$(sed 's/.*) //' "/proc/$1/stat") || return 1
	echo "$fields" | awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($12 + $13) / hz }'
}

start_kspan() {
	local log=$1
	# shellcheck disable=SC2086 # KSPAN_ARGS is a list of options
	"$KSPAN" --exporter otlp --otlp-endpoint "$SINK_URL" $KSPAN_ARGS 2>"$log" >/dev/null &
	KSPAN_PID=$!
	for _ in $(seq $((KSPAN_READY_TIMEOUT * 10))); do
		grep -q '^kspan: ready' "$log" && return 0
		kill -0 "$KSPAN_PID" 2>/dev/null || break
		sleep 0.1
	done
	note "kspan did not become ready; last lines of its stderr:"
	tail -5 "$log" >&2
	stop_kspan >/dev/null
	return 1
}

# SIGINT asks kspan to flush and print its counters; sets K_EXIT.
stop_kspan() {
	local tenths=$((KSPAN_EXIT_TIMEOUT * 10))
	kill -INT "$KSPAN_PID" 2>/dev/null || true
	while [ "$tenths" -gt 0 ] && kill -0 "$KSPAN_PID" 2>/dev/null; do
		sleep 0.1
		tenths=$((tenths - 1))
	done
	if kill -0 "$KSPAN_PID" 2>/dev/null; then
		note "kspan did not exit ${KSPAN_EXIT_TIMEOUT}s after SIGINT: killed"
		kill -KILL "$KSPAN_PID" 2>/dev/null || true
	fi
	K_EXIT=0
	wait "$KSPAN_PID" 2>/dev/null || K_EXIT=$?
	KSPAN_PID=
}

# One counter of the final "kspan: counters name=value ..." line, or "?".
counter() {
	local log=$1 name=$2
	grep '^kspan: counters' "$log" | tail -1 | tr ' ' '\n' |
		awk -F= -v k="$name" '$1 == k { v = $2 } END { print (v == "" ? "?" : v) }'
}

# Names in the counters lines of the given logs, in order, each once.
counter_names() {
	cat "$@" | grep '^kspan: counters' | tr ' ' '\n' |
		awk -F= 'NF == 2 && !seen[$1]++ { print $1 }'
}

# Runs one load phase under a fresh kspan; fills K_* for column $1.
measure_with_kspan() {
	local col=$1 load=$2 out=$3 log="$TMP/kspan-$1.stderr" spans_before cpu_before
	spans_before=$(sink_spans)
	if ! start_kspan "$log"; then
		FAILED=1
		K_STATE[$col]="did not start"
		return 1
	fi
	cpu_before=$(cpu_seconds "$KSPAN_PID")
	"$load" "$out"
	K_CPU[$col]=$(awk -v a="$cpu_before" -v b="$(cpu_seconds "$KSPAN_PID")" \
		'BEGIN { printf "%.2f", b - a }')
	K_RSS[$col]=$(awk '/^VmHWM:/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$KSPAN_PID/status")
	stop_kspan
	K_STATE[$col]="exit $K_EXIT"
	[ "$K_EXIT" = 0 ] || FAILED=1
	grep -q '^kspan: counters' "$log" || note "kspan printed no counters line (see $log)"
	K_REQUESTS[$col]=$R_REQUESTS
	K_PER100K[$col]=$(awk -v c="${K_CPU[$col]}" -v n="$R_REQUESTS" \
		'BEGIN { if (n > 0) printf "%.3f", c * 100000 / n; else print "?" }')
	K_LOG[$col]=$log
	K_SINK[$col]=$(($(sink_spans) - spans_before))
}

saturating_load() { run_wrk "$1" "$BENCH_THREADS" "$BENCH_CONNECTIONS"; }
fixed_rate_load() { run_fixed_rate "$1"; }

# ---- report --------------------------------------------------------------------------------------

declare -A ROW RPS K_STATE K_CPU K_RSS K_REQUESTS K_PER100K K_LOG K_SINK
ROWS=()

record_row() {
	ROWS+=("$1")
	ROW[$1]=$(printf '%-34s %10s %10s %8s %8s %7s' "$1" "${R_REQUESTS:-?}" "${R_RPS:-?}" \
		"${R_P50:-?}" "${R_P99:-?}" "${R_ERRORS:-?}")
	RPS[$1]=${R_RPS:-0}
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.3f", a / b; else print "?" }'
}

print_kspan_row() {
	local label=$1 b=$2 e=$3 f=$4
	printf '%-34s %18s %18s %18s\n' "$label" "$b" "$e" "$f"
}

print_summary() {
	local a="(a) wrk, no kspan" b="(b) wrk, kspan otlp" c="(c) wrk, no kspan (again)"
	local d="(d) $RATE_LABEL, no kspan" e="(e) $RATE_LABEL, kspan otlp"
	local f="(f) wrk, kspan otlp --pid nginx"
	local baseline
	baseline=$(awk -v x="${RPS[$a]}" -v y="${RPS[$c]}" 'BEGIN { print (x + y) / 2 }')

	echo
	echo "kspan nginx benchmark: ${BENCH_SECONDS}s per run; $(nproc) CPUs, kernel $(uname -r)"
	echo "wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS; nginx 1 worker, keep-alive, 2-byte body"
	echo
	printf '%-34s %10s %10s %8s %8s %7s\n' run requests req/s "p50 ms" "p99 ms" errors
	local row
	for row in "${ROWS[@]}"; do
		echo "${ROW[$row]}"
	done
	echo
	printf '%-52s %s\n' "saturating, with kspan / without (mean of a and c):" \
		"$(ratio "${RPS[$b]:-0}" "$baseline")"
	printf '%-52s %s\n' "saturating, kspan --pid nginx / without, (f):" \
		"$(ratio "${RPS[$f]:-0}" "$baseline")"
	printf '%-52s %s\n' "noise, (c) / (a):" "$(ratio "${RPS[$c]}" "${RPS[$a]}")"
	printf '%-52s %s\n' "fixed rate, with kspan / without, (e) / (d):" \
		"$(ratio "${RPS[$e]:-0}" "${RPS[$d]}")"
	echo
	print_kspan_row "kspan" "(b) saturating" "(e) fixed rate" "(f) --pid nginx"
	print_kspan_row "state" "${K_STATE[b]:-not run}" "${K_STATE[e]:-not run}" \
		"${K_STATE[f]:-not run}"
	print_kspan_row "requests during the run" "${K_REQUESTS[b]:-?}" "${K_REQUESTS[e]:-?}" \
		"${K_REQUESTS[f]:-?}"
	print_kspan_row "CPU seconds (utime+stime)" "${K_CPU[b]:-?}" "${K_CPU[e]:-?}" "${K_CPU[f]:-?}"
	print_kspan_row "CPU seconds per 100k requests" "${K_PER100K[b]:-?}" "${K_PER100K[e]:-?}" \
		"${K_PER100K[f]:-?}"
	print_kspan_row "max RSS (VmHWM)" "${K_RSS[b]:-?}" "${K_RSS[e]:-?}" "${K_RSS[f]:-?}"
	local name lb le lf vb ve vf
	lb=${K_LOG[b]:-/dev/null} le=${K_LOG[e]:-/dev/null} lf=${K_LOG[f]:-/dev/null}
	for name in kernel_ringbuf_drops spans_export_dropped_queue spans_created spans_exported; do
		print_kspan_row "$name" "$(counter "$lb" "$name")" "$(counter "$le" "$name")" \
			"$(counter "$lf" "$name")"
	done
	print_kspan_row "spans received by the sink" "${K_SINK[b]:-?}" "${K_SINK[e]:-?}" \
		"${K_SINK[f]:-?}"
	# Every other counter kspan reported as non-zero, whatever its name.
	for name in $(counter_names "$lb" "$le" "$lf"); do
		case $name in
		kernel_ringbuf_drops | spans_export_dropped_queue | spans_created | spans_exported)
			continue
			;;
		esac
		vb=$(counter "$lb" "$name") ve=$(counter "$le" "$name") vf=$(counter "$lf" "$name")
		case "$vb$ve$vf" in
		000 | *'?'*'?'*) continue ;;
		esac
		print_kspan_row "$name" "$vb" "$ve" "$vf"
	done
	echo
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "raw outputs and kspan logs: $TMP"
	else
		echo "raw outputs and kspan logs: removed (BENCH_KEEP=1 keeps them)"
	fi
}

# ---- main ----------------------------------------------------------------------------------------

main() {
	check_tools
	[ -x "$KSPAN" ] || {
		note "$KSPAN not found (run make): only the runs without kspan"
		FAILED=1
	}
	start_nginx
	start_sink
	if [ -n "$HEY" ]; then
		RATE_LABEL="hey ${BENCH_RATE}/s"
	else
		RATE_LABEL="wrk -t1 -c4"
	fi
	note "nginx on $URL, OTLP sink on $SINK_URL; $((BENCH_SECONDS * 6 + 2))s of load follow"

	# Unreported warm-up: the first run after nginx starts is otherwise the slowest.
	BENCH_SECONDS=2 saturating_load "$TMP/warmup.out"
	saturating_load "$TMP/a.out"
	record_row "(a) wrk, no kspan"
	clear_results
	if [ -x "$KSPAN" ]; then
		measure_with_kspan b saturating_load "$TMP/b.out" || true
	fi
	record_row "(b) wrk, kspan otlp"
	saturating_load "$TMP/c.out"
	record_row "(c) wrk, no kspan (again)"
	fixed_rate_load "$TMP/d.out"
	record_row "(d) $RATE_LABEL, no kspan"
	clear_results
	if [ -x "$KSPAN" ]; then
		measure_with_kspan e fixed_rate_load "$TMP/e.out" || true
	fi
	record_row "(e) $RATE_LABEL, kspan otlp"
	clear_results
	if [ -x "$KSPAN" ]; then
		local worker
		worker=$(pgrep -P "$NGINX_PID" | head -n 1)
		KSPAN_ARGS="$KSPAN_ARGS --pid $worker" measure_with_kspan f saturating_load \
			"$TMP/f.out" || true
	fi
	record_row "(f) wrk, kspan otlp --pid nginx"

	print_summary
	return $FAILED
}

main "$@"
