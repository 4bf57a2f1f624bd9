#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench_propagation.sh - what trace propagation (traceparent insertion by
# sk_msg, same-node joining, in-process parenting) costs a proxy. A benchmark,
# not a test: it reports numbers and never judges them.
#
# One nginx worker proxies to an upstream server block of its own (keep-alive
# upstream connections, so nginx's upstream sockets sit in kspan's sockhash
# and every proxied request gets a traceparent). wrk saturates the proxy while
# kspan runs with --propagation off, then all, alternately, BENCH_ROUNDS
# times each (the machine is shared: alternation spreads its noise over both).
# Printed: requests/s and p99 latency of every run, and the ratios all/off of
# the medians. kspan traces only the two ports (--port) and exports nothing
# (--exporter none): the difference between the runs is propagation alone.
#
# Environment: BENCH_SECONDS (10), BENCH_ROUNDS (3), BENCH_CONNECTIONS (32),
# BENCH_THREADS (2), KSPAN (build/kspan). Needs root, nginx, wrk, curl.
set -euo pipefail

BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-32}
BENCH_THREADS=${BENCH_THREADS:-2}
KSPAN=${KSPAN:-build/kspan}
PYTHON=${PYTHON:-/usr/bin/python3}

TMP=$(mktemp -d /tmp/kspan-bench-prop.XXXXXX)
NGINX_PID='' KSPAN_PID=''

die() {
	echo "bench_propagation: $*" >&2
	exit 1
}

cleanup() {
	local pid
	for pid in $KSPAN_PID $NGINX_PID; do
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

PROXY_PORT=$(free_port)
UP_PORT=$(free_port)
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
	upstream up { server 127.0.0.1:$UP_PORT; keepalive 64; }
	server {
		listen 127.0.0.1:$PROXY_PORT;
		location / {
			proxy_pass http://up;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
	server {
		listen 127.0.0.1:$UP_PORT;
		location / { default_type text/plain; return 200 "ok\n"; }
	}
}
EOF
# nginx is started afresh for every run, after kspan: sockets connected before
# kspan started are never given a traceparent (sock_ops sees connect() only),
# and nginx would otherwise reuse the previous run's upstream connections.
start_nginx() {
	"$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" &
	NGINX_PID=$!
	for _ in $(seq 100); do
		curl -fsS -o /dev/null "http://127.0.0.1:$UP_PORT/" 2>/dev/null && return 0
		sleep 0.1
	done
	die "nginx did not start"
}

stop_nginx() {
	kill -TERM "$NGINX_PID"
	wait "$NGINX_PID" || true
	NGINX_PID=''
}

# --insert-despite-fionread: the cost of insertion is measured also where the
# kernel's FIONREAD regression makes kspan's default leave it off.
start_kspan() {
	"$KSPAN" --exporter none --port "$PROXY_PORT" --port "$UP_PORT" --propagation "$1" \
		--insert-despite-fionread \
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

# Sets INJECTED from kspan's final counters.
stop_kspan() {
	kill -INT "$KSPAN_PID"
	wait "$KSPAN_PID" || true
	KSPAN_PID=''
	INJECTED=$(grep -o "traceparent_injected=[0-9]*" "$TMP/kspan.err" | tail -1 || true)
}

# Prints "<requests/s> <p99 in ms>".
run_wrk() {
	wrk -t "$BENCH_THREADS" -c "$BENCH_CONNECTIONS" -d "${BENCH_SECONDS}s" --latency \
		"http://127.0.0.1:$PROXY_PORT/" >"$TMP/wrk.out"
	awk '/Requests\/sec:/ { rps = $2 }
	     $1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
	                   ms = (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : v }
	     END { printf "%s %.3f\n", rps, ms }' "$TMP/wrk.out"
}

echo "bench_propagation: nginx proxy -> upstream, wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS," \
	"${BENCH_SECONDS}s per run, $BENCH_ROUNDS rounds"
for round in $(seq "$BENCH_ROUNDS"); do
	for mode in off all; do
		start_kspan "$mode"
		start_nginx
		read -r rps p99 < <(run_wrk)
		stop_nginx
		stop_kspan
		printf '  round %d  --propagation %-3s  %10s req/s  p99 %8s ms  %s\n' \
			"$round" "$mode" "$rps" "$p99" "$INJECTED"
		echo "$mode $rps $p99" >>"$TMP/results"
	done
done
"$PYTHON" - "$TMP/results" <<'PY'
import statistics, sys
runs = {"off": [], "all": []}
for line in open(sys.argv[1]):
    mode, rps, p99 = line.split()
    runs[mode].append((float(rps), float(p99)))
med = {m: (statistics.median(r for r, _ in v), statistics.median(p for _, p in v))
       for m, v in runs.items()}
print("  median off: %.0f req/s, p99 %.3f ms; all: %.0f req/s, p99 %.3f ms"
      % (med["off"] + med["all"]))
print("  throughput ratio all/off: %.3f   p99 latency ratio all/off: %.3f"
      % (med["all"][0] / med["off"][0], med["all"][1] / med["off"][1]))
PY
