#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench_metrics.sh - kspan's CPU per 100k requests with the span metrics on
# and off (--no-span-metrics). A benchmark, not a test: it prints numbers and
# never judges them. One nginx worker answers "ok"; hey sends BENCH_REQUESTS
# keep-alive requests (BENCH_CONNECTIONS at once) while kspan traces the
# nginx port with no span exporter (--exporter none), so that what differs
# between the runs is the metrics stage. CPU is utime+stime of kspan from
# /proc/PID/stat over the load phase. Runs alternate (off, on, off, on) to
# show how noisy the machine is.
#
# Environment: BENCH_REQUESTS (100000), BENCH_CONNECTIONS (8), BENCH_ROUNDS (2),
# KSPAN (build/kspan). Needs root, nginx, hey. Hold /tmp/kspan.lock
# (tests/with_machine_lock.sh tests/bench/bench_metrics.sh).
set -euo pipefail

BENCH_REQUESTS=${BENCH_REQUESTS:-100000}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-8}
BENCH_ROUNDS=${BENCH_ROUNDS:-2}
KSPAN=${KSPAN:-build/kspan}
TICKS=$(getconf CLK_TCK)

dir=$(mktemp -d /tmp/kspan-bench-metrics.XXXXXX)
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  server { listen 127.0.0.1:$port; location / { return 200 "ok\n"; } }
}
CONF
nginx -c "$dir/nginx.conf" -p "$dir" &
nginx_pid=$!
trap 'kill $nginx_pid 2>/dev/null; [ -n "${kspan_pid:-}" ] && kill $kspan_pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run() { # $1: label, rest: kspan options
	local label=$1
	shift
	"$KSPAN" --exporter none --port "$port" --metrics-addr 127.0.0.1:0 "$@" 2>"$dir/kspan.log" &
	kspan_pid=$!
	for _ in $(seq 300); do grep -q "kspan: ready" "$dir/kspan.log" && break; sleep 0.1; done
	local before after
	before=$(cpu_ticks $kspan_pid)
	hey -n "$BENCH_REQUESTS" -c "$BENCH_CONNECTIONS" "http://127.0.0.1:$port/" >"$dir/hey.out"
	sleep 1 # the ring buffer drained
	after=$(cpu_ticks $kspan_pid)
	kill -INT $kspan_pid
	wait $kspan_pid || true
	kspan_pid=
	local spans
	spans=$(grep -o 'spans_created=[0-9]*' "$dir/kspan.log" | tail -1)
	awk -v l="$label" -v t=$((after - before)) -v hz="$TICKS" -v n="$BENCH_REQUESTS" -v s="$spans" \
		'BEGIN { printf "%-12s %.2f CPU s per 100k requests (%s)\n", l, t / hz * 100000 / n, s }'
	grep -E "Requests/sec" "$dir/hey.out" | sed 's/^/             /'
}

for _ in $(seq "$BENCH_ROUNDS"); do
	run "metrics off" --no-span-metrics
	run "metrics on"
done
