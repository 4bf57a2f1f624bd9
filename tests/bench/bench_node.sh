#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench_node.sh - kspan against the OpenTelemetry JS SDK on the same node
# http server (issue 13, target 5). A benchmark, not a test: it prints numbers.
#
# node_server.js answers "ok" and holds no OpenTelemetry code; wrk saturates it
# (-t BENCH_THREADS -c BENCH_CONNECTIONS, keep-alive) for BENCH_SECONDS per run:
#   without   the server alone
#   kspan     the same server process, kspan --pid <server>, OTLP/HTTP
#             protobuf to a sink that does not decode (each kspan build of the
#             run: KSPAN_BASELINE first when set, then KSPAN)
#   sdk       a second server process with the SDK in-process (http
#             instrumentation, batch span processor, OTLP/HTTP protobuf
#             exporter to the same sink); no kspan
#   without   the first server alone, again
# loss = 1 - req/s / (mean of the two runs without); printed: kspan's loss /
# the SDK's loss (goal <= 1/2, stretch 1/5).
#
# Environment: bench_lib.sh's (KSPAN, KSPAN_BASELINE, BENCH_SECONDS,
# BENCH_RESULTS, BENCH_KEEP), BENCH_CONNECTIONS (16), BENCH_THREADS (1),
# KSPAN_OTEL_NODE_MODULES (build/otel-node-bench/node_modules: make bench-deps).
set -euo pipefail
BENCH_NAME=bench_node
# shellcheck source=tests/bench/bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-16}
BENCH_THREADS=${BENCH_THREADS:-1}
export KSPAN_OTEL_NODE_MODULES=${KSPAN_OTEL_NODE_MODULES:-$PWD/build/otel-node-bench/node_modules}

# start_node [--otel URL]: sets NODE_PID and NODE_URL.
start_node() {
	local out="$TMP/node.$#.out"
	node "$BENCH_HERE/node_server.js" "$@" >"$out" 2>&1 &
	NODE_PID=$!
	BENCH_PIDS+=("$NODE_PID")
	for _ in $(seq 100); do
		grep -q '^READY ' "$out" && break
		kill -0 "$NODE_PID" 2>/dev/null || break
		sleep 0.1
	done
	grep -q '^READY ' "$out" || die "node_server.js did not start: $(tail -3 "$out")"
	NODE_URL=http://127.0.0.1:$(awk '/^READY/ { print $2 }' "$out")/
}

declare -A RPS SPANS CHECK DROPS REQ
ROWS=()

load() {
	clear_results
	run_wrk "$TMP/$1.out" "$2" "$BENCH_THREADS" "$BENCH_CONNECTIONS"
	ROWS+=("$1")
	RPS[$1]=${R_RPS:-0} REQ[$1]=${R_REQUESTS:-0}
}

main() {
	local b label log plain_url plain_pid exported base
	need_root
	command -v node >/dev/null || die "node not found: apt-get install nodejs"
	command -v wrk >/dev/null || die "wrk not found: apt-get install wrk"
	[ -d "$KSPAN_OTEL_NODE_MODULES/@opentelemetry/exporter-trace-otlp-proto" ] ||
		die "the OpenTelemetry JS SDK is not installed: make bench-deps"
	check_kspan_builds
	start_sink
	start_node
	plain_url=$NODE_URL plain_pid=$NODE_PID
	BENCH_SECONDS=2 run_wrk "$TMP/warmup.out" "$plain_url" "$BENCH_THREADS" "$BENCH_CONNECTIONS"

	load without "$plain_url"
	for b in $(kspan_builds); do
		label="kspan ${b%%=*}" log="$TMP/${b%%=*}.kspan.stderr"
		if start_kspan "${b#*=}" "$log" --exporter otlp --otlp-endpoint "$SINK_URL" \
			--metrics-addr '' --pid "$plain_pid"; then
			load "$label" "$plain_url"
			stop_kspan
			exported=$(counter "$log" spans_exported)
			SPANS[$label]=$exported
			DROPS[$label]=$(drops_of "$log")
			CHECK[$label]=$(awk -v s="$exported" -v n="${REQ[$label]}" -v x="$BENCH_CONNECTIONS" \
				'BEGIN { d = s - n; printf "%s%+d", (d >= 0 && d <= x) ? "ok " : "MISSING ", d }')
		else
			ROWS+=("$label")
			RPS[$label]=0
		fi
	done

	start_node --otel "$SINK_URL"
	BENCH_SECONDS=2 run_wrk "$TMP/warmup-sdk.out" "$NODE_URL" "$BENCH_THREADS" "$BENCH_CONNECTIONS"
	load sdk "$NODE_URL"
	kill -TERM "$NODE_PID" 2>/dev/null || true
	wait "$NODE_PID" 2>/dev/null || true

	load "without again" "$plain_url"

	base=$(mean "${RPS[without]}" "${RPS[without again]}")
	loss() { awk -v r="$1" -v b="$base" 'BEGIN { if (b > 0) printf "%.3f", 1 - r / b; else print "?" }'; }
	# A loss can be negative (noise); only the SDK's must be positive.
	loss_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && a != "?" && b > 0) printf "%.3f", a / b; else print "?" }'; }
	echo
	echo "node http server (node $(node --version)) under wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS," \
		"${BENCH_SECONDS}s per run; $(nproc) CPUs"
	printf '%-20s %10s %10s %8s %10s %-12s %s\n' run requests req/s loss spans spans-req drops
	for label in "${ROWS[@]}"; do
		printf '%-20s %10s %10s %8s %10s %-12s %s\n' "$label" "${REQ[$label]}" "${RPS[$label]}" \
			"$(loss "${RPS[$label]}")" "${SPANS[$label]:--}" "${CHECK[$label]:--}" \
			"${DROPS[$label]:-}"
	done
	local sdk_loss k_loss kb_loss
	sdk_loss=$(loss "${RPS[sdk]}")
	k_loss=$(loss "${RPS[kspan kspan]}")
	kb_loss=$([ -n "$KSPAN_BASELINE" ] && loss "${RPS[kspan baseline]}" || true)
	echo
	echo "kspan's loss / the SDK's loss: $(loss_ratio "$k_loss" "$sdk_loss")" \
		"${KSPAN_BASELINE:+(baseline build: $(loss_ratio "$kb_loss" "$sdk_loss"))}"
	result "5" "node req/s, kspan --pid server" "$base" "${RPS[kspan baseline]:-}" \
		"${RPS[kspan kspan]}" "$(ratio "${RPS[kspan kspan]}" "$base")" \
		"$([ -n "$KSPAN_BASELINE" ] && ratio "${RPS[kspan baseline]}" "$base" || true)" "-"
	result "5" "node req/s, OpenTelemetry JS SDK in-process" "$base" "-" "${RPS[sdk]}" \
		"$(ratio "${RPS[sdk]}" "$base")" "" "-"
	result "5" "  kspan's loss / the SDK's loss" "-" \
		"$([ -n "$KSPAN_BASELINE" ] && loss_ratio "$kb_loss" "$sdk_loss" || true)" \
		"$(loss_ratio "$k_loss" "$sdk_loss")" "-" "" "<= 0.5 (stretch 0.2)"
	kept_or_removed
}

main "$@"
