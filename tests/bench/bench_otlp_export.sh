#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# bench_otlp_export.sh - spans per second that kspan's OTLP encoder + exporter
# sustain on one core, per protocol and compression, against local sinks
# (tests/bench/otlp_sink.py for HTTP, grpc_sink.py for gRPC, on the other
# core); bytes per span with and without gzip. Figures are from this machine,
# side by side in one run; compare ratios, not absolute numbers.
#
#   tests/bench/bench_otlp_export.sh [SPANS]     (default 100000)
set -euo pipefail
cd "$(dirname "$0")/../.."
spans=${1:-100000}
bin=build/bench/otlp_export_bench
dir=$(mktemp -d /tmp/kspan-bench-otlp-XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$dir"
}
trap cleanup EXIT

start_sink() { # script port_file
	/usr/bin/python3 "$1" "$2" &
	pids+=($!)
	for _ in $(seq 100); do [ -s "$2" ] && return 0; sleep 0.1; done
	echo "bench: $1 did not start" >&2
	exit 1
}
start_sink tests/bench/otlp_sink.py "$dir/http.port"
start_sink tests/bench/grpc_sink.py "$dir/grpc.port"
http=http://127.0.0.1:$(cat "$dir/http.port")
grpc=http://127.0.0.1:$(cat "$dir/grpc.port")

echo "OTLP export, $spans spans of 13 attributes, batches of 512, one core:"
for run in "http/protobuf $http" "http/json $http" "grpc $grpc"; do
	set -- $run
	for comp in none gzip; do
		line=$("$bin" "$1" "$2" "$comp" "$spans" 2>/dev/null) || {
			echo "  $1 $comp: FAILED ($line)"
			continue
		}
		echo "  $line"
	done
done
