#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# run.sh - the `vm` test suite: kspan's probe backends on a second kernel.
#
# Boots Debian's 6.1 cloud kernel (fetch_kernel.sh) under QEMU with TCG (no
# KVM needed) and an initramfs made here: busybox (busybox-static), the
# statically linked agent (build/kspan-static), vm_client and guest_init.sh
# as /init. Inside, kspan runs once per backend (KSPAN_VM_BACKENDS, default
# tracepoint,kprobe,fentry,auto) while busybox httpd serves busybox wget and
# vm_client; check_spans.py then checks what each run printed and prints
# "vm: N passed, M failed". A guest that does not boot, or hangs, is killed
# after KSPAN_VM_TIMEOUT seconds (default 900) and its missing runs fail.
#
# Environment: KSPAN_VM_CACHE (/var/cache/kspan-vm), KSPAN_VM_BACKENDS,
# KSPAN_VM_TIMEOUT. The guest's console is kept in build/test-logs/vm-console.log.
set -u
cd "$(dirname "$0")/../.."
cache=${KSPAN_VM_CACHE:-/var/cache/kspan-vm}
backends=${KSPAN_VM_BACKENDS:-tracepoint,kprobe,fentry,auto}
limit=${KSPAN_VM_TIMEOUT:-900}
log=build/test-logs/vm-console.log
mkdir -p build/test-logs

give_up() {
	echo "vm: $1"
	echo "vm: 0 passed, $(tr ',' '\n' <<<"$backends" | wc -l) failed"
	exit 1
}

kernel=$(tests/vm/fetch_kernel.sh "$cache") || give_up "no guest kernel"
[ -x build/kspan-static ] || give_up "build/kspan-static is missing (make build/kspan-static)"
busybox=$(command -v busybox) || give_up "busybox is missing (package busybox-static)"

work=$(mktemp -d /tmp/kspan-vm.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,proc,sys,dev,tmp,www}
cp "$busybox" "$root/bin/busybox"
cp build/kspan-static "$root/kspan"
cp tests/vm/guest_init.sh "$root/init"
gcc -static -O2 -Wall -Wextra -Werror -o "$root/vm_client" tests/vm/vm_client.c ||
	give_up "building vm_client failed"
echo "<html>kspan vm test</html>" >"$root/www/index.html"
for pair in write writev sendto sendmsg; do
	echo "<html>$pair</html>" >"$root/www/io-$pair.html"
done
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz" ||
	give_up "building the initramfs failed"

echo "vm: booting $(basename "$kernel") under QEMU (TCG), backends $backends"
start=$(date +%s)
timeout --kill-after=10 "$limit" qemu-system-x86_64 -accel tcg -cpu max -m 1024 -smp 1 \
	-nographic -no-reboot -kernel "$kernel" -initrd "$work/initrd.gz" \
	-append "console=ttyS0 panic=-1 quiet kspan_backends=$backends" \
	</dev/null >"$log" 2>&1
rc=$?
echo "vm: guest ran $(($(date +%s) - start)) s (qemu exit $rc$([ $rc = 124 ] && echo ': timed out'))"
/usr/bin/python3 tests/vm/check_spans.py --backends "$backends" "$log"
