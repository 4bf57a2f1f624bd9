#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench_vm.sh - the per-request cost of each probe backend (fentry, kprobe,
# tracepoint), measured side by side in one guest of the VM test
# (tests/vm/boot_guest.sh, kernel 6.1): syscall_cost's loopback HTTP exchange
# (4 traced syscalls, 2 spans) without kspan, with kspan-static on each
# backend, and without again; medians of 3 runs. The guest runs under TCG, so
# absolute times mean nothing: printed are, per backend, the time per
# exchange with kspan / without, and (issue 13, target 1) the BPF run time
# of kspan's programs per exchange (kernel.bpf_stats_enabled) relative to the
# tracepoint backend's. A benchmark, not a test.
#
# Environment: ROUNDS_VM (2000 exchanges per run), KSPAN_VM_TIMEOUT (900),
# KSPAN_STATIC (build/kspan-static), KSPAN_STATIC_BASELINE (a second static
# build, run beside it on each backend), BENCH_RESULTS (bench_lib.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
log=build/bench-vm-console.log
mkdir -p build
rm -f "$log"
backends=fentry,kprobe,tracepoint
KSPAN_STATIC_BASELINE=${KSPAN_STATIC_BASELINE:-} tests/vm/boot_guest.sh "$log" \
	"${KSPAN_VM_TIMEOUT:-900}" kspan_mode=bench kspan_backends=$backends \
	"kspan_bench_rounds=${ROUNDS_VM:-2000}" || true

declare -A ns bpf
while read -r _ label value rest; do
	ns[$label]=$value
	case $rest in bpf_ns=*) bpf[$label]=${rest#bpf_ns=} ;; *) [ -n "$rest" ] && echo "bench_vm: $label: $value $rest" ;; esac
done < <(tr -d '\r' <"$log" | grep '^VM-BENCH ')
if [ -z "${ns[without]:-}" ] || [ -z "${ns[again]:-}" ]; then
	echo "bench_vm: the guest reported no baseline; console in $log"
	exit 1
fi
base=$(((ns[without] + ns[again]) / 2))
builds=kspan
[ -n "${KSPAN_STATIC_BASELINE:-}" ] && builds="baseline kspan"
key() { [ "$2" = baseline ] && echo "$1@baseline" || echo "$1"; }
rel() { awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a ~ /^[0-9]+$/ && b > 0) printf "%.2f", a / b; else print "failed" }'; }
echo
echo "probe cost per HTTP exchange (2 spans) in a TCG guest, kernel 6.1, ${ROUNDS_VM:-2000} exchanges,"
echo "medians of 3 runs; time ratio = time with kspan / without (mean of before and after);"
echo "BPF ratio = BPF run time per exchange / the tracepoint backend's (kernel.bpf_stats_enabled)"
printf '%-12s %-9s %12s %14s %10s\n' backend build "time ratio" "BPF ns (TCG)" "BPF ratio"
for b in fentry kprobe tracepoint; do
	for build in $builds; do
		k=$(key "$b" "$build") tp=$(key tracepoint "$build")
		printf '%-12s %-9s %12s %14s %10s\n' "$b" "$build" "$(rel "${ns[$k]:-}" "$base")" \
			"${bpf[$k]:-?}" "$(rel "${bpf[$k]:-}" "${bpf[$tp]:-}")"
	done
done
printf '%-12s %-9s %12s\n' "(baseline)" "" "$(awk -v a="${ns[without]}" -v b="${ns[again]}" \
	'BEGIN { printf "%.2f", b / a }') again/before"
if [ -n "${BENCH_RESULTS:-}" ]; then
	for b in fentry kprobe; do
		base_cell='' base_ratio=''
		if [ -n "${KSPAN_STATIC_BASELINE:-}" ]; then
			base_cell=$(rel "${bpf[$b@baseline]:-}" "${bpf[tracepoint@baseline]:-}")
		fi
		echo "1vm|6.1 guest: BPF time per exchange, $b / tracepoint|-|$base_cell|$(rel \
			"${bpf[$b]:-}" "${bpf[tracepoint]:-}")|-|$base_ratio|report" >>"$BENCH_RESULTS"
	done
fi
