# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash
# shellcheck disable=SC2034 # R_*, K_EXIT: results the sourcing bench reads
#
# bench_lib.sh - what the target benchmarks share (sourced, not run): the
# kspan binaries under test, starting and stopping kspan and the local OTLP
# sink, wrk and its output, a process's CPU time, kspan's exit counters, the
# BPF run time of kspan's programs, and the result lines that
# bench_summary.sh turns into one table.
#
# Environment every bench honours:
#   KSPAN            the kspan under test (build/kspan)
#   KSPAN_BASELINE   a second kspan (an older build) run beside it, side by
#                    side in the same run; empty: none
#   BENCH_SECONDS    seconds of load per run (10)
#   BENCH_RESULTS    file that collects result lines for bench_summary.sh
#                    (none: results are only printed)
#   BENCH_KEEP=1     keep the temporary directory (raw outputs, kspan logs)
# The caller sets BENCH_NAME (prefix of messages) before sourcing.

KSPAN=${KSPAN:-build/kspan}
KSPAN_BASELINE=${KSPAN_BASELINE:-}
BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_RESULTS=${BENCH_RESULTS:-}
PYTHON=${PYTHON:-/usr/bin/python3}
KSPAN_READY_TIMEOUT=${KSPAN_READY_TIMEOUT:-60} # seconds to attach
KSPAN_EXIT_TIMEOUT=20                         # seconds to flush and exit after SIGINT
BENCH_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

TMP=$(mktemp -d "/tmp/kspan-bench-${BENCH_NAME}.XXXXXX")
KSPAN_PID='' SINK_PID='' NGINX_PID='' WORKER=''
BENCH_PIDS=() # everything else a bench started, stopped at exit

die() {
	echo "$BENCH_NAME: $*" >&2
	exit 1
}

note() {
	echo "$BENCH_NAME: $*" >&2
}

# Stops only what this bench started, by pid.
bench_cleanup() {
	local pid
	for pid in $KSPAN_PID "${BENCH_PIDS[@]}" $SINK_PID; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in $KSPAN_PID "${BENCH_PIDS[@]}" $SINK_PID; do
		wait "$pid" 2>/dev/null || true
	done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		note "kept $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

need_root() {
	[ "$(id -u)" = 0 ] || die "run as root: kspan loads BPF programs"
}

# The kspan builds of this run, as "label=binary" words: the baseline first.
kspan_builds() {
	[ -n "$KSPAN_BASELINE" ] && echo "baseline=$KSPAN_BASELINE"
	echo "kspan=$KSPAN"
}

check_kspan_builds() {
	local b
	for b in $(kspan_builds); do
		[ -x "${b#*=}" ] || die "${b#*=} not found (make, or set KSPAN / KSPAN_BASELINE)"
	done
	if pgrep -x kspan >/dev/null 2>&1; then
		note "warning: other kspan processes run ($(pgrep -x kspan | tr '\n' ' ')): they add their cost"
	fi
}

free_port() {
	"$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Waits until `curl URL` succeeds; $2 is the pid that must stay alive
# meanwhile. -k: an https URL's certificate is the bench's own, self-signed.
wait_http() {
	local url=$1 pid=$2
	for _ in $(seq 100); do
		curl -kfsS -o /dev/null "$url" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# The local OTLP/HTTP sink, in --no-decode mode: it answers every export and
# counts requests and bytes without parsing a span, so that its CPU does not
# compete with what is measured. kspan's spans_exported counts the spans.
start_sink() {
	"$PYTHON" "$BENCH_HERE/otlp_sink.py" --no-decode "$TMP/sink.port" 2>"$TMP/sink.stderr" &
	SINK_PID=$!
	for _ in $(seq 100); do
		[ -s "$TMP/sink.port" ] && break
		sleep 0.1
	done
	[ -s "$TMP/sink.port" ] || die "OTLP sink did not start: $(tail -3 "$TMP/sink.stderr")"
	SINK_URL=http://127.0.0.1:$(cat "$TMP/sink.port")
	wait_http "$SINK_URL/stats" "$SINK_PID" || die "OTLP sink does not answer"
}

# One field of the sink's /stats line (requests, bytes).
sink_stat() {
	curl -fsS "$SINK_URL/stats" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'
}

# One nginx worker answering "ok" on 127.0.0.1, keep-alive, no access log:
# sets URL, NGINX_PID and WORKER (the worker's pid). `start_nginx https`
# adds an https port to the same server, with a self-signed certificate made
# now (EC P-256, as a TLS 1.3 site would have): sets HTTPS_URL too.
start_nginx() {
	local tls_listen=''
	NGINX=$(command -v nginx || echo /usr/sbin/nginx)
	[ -x "$NGINX" ] || die "nginx not found: apt-get install nginx-light"
	NGINX_PORT=$(free_port)
	mkdir -p "$TMP/nginx"
	if [ "${1:-}" = https ]; then
		command -v openssl >/dev/null || die "openssl not found: apt-get install openssl"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
			-subj /CN=localhost -keyout "$TMP/nginx/key.pem" -out "$TMP/nginx/cert.pem" \
			>"$TMP/nginx/openssl.log" 2>&1 || die "openssl req failed: $(tail -3 "$TMP/nginx/openssl.log")"
		NGINX_TLS_PORT=$(free_port)
		tls_listen="listen 127.0.0.1:$NGINX_TLS_PORT ssl;
		ssl_certificate $TMP/nginx/cert.pem;
		ssl_certificate_key $TMP/nginx/key.pem;"
		HTTPS_URL=https://127.0.0.1:$NGINX_TLS_PORT/
	fi
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
		$tls_listen
		location / {
			return 200 "ok";
		}
	}
}
EOF
	"$NGINX" -c "$TMP/nginx/nginx.conf" -g 'daemon off;' 2>>"$TMP/nginx/error.log" &
	NGINX_PID=$!
	BENCH_PIDS+=("$NGINX_PID")
	URL=http://127.0.0.1:$NGINX_PORT/
	wait_http "$URL" "$NGINX_PID" ||
		die "nginx did not start: $(tail -3 "$TMP/nginx/error.log")"
	if [ -n "$tls_listen" ]; then
		wait_http "$HTTPS_URL" "$NGINX_PID" ||
			die "nginx does not answer https: $(tail -3 "$TMP/nginx/error.log")"
	fi
	WORKER=$(pgrep -P "$NGINX_PID" | head -n 1)
	[ -n "$WORKER" ] || die "no nginx worker process"
}

# ---- wrk -----------------------------------------------------------------------------------------
# Sets R_RPS, R_REQUESTS, R_P50, R_P99 (ms) and R_ERRORS.

# wrk prints latencies as 812.00us, 1.23ms or 1.05s.
to_ms() {
	awk '{ v = $1 + 0
		if ($1 ~ /us$/) v /= 1000; else if ($1 ~ /ms$/) v += 0;
		else if ($1 ~ /m$/) v *= 60000; else if ($1 ~ /s$/) v *= 1000;
		printf "%.2f\n", v }'
}

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

