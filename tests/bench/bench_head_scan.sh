#!/bin/sh
# bench_head_scan.sh - the kernel's request head scan alone, old against new,
# in ns per head through BPF_PROG_TEST_RUN (tests/bench/head_scan_bench.c).
#
#   tests/bench/bench_head_scan.sh [REPEAT]     (root; default 1000000)
#
# "new" is include/ as it is; "old" is include/ at OLD_REV (default: the
# commit before include/http1_head_scan.h was added), where the traceparent
# search, the trace fields pass and the two shape passes ran under bpf_loop
# one byte per callback. Both run the same decisions on the same heads
# (head_scan_bench.bpf.c). No kspan runs, so no machine lock is needed.
set -eu
cd "$(dirname "$0")/../.."
REPEAT=${1:-1000000}
OUT=build/bench/head_scan
ARCH=$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
OLD_REV=${OLD_REV:-$(git log --diff-filter=A --format=%H -1 -- include/http1_head_scan.h)^}
CFLAGS="-g -O2 -target bpf -D__TARGET_ARCH_$ARCH -D__BPF__ -Wall -Wextra -Werror -Wno-unused-function -Ivmlinux/$ARCH"

mkdir -p "$OUT/old-include"
git archive "$OLD_REV" include | tar -x -C "$OUT/old-include" --strip-components=1
clang $CFLAGS -Iinclude -c tests/bench/head_scan_bench.bpf.c -o "$OUT/new.bpf.o"
clang $CFLAGS -DHEAD_SCAN_OLD -I"$OUT/old-include" -c tests/bench/head_scan_bench.bpf.c -o "$OUT/old.bpf.o"
cc -O2 -Wall -Wextra -Werror -o "$OUT/head_scan_bench" tests/bench/head_scan_bench.c -lbpf
echo "old (byte-at-a-time bpf_loop searches, $(git rev-parse --short "$OLD_REV")):"
"$OUT/head_scan_bench" "$OUT/old.bpf.o" "$REPEAT"
echo "new (word-at-a-time head scan):"
"$OUT/head_scan_bench" "$OUT/new.bpf.o" "$REPEAT"
