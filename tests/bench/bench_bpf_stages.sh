#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench_bpf_stages.sh - where target 1's BPF time goes, stage by stage, with
# no symbol tooling: kspan is built four more times, each with its data path
# stopped after one stage (-DKSPAN_BENCH_STAGE_STOP=N, bpf/attach/
# data_path.bpf.h), and bench_bpf_time.sh measures every build on the same
# idle keep-alive exchanges (server side: recv + writev), the builds
# interleaved over STAGE_ROUNDS rounds because this machine drifts. A stage's
# cost is the difference between the means of two successive builds; the
# floor (two empty programs) is measured in the same rounds. A benchmark, not
# a test: it prints numbers.
#
#   floor    empty programs on sys_enter/sys_exit: the cost of any program
#   stage 1  kspan's front-end: the filter and the syscall switch of every
#            syscall, the socket behind the fd, the syscall's arguments
#   stage 2  the connection (conn_table) and the per-CPU scratch
#   stage 3  the copy of the bytes and their classification
#   stage 4  the event's fields and the trace context of a request
#   full     the ring buffer send (the unmodified build, KSPAN)
#
# Environment: KSPAN (build/kspan), STAGE_ROUNDS (5), BPF_ROUNDS (50000),
# STAGE_SIDE (server; or client, both). Builds go to build/bench/stages.
# Needs root, clang, gcc; holds the machine's lock while it measures.
set -euo pipefail
cd "$(dirname "$0")/../.."

KSPAN=${KSPAN:-build/kspan}
STAGE_ROUNDS=${STAGE_ROUNDS:-5}
STAGE_SIDE=${STAGE_SIDE:-server}
export BPF_ROUNDS=${BPF_ROUNDS:-50000}
DIR=build/bench/stages
STAGES="1 2 3 4"

[ "$(id -u)" = 0 ] || {
	echo "bench_bpf_stages: needs root" >&2
	exit 1
}
[ -x "$KSPAN" ] || {
	echo "bench_bpf_stages: $KSPAN not built (make)" >&2
	exit 1
}
make -s build/bench/empty_hooks >/dev/null

# Each stage build in the same directory: only the BPF object, its skeleton
# and the loader files that include it are rebuilt (the flag is not a make
# prerequisite, hence the rm).
for n in $STAGES; do
	rm -f "$DIR/kspan.bpf.o"
	make -s BUILD="$DIR" BPF_EXTRA_CFLAGS="-DKSPAN_BENCH_STAGE_STOP=$n" "$DIR/kspan" >/dev/null
	cp "$DIR/kspan" "$DIR/kspan-stage$n"
done

# ns_of BUILD: BPF ns per exchange of one bench_bpf_time.sh run (BUILD
# floor: the empty programs, which that script runs beside KSPAN).
ns_of() {
	local side=$STAGE_SIDE label=kspan vars=(BPF_SIDES="$STAGE_SIDE" BPF_FLOOR=0 KSPAN="$1")
	if [ "$1" = floor ]; then
		side=server label=floor vars=(BPF_SIDES='' BPF_FLOOR=syscall KSPAN="$KSPAN")
	fi
	env "${vars[@]}" BPF_LOAD_SECONDS=0 BENCH_RESULTS='' KSPAN_BASELINE='' \
		tests/with_machine_lock.sh tests/bench/bench_bpf_time.sh 2>&1 |
		awk -v side="$side," -v label="$label" '$1 == side && $2 == label {
			for (i = 1; i <= NF; i++) if ($i == "us") print $(i - 1) * 1000 }'
}

declare -A SUM
builds="floor $STAGES full"
for r in $(seq "$STAGE_ROUNDS"); do
	line="round $r:"
	for b in $builds; do
		case $b in
		floor) bin=floor ;;
		full) bin=$KSPAN ;;
		*) bin=$DIR/kspan-stage$b ;;
		esac
		ns=$(ns_of "$bin")
		[ -n "$ns" ] || {
			echo "bench_bpf_stages: no figure for $b" >&2
			exit 1
		}
		SUM[$b]=$(awk -v a="${SUM[$b]:-0}" -v b="$ns" 'BEGIN { print a + b }')
		line="$line $b=$ns"
	done
	echo "$line"
done

echo
echo "BPF ns per exchange ($STAGE_SIDE side, $BPF_ROUNDS exchanges, mean of $STAGE_ROUNDS rounds);"
echo "kernel $(uname -r), default backend"
printf '%-44s %10s %10s\n' "stopped after" "ns" "stage ns"
prev=''
for b in $builds; do
	mean=$(awk -v s="${SUM[$b]}" -v n="$STAGE_ROUNDS" 'BEGIN { printf "%.0f", s / n }')
	case $b in
	floor) what="floor: empty programs" ;;
	1) what="1 front-end (filter, socket, arguments)" ;;
	2) what="2 connection and scratch" ;;
	3) what="3 copy and classification" ;;
	4) what="4 event fields and trace context" ;;
	full) what="full: + ring buffer send" ;;
	esac
	printf '%-44s %10s %10s\n' "$what" "$mean" "${prev:+$((mean - prev))}"
	prev=$mean
done
