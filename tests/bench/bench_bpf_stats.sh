#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench_bpf_stats.sh - BPF run time per program under a short nginx load, for
# one or more kspan binaries side by side (kernel.bpf_stats_enabled=1, read
# with bpftool): run count, total ns and ns per run of every kspan program
# that ran. A benchmark, not a test: it prints numbers and never judges them.
#
#   tests/bench/bench_bpf_stats.sh KSPAN [KSPAN...]
#
# Each kspan traces every process (`--exporter none`), while wrk (one
# thread, BENCH_CONNECTIONS connections, a `traceparent` header on every
# request, so the server side parses one) loads one nginx worker for
# BENCH_SECONDS. Holds /tmp/kspan.lock (tests/with_machine_lock.sh).
set -euo pipefail

BENCH_SECONDS=${BENCH_SECONDS:-5}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-4}
[ $# -ge 1 ] || { echo "usage: $0 KSPAN [KSPAN...]" >&2; exit 2; }
[ "${KSPAN_LOCK_HELD:-}" = 1 ] || KSPAN_LOCK_HELD=1 exec flock /tmp/kspan.lock "$0" "$@"

TMP=$(mktemp -d)
NGINX_PID=
KSPAN_PID=
cleanup() {
	[ -n "$KSPAN_PID" ] && kill -INT "$KSPAN_PID" 2>/dev/null && wait "$KSPAN_PID" 2>/dev/null
	[ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
	sysctl -q kernel.bpf_stats_enabled="${OLD_STATS:-0}"
	rm -rf "$TMP"
}
trap cleanup EXIT
OLD_STATS=$(sysctl -n kernel.bpf_stats_enabled)

PORT=$((20000 + RANDOM % 20000))
mkdir -p "$TMP/nginx"
cat >"$TMP/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	keepalive_requests 100000000;
	client_body_temp_path $TMP/nginx/client_body;
	proxy_temp_path $TMP/nginx/proxy;
	fastcgi_temp_path $TMP/nginx/fastcgi;
	uwsgi_temp_path $TMP/nginx/uwsgi;
	scgi_temp_path $TMP/nginx/scgi;
	server { listen 127.0.0.1:$PORT; location / { return 200 "ok"; } }
}
CONF
nginx -c "$TMP/nginx/nginx.conf" -g 'daemon off;' 2>>"$TMP/nginx/error.log" &
NGINX_PID=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done

sysctl -q kernel.bpf_stats_enabled=1
TP="traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
for k in "$@"; do
	"$k" --exporter none --metrics-addr "" 2>"$TMP/kspan.log" &
	KSPAN_PID=$!
	for _ in $(seq 100); do grep -q '^kspan: ready\|tracing' "$TMP/kspan.log" && break; sleep 0.2; done
	wrk -t1 -c"$BENCH_CONNECTIONS" -d"${BENCH_SECONDS}s" -H "$TP" "http://127.0.0.1:$PORT/" |
		sed -n 's/^Requests\/sec: */requests\/s: /p'
	echo "== $k: BPF run time per program (bpf_stats) =="
	bpftool prog show -j | python3 -c '
import json, sys
rows = [p for p in json.load(sys.stdin) if p.get("name", "").startswith("kspan") and p.get("run_cnt")]
print("%-26s %10s %12s %8s" % ("program", "runs", "ns total", "ns/run"))
for p in sorted(rows, key=lambda p: -p["run_time_ns"]):
    print("%-26s %10d %12d %8.0f" % (p["name"], p["run_cnt"], p["run_time_ns"], p["run_time_ns"] / p["run_cnt"]))
'
	kill -INT "$KSPAN_PID"
	wait "$KSPAN_PID" 2>/dev/null || true
	KSPAN_PID=
done
