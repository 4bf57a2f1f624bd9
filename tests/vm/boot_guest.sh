#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# boot_guest.sh LOG TIMEOUT KERNEL_ARGS... - boots the VM guest once and
# writes its console to LOG: a Debian cloud kernel of the series
# KSPAN_VM_KERNEL (6.1, the default, or 6.12: fetch_kernel.sh, cached in
# KSPAN_VM_CACHE, default /var/cache/kspan-vm) under QEMU with TCG
# (no KVM needed), with the initramfs of make_initramfs.sh. KERNEL_ARGS reach
# guest_init.sh (kspan_backends=..., kspan_mode=...). A guest that hangs is
# killed after TIMEOUT seconds. Exit: qemu's (124: timed out). Each run uses
# its own temporary directory, so several may run at once.
set -u
cd "$(dirname "$0")/../.."
log=$1 limit=$2
shift 2
cache=${KSPAN_VM_CACHE:-/var/cache/kspan-vm}

kernel=$(tests/vm/fetch_kernel.sh "$cache" "${KSPAN_VM_KERNEL:-6.1}") || exit 1
work=$(mktemp -d /tmp/kspan-vm.XXXXXX)
trap 'rm -rf "$work"' EXIT
tests/vm/make_initramfs.sh "$work" || exit 1

# no_timer_check: on a loaded host, TCG runs the guest's clocks so unevenly
# that the kernel's IO-APIC timer check can fail and panic at boot. A guest
# that still dies before its /init starts is booted once more.
for attempt in 1 2; do
	echo "vm: booting $(basename "$kernel") under QEMU (TCG): $*"
	start=$(date +%s)
	timeout --kill-after=10 "$limit" qemu-system-x86_64 -accel tcg -cpu max -m 1024 -smp 1 \
		-nographic -no-reboot -kernel "$kernel" -initrd "$work/initrd.gz" \
		-append "console=ttyS0 panic=-1 quiet no_timer_check $*" </dev/null >"$log" 2>&1
	rc=$?
	echo "vm: the guest ran $(($(date +%s) - start)) s" \
		"(qemu exit $rc$([ $rc = 124 ] && echo ', timed out'))"
	grep -q 'VM-KERNEL' "$log" && break
	echo "vm: the guest died before its /init ran (attempt $attempt)"
done
exit $rc
