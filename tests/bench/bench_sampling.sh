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
# run: requests, kspan's CPU seconds (utime+stime from /proc/PID/stat, load
# phase only) and CPU seconds per 100k requests, spans the sink received and
# kspan's spans_sampled_out; then the medians per ratio.
#
# Environment: BENCH_SECONDS (5), BENCH_ROUNDS (1), BENCH_CONNECTIONS (16),
# BENCH_THREADS (2), KSPAN (build/kspan). Needs root, nginx, wrk, curl.
set -euo pipefail

BENCH_SECONDS=${BENCH_SECONDS:-5}
BENCH_ROUNDS=${BENCH_ROUNDS:-1}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-16}
BENCH_THREADS=${BENCH_THREADS:-2}
KSPAN=${KSPAN:-build/kspan}
PYTHON=${PYTHON:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)

TMP=$(mktemp -d /tmp/kspan-bench-sampling.XXXXXX)
NGINX_PID='' KSPAN_PID='' SINK_PID=''

die() {
	echo "bench_sampling: $*" >&2
	exit 1
}

cleanup() {
	local pid
	for pid in $KSPAN_PID $NGINX_PID $SINK_PID; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || die "run as root: kspan loads BPF programs"
command -v wrk >/dev/null || die "wrk not found: apt-get install wrk"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || die "nginx not found: apt-get install nginx-light"
[ -x "$KSPAN" ] || die "$KSPAN not built: make"

free_port() {
	"$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

wait_http() {
	local url=$1 pid=$2
	for _ in $(seq 100); do
		curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# utime + stime of a process, in seconds.
cpu_seconds() {
	sed 's/.*) //' "/proc/$1/stat" |
		awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($12 + $13) / hz }'
}

PORT=$(free_port)
mkdir -p "$TMP/nginx"
cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $TMP/nginx/body;
	proxy_temp_path $TMP/nginx/proxy;
	fastcgi_temp_path $TMP/nginx/fastcgi;
	uwsgi_temp_path $TMP/nginx/uwsgi;
	scgi_temp_path $TMP/nginx/scgi;
	server {
		listen 127.0.0.1:$PORT;
		location / { default_type text/plain; return 200 "ok\n"; }
	}
}
EOF
"$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" &
NGINX_PID=$!
wait_http "http://127.0.0.1:$PORT/" "$NGINX_PID" || die "nginx did not start"

"$PYTHON" "$HERE/otlp_sink.py" "$TMP/sink.port" 2>"$TMP/sink.stderr" &
SINK_PID=$!
for _ in $(seq 100); do
	[ -s "$TMP/sink.port" ] && break
	sleep 0.1
done
[ -s "$TMP/sink.port" ] || die "OTLP sink did not start: $(tail -3 "$TMP/sink.stderr")"
SINK_URL=http://127.0.0.1:$(cat "$TMP/sink.port")
wait_http "$SINK_URL/stats" "$SINK_PID" || die "OTLP sink does not answer"

sink_spans() {
	curl -fsS "$SINK_URL/stats" | sed -n 's/.*spans=\([0-9]*\).*/\1/p'
}

start_kspan() {
	OTEL_TRACES_SAMPLER=traceidratio OTEL_TRACES_SAMPLER_ARG=$1 OTEL_BSP_SCHEDULE_DELAY=200 \
		OTEL_BSP_MAX_QUEUE_SIZE=200000 \
		"$KSPAN" --otlp-endpoint "$SINK_URL" --port "$PORT" --metrics-addr "" \
		>"$TMP/kspan.out" 2>"$TMP/kspan.err" &
	KSPAN_PID=$!
	for _ in $(seq 300); do
		grep -q "kspan: ready" "$TMP/kspan.err" && return 0
		kill -0 "$KSPAN_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$TMP/kspan.err" >&2
	die "kspan did not start"
}

# Sets SAMPLED_OUT from kspan's final counters.
stop_kspan() {
	kill -INT "$KSPAN_PID"
	wait "$KSPAN_PID" || true
	KSPAN_PID=''
	SAMPLED_OUT=$(grep -o "spans_sampled_out=[0-9]*" "$TMP/kspan.err" | tail -1 | cut -d= -f2)
}

echo "bench_sampling: nginx, wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS, ${BENCH_SECONDS}s per run," \
	"$BENCH_ROUNDS rounds; $(nproc) CPUs, kernel $(uname -r)"
for round in $(seq "$BENCH_ROUNDS"); do
	for ratio in 1.0 0.1; do
		start_kspan "$ratio"
		spans_before=$(sink_spans)
		cpu_before=$(cpu_seconds "$KSPAN_PID")
		wrk -t "$BENCH_THREADS" -c "$BENCH_CONNECTIONS" -d "${BENCH_SECONDS}s" \
			"http://127.0.0.1:$PORT/" >"$TMP/wrk.out"
		cpu_after=$(cpu_seconds "$KSPAN_PID")
		requests=$(awk '/requests in/ { print $1 }' "$TMP/wrk.out")
		sleep 1 # the last batches reach the sink
		stop_kspan
		spans=$(($(sink_spans) - spans_before))
		cpu=$(awk -v a="$cpu_before" -v b="$cpu_after" 'BEGIN { printf "%.2f", b - a }')
		per100k=$(awk -v c="$cpu" -v n="$requests" \
			'BEGIN { printf "%.3f", (n > 0 ? c * 100000 / n : 0) }')
		printf '  round %d  ratio %-3s  %9s requests  kspan CPU %6s s  %7s s/100k requests' \
			"$round" "$ratio" "$requests" "$cpu" "$per100k"
		printf '  spans exported %8s  sampled out %8s\n' "$spans" "${SAMPLED_OUT:-?}"
		echo "$ratio $per100k" >>"$TMP/results"
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
