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
# Environment: bench_lib.sh's (KSPAN, BENCH_SECONDS, BENCH_KEEP),
# BENCH_ROUNDS (3), BENCH_CONNECTIONS (32), BENCH_THREADS (2). Needs root,
# nginx, wrk, curl.
set -euo pipefail
BENCH_NAME=bench_propagation
# shellcheck source=tests/bench/bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-32}
BENCH_THREADS=${BENCH_THREADS:-2}

need_root
command -v wrk >/dev/null || die "wrk not found: apt-get install wrk"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || die "nginx not found: apt-get install nginx-light"
[ -x "$KSPAN" ] || die "$KSPAN not built: make"

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
# (bench_lib.sh's start_nginx serves one port; this proxy needs its own.)
start_proxy() {
	"$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" &
	NGINX_PID=$!
	wait_http "http://127.0.0.1:$UP_PORT/" "$NGINX_PID" || die "nginx did not start"
}

stop_proxy() {
	kill -TERM "$NGINX_PID"
	wait "$NGINX_PID" || true
	NGINX_PID=''
}

echo "bench_propagation: nginx proxy -> upstream, wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS," \
	"${BENCH_SECONDS}s per run, $BENCH_ROUNDS rounds"
for round in $(seq "$BENCH_ROUNDS"); do
	for mode in off all; do
		log=$TMP/kspan-$round-$mode.err
		# --insert-despite-fionread: the cost of insertion is measured
		# also where the kernel's FIONREAD regression makes kspan's
		# default leave it off.
		start_kspan "$KSPAN" "$log" --exporter none --port "$PROXY_PORT" --port "$UP_PORT" \
			--propagation "$mode" --insert-despite-fionread || die "kspan did not start"
		start_proxy
		run_wrk "$TMP/wrk.out" "http://127.0.0.1:$PROXY_PORT/" "$BENCH_THREADS" \
			"$BENCH_CONNECTIONS"
		stop_proxy
		stop_kspan
		printf '  round %d  --propagation %-3s  %10s req/s  p99 %8s ms  traceparent_injected=%s\n' \
			"$round" "$mode" "$R_RPS" "$R_P99" "$(counter "$log" traceparent_injected)"
		echo "$mode $R_RPS $R_P99" >>"$TMP/results"
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
