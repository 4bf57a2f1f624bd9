#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# run.sh - the `vm` test suite: kspan's probe backends on a second kernel.
#
# The host cannot run kprobes or fentry (see HOST-KERNEL.md), so this boots
# Debian's 6.1 cloud kernel under QEMU (boot_guest.sh). Inside, kspan-static
# runs once per backend (KSPAN_VM_BACKENDS, default tracepoint,kprobe,fentry,
# auto) while busybox httpd serves busybox wget and vm_client
# (guest_init.sh); check_spans.py then checks what each run printed and
# prints "vm: N passed, M failed". A guest that does not boot or hangs is
# killed after KSPAN_VM_TIMEOUT seconds (default 900) and its missing runs
# fail. KSPAN_VM_VERBOSE=1 runs kspan with -v. The guest's console is kept in
# build/test-logs/vm-console.log.
set -u
cd "$(dirname "$0")/../.."
backends=${KSPAN_VM_BACKENDS:-tracepoint,kprobe,fentry,auto}
log=build/test-logs/vm-console.log
mkdir -p build/test-logs
rm -f "$log" # never judge an earlier run

tests/vm/boot_guest.sh "$log" "${KSPAN_VM_TIMEOUT:-900}" "kspan_backends=$backends" \
	"kspan_verbose=${KSPAN_VM_VERBOSE:-0}"
/usr/bin/python3 tests/vm/check_spans.py --backends "$backends" "$log"