clear_results() {
	R_RPS='' R_REQUESTS='' R_P50='' R_P99='' R_ERRORS='' R_WRK_CPU=''
}

# run_wrk OUT URL THREADS CONNECTIONS [CPU]: CPU pins wrk (taskset -c).
# Also sets R_WRK_CPU: wrk's own CPU seconds (user + system), from the
# subshell's `times` (its children's), so that a run can tell whether the
# server or the load generator ran out of CPU.
run_wrk() {
	local out=$1 url=$2 threads=$3 connections=$4 cpu=${5:-}
	local pin=()
	[ -n "$cpu" ] && pin=(taskset -c "$cpu")
	(
		"${pin[@]}" wrk -t "$threads" -c "$connections" -d "${BENCH_SECONDS}s" --latency \
			"$url" >"$out" 2>&1 || note "wrk failed: $(tail -3 "$out")"
		times >"$out.times"
	)
	parse_wrk "$out"
	# times: the shell's "XmY.YYYs XmY.YYYs", then its children's.
	R_WRK_CPU=$(awk 'NR == 2 { t = 0
		for (i = 1; i <= 2; i++) { split($i, p, "m"); t += p[1] * 60 + p[2] }
		printf "%.3f\n", t }' "$out.times")
}

# CPU seconds a process has run (all its threads), from the scheduler's
# nanosecond clock (/proc/PID/schedstat), finer than cpu_seconds' ticks.
run_seconds() {
	local tid total=0 ns
	for tid in /proc/"$1"/task/*; do
		read -r ns _ <"$tid/schedstat" || continue
		total=$((total + ns))
	done
	awk -v t="$total" 'BEGIN { printf "%.6f\n", t / 1e9 }'
}

# ---- kspan ---------------------------------------------------------------------------------------

# utime + stime of a process (all its threads), in seconds.
cpu_seconds() {
	local fields
	fields=$(sed 's/.*) //' "/proc/$1/stat") || return 1
	echo "$fields" | awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f\n", ($12 + $13) / hz }'
}

# start_kspan BINARY LOG [ARGS...]: waits for "kspan: ready"; sets KSPAN_PID.
# KSPAN_CPU pins it (taskset -c); KSPAN_ENV adds environment words (gzip).
declare -A BACKEND_NOTED # "binary|backend line" -> 1 once printed

# note_backend BINARY LOG: the backend a kspan binary runs on, once per
# binary and backend.
note_backend() {
	local line
	line=$(grep -m1 '^kspan: backend ' "$2" || true)
	[ -z "$line" ] || [ -n "${BACKEND_NOTED[$1|$line]:-}" ] && return 0
	BACKEND_NOTED[$1|$line]=1
	note "$1: ${line#kspan: }"
}

start_kspan() {
	local bin=$1 log=$2
	shift 2
	local pin=()
	[ -n "${KSPAN_CPU:-}" ] && pin=(taskset -c "$KSPAN_CPU")
	# shellcheck disable=SC2086 # KSPAN_ENV is a list of NAME=VALUE words
	env ${KSPAN_ENV:-} "${pin[@]}" "$bin" "$@" 2>"$log" >/dev/null &
	KSPAN_PID=$!
	for _ in $(seq $((KSPAN_READY_TIMEOUT * 10))); do
		if grep -q '^kspan: ready' "$log"; then
			note_backend "$bin" "$log"
			return 0
		fi
		kill -0 "$KSPAN_PID" 2>/dev/null || break
		sleep 0.1
	done
	note "$bin did not become ready; last lines of its stderr:"
	tail -5 "$log" >&2
	stop_kspan
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
	grep '^kspan: counters' "$log" 2>/dev/null | tail -1 | tr ' ' '\n' |
		awk -F= -v k="$name" '$1 == k { v = $2 } END { print (v == "" ? "?" : v) }'
}

# The counters agent_stats_total_drops() sums (user/model/agent_stats.c):
# "name=value" for each that is not zero, or "none". Names an older build
# does not print are skipped.
DROP_COUNTERS="kernel_ringbuf_drops kernel_capture_faults kernel_inflight_full
kernel_conn_table_full http_pipeline_overflow requests_lost_to_gaps spans_export_dropped_queue
spans_export_failed spans_export_dropped_rejected spans_export_dropped_partial
spans_export_dropped_expired spans_export_dropped_shutdown spans_spool_dropped events_malformed
h2_streams_dropped h2_early_responses_expired requests_forgotten h2_streams_evicted
h2_stream_contexts_evicted"

drops_of() {
	local log=$1 name v out=''
	for name in $DROP_COUNTERS; do
		v=$(counter "$log" "$name")
		case $v in '?' | 0) continue ;; esac
		out="$out${out:+,}$name=$v"
	done
	echo "${out:-none}"
}

# The name of BPF program ID (bpftool), or the ID.
prog_name() {
	bpftool prog show id "$1" 2>/dev/null | awk -F'name ' 'NR == 1 && NF > 1 { split($2, w, " ");
		print w[1]; found = 1 } END { if (!found) print "" }' | grep . || echo "id$1"
}

# Per program: "id ns cnt" lines (run_time_ns, run_cnt) of the BPF programs
# process $1 holds (/proc/PID/fdinfo; each program once, by prog_id; a link's
# fdinfo names its program too, without the counters, and is skipped), for the
# breakdown of where the time goes. Needs kernel.bpf_stats_enabled=1 for the
# figures to move. kspan opens and closes files of its own all the time
# (/proc reads): an fd listed by the glob may be gone when awk opens it, which
# must not fail the pipeline (and with it, under set -e, the whole bench).
bpf_run_per_prog() {
	local f
	for f in /proc/"$1"/fdinfo/*; do
		awk '$1 == "prog_id:" { id = $2 } $1 == "run_time_ns:" { ns = $2 }
			$1 == "run_cnt:" { cnt = $2 }
			END { if (id != "" && cnt != "") print id, ns + 0, cnt + 0 }' "$f" 2>/dev/null ||
			true
	done | sort -u -k1,1
}

# "id name" lines of the programs in a bpf_run_per_prog snapshot, read while
# they are loaded: prog_names SNAPSHOT >NAMES.
prog_names() {
	local id
	while read -r id _; do
		echo "$id $(prog_name "$id")"
	done <"$1"
}

# BPF ns per UNIT between two bpf_run_per_prog snapshots, all programs:
# bpf_ns_per BEFORE AFTER N (N units; "?" without any).
bpf_ns_per() {
	join "$1" "$2" | awk -v n="$3" '{ d += $4 - $2 } END { if (n > 0) printf "%.0f", d / n;
		else print "?" }'
}

# Where the BPF time goes: every program that ran between the snapshots,
# with its runs and ns per UNIT: print_prog_split BEFORE AFTER NAMES N UNIT.
print_prog_split() {
	local id cnt ns
	join "$1" "$2" |
		awk -v n="$4" 'n > 0 && $5 > $3 { printf "%s %.2f %.0f\n", $1, ($5 - $3) / n,
			($4 - $2) / n }' | sort -k3,3nr |
		while read -r id cnt ns; do
			printf '    %-40s %8s runs %8s ns per %s\n' \
				"$(awk -v i="$id" '$1 == i { print $2 }' "$3")" "$cnt" "$ns" "$5"
		done
}

# ---- arithmetic and results ----------------------------------------------------------------------

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.3f", a / b; else print "?" }'
}

mean() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) print (a + b) / 2; else if (a > 0) print a;
		else print b + 0 }'
}

# result TARGET MEASURE WITHOUT BASELINE_KSPAN KSPAN RATIO BASELINE_RATIO GOAL
# One row of the summary table (bench_summary.sh); "-" for a cell that has no
# meaning, "" for the baseline columns when there is no KSPAN_BASELINE.
result() {
	local line
	line=$(printf '%s|' "$@")
	[ -n "$BENCH_RESULTS" ] && echo "${line%|}" >>"$BENCH_RESULTS"
	return 0
}

kept_or_removed() {
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "raw outputs and kspan logs: $TMP"
	else
		echo "raw outputs and kspan logs: removed (BENCH_KEEP=1 keeps them)"
	fi
}
