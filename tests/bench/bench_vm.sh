#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench_vm.sh - the per-request cost of each probe backend (fentry, kprobe,
# tracepoint), measured side by side in one guest of the VM test
# (tests/vm/boot_guest.sh): syscall_cost's loopback HTTP exchange (4 traced
# syscalls, 2 spans) without kspan, with kspan-static on each backend, and
# without again; medians of 3 runs. The guest runs under TCG, so absolute
# times mean nothing: only the ratios to the runs without kspan are printed.
# A benchmark, not a test.
#
# Environment: ROUNDS_VM (2000 exchanges per run), KSPAN_VM_TIMEOUT (900).
set -euo pipefail
cd "$(dirname "$0")/../.."
log=build/bench-vm-console.log
mkdir -p build
rm -f "$log"
tests/vm/boot_guest.sh "$log" "${KSPAN_VM_TIMEOUT:-900}" kspan_mode=bench \
	kspan_backends=fentry,kprobe,tracepoint "kspan_bench_rounds=${ROUNDS_VM:-2000}" || true

declare -A ns
while read -r _ label value rest; do
	ns[$label]=$value
	[ -n "$rest" ] && echo "bench_vm: $label: $value $rest"
done < <(tr -d '\r' <"$log" | grep '^VM-BENCH ')
if [ -z "${ns[without]:-}" ] || [ -z "${ns[again]:-}" ]; then
	echo "bench_vm: the guest reported no baseline; console in $log"
	exit 1
fi
base=$(((ns[without] + ns[again]) / 2))
echo
echo "probe cost per HTTP exchange (2 spans) in a TCG guest, kernel 6.1, ${ROUNDS_VM:-2000} exchanges,"
echo "medians of 3 runs; ratio = time with kspan / time without (mean of before and after)"
printf '%-12s %10s\n' "backend" "ratio"
for b in fentry kprobe tracepoint; do
	v=${ns[$b]:-}
	if [[ $v =~ ^[0-9]+$ ]]; then
		printf '%-12s %10s\n' "$b" "$(awk -v a="$v" -v b="$base" 'BEGIN { printf "%.2f", a / b }')"
	else
		printf '%-12s %10s\n' "$b" "failed"
	fi
done
printf '%-12s %10s\n' "(baseline)" "$(awk -v a="${ns[without]}" -v b="${ns[again]}" \
	'BEGIN { printf "%.2f", b / a }') again/before"
