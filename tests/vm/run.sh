#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# run.sh - the `vm` test suite: kspan's probe backends on other kernels.
#
# The host cannot run kprobes or fentry (see HOST-KERNEL.md), so this boots
# Debian's cloud kernels under QEMU (boot_guest.sh), one guest per kernel
# series in KSPAN_VM_KERNELS (default 6.1,6.12: bookworm's 6.1 and
# bookworm-backports' 6.12, which has the ITER_UBUF iov_iter of 6.4+ and,
# from 6.12.75, the sockhash FIONREAD regression). Inside, kspan-static runs
# once per backend (KSPAN_VM_BACKENDS, default tracepoint,kprobe,fentry,auto)
# while busybox httpd serves busybox wget and vm_client (guest_init.sh);
# check_spans.py then checks what each run printed, under names that carry
# the kernel (vm.6.12/fentry.spans), and prints one line
# "vm: N passed, M failed" over every kernel. A guest that does not boot or
# hangs is killed after KSPAN_VM_TIMEOUT seconds (default 900) and its
# missing runs fail. KSPAN_VM_VERBOSE=1 runs kspan with -v. Each guest's
# console is kept in build/test-logs/vm-console-<series>.log.
set -u
cd "$(dirname "$0")/../.."
backends=${KSPAN_VM_BACKENDS:-tracepoint,kprobe,fentry,auto}
kernels=${KSPAN_VM_KERNELS:-6.1,6.12}
mkdir -p build/test-logs

logs=()
for k in ${kernels//,/ }; do
	log=build/test-logs/vm-console-$k.log
	rm -f "$log" # never judge an earlier run
	start=$(date +%s)
	KSPAN_VM_KERNEL=$k tests/vm/boot_guest.sh "$log" "${KSPAN_VM_TIMEOUT:-900}" \
		"kspan_backends=$backends" "kspan_verbose=${KSPAN_VM_VERBOSE:-0}"
	echo "vm: kernel $k: $(($(date +%s) - start)) s in all (fetch, initramfs, boot, runs)"
	logs+=(--kernel "$k=$log")
done
/usr/bin/python3 tests/vm/check_spans.py --backends "$backends" "${logs[@]}"
