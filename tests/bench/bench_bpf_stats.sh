#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench_bpf_stats.sh - BPF run time per HTTP/1.1 keep-alive request, per
# program, from kernel.bpf_stats_enabled (run_time_ns and run_cnt of every
# kspan_* program, read with bpftool before and after a short wrk load
# against one nginx worker). A benchmark, not a test: it reports numbers and
# never judges them.
#
# Two phases, each under a fresh kspan (--exporter none, so that only the
# kernel side and the ring reader run):
#   server: kspan --pid <nginx worker>: the server side (read + write)
#   all:    every process traced: both sides (nginx and wrk)
# The client side is about all - server. Every program's run time counts,
# including its runs for processes the filter rejects (that is its cost).
# Other load on the machine adds runs too: compare builds side by side in the
# same minute (KSPAN_B: a second binary, measured right after KSPAN).
#
# Environment: BENCH_SECONDS (3), BENCH_CONNECTIONS (4), KSPAN (build/kspan),
# KSPAN_B (unset), KSPAN_ARGS (e.g. "--backend tracepoint"), PHASES ("server all").
# Needs root, nginx, wrk, curl, bpftool, python3. Takes /tmp/kspan.lock itself.
set -euo pipefail

BENCH_SECONDS=${BENCH_SECONDS:-3}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-4}
KSPAN=${KSPAN:-build/kspan}
KSPAN_B=${KSPAN_B:-}
KSPAN_ARGS=${KSPAN_ARGS:---backend tracepoint}
PHASES=${PHASES:-server all}
PYTHON=${PYTHON:-/usr/bin/python3}

if [ -z "${KSPAN_BENCH_LOCKED:-}" ]; then
	export KSPAN_BENCH_LOCKED=1
	exec flock /tmp/kspan.lock "$0" "$@"
fi

TMP=$(mktemp -d /tmp/kspan-bpfstats.XXXXXX)
NGINX_PID='' KSPAN_PID=''
STATS_BEFORE=$(sysctl -n kernel.bpf_stats_enabled)

cleanup() {
	local pid
	for pid in $KSPAN_PID $NGINX_PID; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in $KSPAN_PID $NGINX_PID; do
		wait "$pid" 2>/dev/null || true
	done
	sysctl -q -w kernel.bpf_stats_enabled="$STATS_BEFORE"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "bench_bpf_stats: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "run as root"
for t in nginx wrk curl bpftool; do
	command -v "$t" >/dev/null || die "$t not found"
done

NGINX_PORT=$("$PYTHON" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$TMP/nginx"
cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	default_type text/plain;
	keepalive_requests 100000000;
	client_body_temp_path $TMP/nginx/client_body;
	proxy_temp_path $TMP/nginx/proxy;
	fastcgi_temp_path $TMP/nginx/fastcgi;
	uwsgi_temp_path $TMP/nginx/uwsgi;
	scgi_temp_path $TMP/nginx/scgi;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		location / { return 200 "ok"; }
	}
}
EOF
nginx -c "$TMP/nginx/nginx.conf" -g 'daemon off;' 2>>"$TMP/nginx/error.log" &
NGINX_PID=$!
URL=http://127.0.0.1:$NGINX_PORT/
for _ in $(seq 100); do
	curl -fsS -o /dev/null "$URL" 2>/dev/null && break
	sleep 0.1
done
WORKER=$(pgrep -P "$NGINX_PID" | head -1)
[ -n "$WORKER" ] || die "no nginx worker"

sysctl -q -w kernel.bpf_stats_enabled=1

# name run_time_ns run_cnt of every loaded kspan_* program
prog_stats() {
	bpftool prog show --json | "$PYTHON" -c 'import json, sys
for p in json.load(sys.stdin):
    n = p.get("name", "")
    if n.startswith("kspan_"):
        print(n, p.get("run_time_ns", 0), p.get("run_cnt", 0))'
}

# $1 binary, $2 phase
measure() {
	local bin=$1 phase=$2 args=$KSPAN_ARGS log="$TMP/kspan.log" reqs
	[ "$phase" = server ] && args="$args --pid $WORKER"
	# shellcheck disable=SC2086
	"$bin" --exporter none $args 2>"$log" >/dev/null &
	KSPAN_PID=$!
	for _ in $(seq 300); do
		grep -q '^kspan: ready' "$log" && break
		kill -0 "$KSPAN_PID" 2>/dev/null || die "kspan exited: $(tail -3 "$log")"
		sleep 0.1
	done
	wrk -t1 -c"$BENCH_CONNECTIONS" -d1s "$URL" >/dev/null # warm-up: connections known
	prog_stats >"$TMP/before"
	wrk -t1 -c"$BENCH_CONNECTIONS" -d"${BENCH_SECONDS}s" "$URL" >"$TMP/wrk"
	prog_stats >"$TMP/after"
	reqs=$(awk '/requests in/ { print $1 }' "$TMP/wrk")
	kill -INT "$KSPAN_PID"
	wait "$KSPAN_PID" 2>/dev/null || true
	KSPAN_PID=
	echo "== $(basename "$bin") $phase: $reqs requests ($(grep -o 'backend [a-z_]* ([^)]*)' "$log" | head -1))"
	"$PYTHON" - "$TMP/before" "$TMP/after" "$reqs" <<'EOF'
import sys
def load(p):
    d = {}
    for line in open(p):
        n, t, c = line.split()
        d[n] = (int(t), int(c))
    return d
b, a, reqs = load(sys.argv[1]), load(sys.argv[2]), int(sys.argv[3])
total = 0
for n in sorted(a):
    t = a[n][0] - b.get(n, (0, 0))[0]
    c = a[n][1] - b.get(n, (0, 0))[1]
    if c == 0:
        continue
    total += t
    print(f"  {n:<24} {t / reqs:8.0f} ns/req  {c / reqs:6.2f} runs/req  {t / c:7.0f} ns/run")
print(f"  {'TOTAL':<24} {total / reqs:8.0f} ns/req")
EOF
}

for phase in $PHASES; do
	measure "$KSPAN" "$phase"
	[ -z "$KSPAN_B" ] || measure "$KSPAN_B" "$phase"
done
