#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench_targets.sh - `make bench`: issue 13's targets 1-6 in one run, each
# beside its baseline without kspan, then one summary table
# (bench_summary.sh). A benchmark, not a test: nothing here passes or fails
# on a number. Every bench that starts kspan holds the machine's lock.
#
#   target 1   bench_bpf_time.sh   BPF run time per request, per side (host)
#              bench_vm.sh         per backend, relative to tracepoint (6.1 guest)
#   target 2   bench_nginx.sh      agent CPU per span end to end
#              bench_replay.sh     the userspace pipeline alone, events/s
#   targets 3, 4, 6  bench_nginx.sh
#   3s (https) bench_nginx_tls.sh  the OpenSSL uprobes on an https nginx
#   target 5   bench_node.sh
#
# Environment: KSPAN (build/kspan), KSPAN_BASELINE (a second kspan binary, a
# column of its own), KSPAN_STATIC / KSPAN_STATIC_BASELINE (the same for the
# VM guest, static builds), BENCH_SECONDS (10), BENCH_SKIP (names to leave
# out, e.g. "vm node https"), and each bench's own variables (see their headers).
# The table is also written to build/bench/summary.md.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
export KSPAN=${KSPAN:-build/kspan} KSPAN_BASELINE=${KSPAN_BASELINE:-}
export BENCH_RESULTS=build/bench/results.txt
mkdir -p build/bench
: >"$BENCH_RESULTS"
LOCKED=tests/with_machine_lock.sh
failed=()

run() {
	local name=$1
	shift
	case " ${BENCH_SKIP:-} " in *" $name "*)
		echo "== $name: skipped (BENCH_SKIP)"
		return
		;;
	esac
	echo
	echo "== $name: $*"
	"$@" || failed+=("$name")
}

start=$(date +%s)
run bpf $LOCKED tests/bench/bench_bpf_time.sh
run nginx $LOCKED tests/bench/bench_nginx.sh
run https $LOCKED tests/bench/bench_nginx_tls.sh
run node $LOCKED tests/bench/bench_node.sh
run replay $LOCKED tests/bench/bench_replay.sh
run vm flock /tmp/kspan-vm.lock tests/bench/bench_vm.sh
tests/bench/bench_summary.sh "$BENCH_RESULTS" | tee build/bench/summary.md
echo
echo "make bench: $(($(date +%s) - start)) s${failed[*]:+; failed: ${failed[*]}}"
[ ${#failed[@]} -eq 0 ]
