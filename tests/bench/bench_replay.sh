#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench_replay.sh - the agent's userspace pipeline alone, on one core (issue
# 13, target 2: >= 1M events/s). A benchmark, not a test: it prints numbers.
#
# Records once: KSPAN --record-events tracing every process (wrk's CLIENT and
# nginx's SERVER spans, so both directions of HTTP/1 parsing) with
# --exporter none, while wrk -t1 -c4 loads one nginx worker for
# REPLAY_RECORD_SECONDS; then replays the file REPLAY_ROUNDS times through
# build/bench/replay (tests/bench/replay.c: parsers, assemblers, sampler,
# span metrics and the OTLP protobuf span writer of this tree, no BPF) and
# prints its line. The recording must come from a kspan of this tree (the
# replay refuses another ABI); KSPAN_BASELINE is not replayed (older builds
# have no --record-events).
#
# Environment: bench_lib.sh's (KSPAN, BENCH_RESULTS, BENCH_KEEP),
# REPLAY_RECORD_SECONDS (2), REPLAY_ROUNDS (3), REPLAY_FILE (record there and
# keep it; default: in the temporary directory). Needs root, nginx, wrk.
set -euo pipefail
BENCH_NAME=bench_replay
# shellcheck source=tests/bench/bench_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench_lib.sh"

REPLAY_RECORD_SECONDS=${REPLAY_RECORD_SECONDS:-2}
REPLAY_ROUNDS=${REPLAY_ROUNDS:-3}
REPLAY_FILE=${REPLAY_FILE:-$TMP/events.rec}
REPLAY=build/bench/replay

main() {
	local line eps
	need_root
	[ -x "$KSPAN" ] || die "$KSPAN not found: make"
	[ -x "$REPLAY" ] || die "$REPLAY not found: make $REPLAY"
	command -v wrk >/dev/null || die "wrk not found: apt-get install wrk"
	start_nginx
	BENCH_SECONDS=1 run_wrk "$TMP/warmup.out" "$URL" 1 4
	start_kspan "$KSPAN" "$TMP/record.stderr" --exporter none --metrics-addr '' \
		--record-events "$REPLAY_FILE" || die "kspan did not start (does it know --record-events?)"
	BENCH_SECONDS=$REPLAY_RECORD_SECONDS run_wrk "$TMP/record.out" "$URL" 1 4
	stop_kspan
	grep 'record-events' "$TMP/record.stderr" >&2 || true
	echo "replay of $REPLAY_FILE ($(du -h "$REPLAY_FILE" | cut -f1), $R_REQUESTS requests of" \
		"wrk -t1 -c4 against nginx, every process traced), $REPLAY_ROUNDS rounds on one core:"
	if ! line=$("$REPLAY" --rounds "$REPLAY_ROUNDS" "$REPLAY_FILE" 2>"$TMP/replay.stderr"); then
		cat "$TMP/replay.stderr" >&2
		result "2r" "replay: userspace events/s on one core" "-" "-" "failed" "-" "" ">= 1000000"
		die "replay failed"
	fi
	echo "  $line"
	eps=$(echo "$line" | tr ' ' '\n' | awk -F= '$1 == "events_per_s" { print $2 }')
	result "2r" "replay: userspace events/s on one core (us/span: $(echo "$line" |
		tr ' ' '\n' | awk -F= '$1 == "us_per_span" { print $2 }'))" "-" "-" "$eps" "-" "" \
		">= 1000000"
	kept_or_removed
}

main "$@"
