#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench_grpc.sh - what kspan costs gRPC unary calls. A benchmark, not a test:
# it reports numbers and never judges them.
#
# A python3-grpcio server (tests/integration/servers/grpc_server.py) and a
# python3-grpcio client hammering its Unary method with BENCH_CONCURRENCY calls
# in flight on one HTTP/2 connection (tests/bench/grpc_load.py), each run
# BENCH_SECONDS long:
#   (a) without kspan, (b) with `kspan --exporter otlp` sending to a local
#   counting sink, (c) without again (how noisy the machine is).
# Prints calls/s, the with/without ratio (b / mean of a and c), kspan's CPU
# seconds per 100k calls (utime+stime from /proc/PID/stat during the load),
# the spans the sink received and kspan's HTTP/2 drop counters.
#
# Environment: BENCH_SECONDS (10), BENCH_CONCURRENCY (16), KSPAN (build/kspan),
# KSPAN_ARGS (extra agent options), BENCH_KEEP=1 keeps the temporary directory.
set -euo pipefail

BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_CONCURRENCY=${BENCH_CONCURRENCY:-16}
KSPAN=${KSPAN:-build/kspan}
KSPAN_ARGS=${KSPAN_ARGS:-}
PYTHON=/usr/bin/python3

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
TMP=$(mktemp -d /tmp/kspan-bench-grpc.XXXXXX)
SERVER_PID='' SINK_PID='' KSPAN_PID=''

note() { echo "bench_grpc: $*" >&2; }
die() {
	note "$*"
	exit 1
}

# Stops only what this script started, by pid.
cleanup() {
	local pid
	for pid in $KSPAN_PID $SERVER_PID $SINK_PID; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in $KSPAN_PID $SERVER_PID $SINK_PID; do
		wait "$pid" 2>/dev/null || true
	done
	[ "${BENCH_KEEP:-0}" = 1 ] && note "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || die "run as root: kspan loads BPF programs"
"$PYTHON" -c 'import grpc' 2>/dev/null || die "python3-grpcio missing: apt-get install python3-grpcio"

cpu_seconds() {
	sed 's/.*) //' "/proc/$1/stat" | awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($12 + $13) / hz }'
}

"$PYTHON" "$REPO/tests/integration/servers/grpc_server.py" >"$TMP/server.out" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do grep -q READY "$TMP/server.out" && break; sleep 0.1; done
PORT=$(awk '/READY/ { print $2 }' "$TMP/server.out")
[ -n "$PORT" ] || die "grpc server did not start: $(tail -3 "$TMP/server.out")"

"$PYTHON" "$HERE/otlp_sink.py" "$TMP/sink.port" 2>"$TMP/sink.stderr" &
SINK_PID=$!
for _ in $(seq 100); do [ -s "$TMP/sink.port" ] && break; sleep 0.1; done
[ -s "$TMP/sink.port" ] || die "OTLP sink did not start"
SINK_URL=http://127.0.0.1:$(cat "$TMP/sink.port")
sink_spans() { curl -fsS "$SINK_URL/stats" | sed -n 's/.*spans=\([0-9]*\).*/\1/p'; }

# One load run; prints "calls rate".
load() {
	"$PYTHON" "$HERE/grpc_load.py" "127.0.0.1:$PORT" "$BENCH_SECONDS" "$BENCH_CONCURRENCY" |
		sed -n 's/^calls=\([0-9]*\) .* rate=\([0-9.]*\) .*/\1 \2/p'
}

note "(a) without kspan"
read -r A_CALLS A_RATE < <(load)

note "(b) with kspan"
spans0=$(sink_spans)
# shellcheck disable=SC2086 # KSPAN_ARGS is a list of options
"$KSPAN" --exporter otlp --otlp-endpoint "$SINK_URL" $KSPAN_ARGS 2>"$TMP/kspan.stderr" >/dev/null &
KSPAN_PID=$!
for _ in $(seq 300); do grep -q '^kspan: ready' "$TMP/kspan.stderr" && break; sleep 0.1; done
grep -q '^kspan: ready' "$TMP/kspan.stderr" || die "kspan did not start: $(tail -3 "$TMP/kspan.stderr")"
cpu0=$(cpu_seconds "$KSPAN_PID")
read -r B_CALLS B_RATE < <(load)
cpu1=$(cpu_seconds "$KSPAN_PID")
kill -INT "$KSPAN_PID"
wait "$KSPAN_PID" || note "kspan exited with $?"
KSPAN_PID=
sleep 1
spans=$(($(sink_spans) - spans0))

note "(c) without kspan, again"
read -r C_CALLS C_RATE < <(load)

counters=$(grep '^kspan: counters' "$TMP/kspan.stderr" | tail -1 | tr ' ' '\n' |
	grep -E '^(h2_|kernel_ringbuf|requests_lost|conn_event)' | tr '\n' ' ')
awk -v a="$A_RATE" -v b="$B_RATE" -v c="$C_RATE" -v bc="$B_CALLS" -v c0="$cpu0" -v c1="$cpu1" \
	-v spans="$spans" -v secs="$BENCH_SECONDS" -v conc="$BENCH_CONCURRENCY" 'BEGIN {
	printf "gRPC unary calls, python3-grpcio client -> server, %d in flight, %ds per run\n", conc, secs
	printf "  (a) without kspan   %9.1f calls/s\n", a
	printf "  (b) with kspan      %9.1f calls/s  (%d calls)\n", b, bc
	printf "  (c) without kspan   %9.1f calls/s\n", c
	printf "  ratio b / mean(a,c) %9.3f\n", b / ((a + c) / 2)
	printf "  kspan CPU           %9.2f s during (b) = %.2f s per 100k calls\n", c1 - c0, (c1 - c0) * 100000 / bc
	printf "  spans exported      %9d (2 per call: SERVER and CLIENT)\n", spans
}'
echo "  kspan counters      $counters"
