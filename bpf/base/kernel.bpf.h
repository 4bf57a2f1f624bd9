/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * kernel.bpf.h - the kernel's types (vmlinux.h, generated from BTF) and
 * libbpf's BPF-side headers. Every file of bpf/ reaches them through here,
 * so that each header compiles on its own (make bpf-check).
 */
#ifndef KSPAN_KERNEL_BPF_H
#define KSPAN_KERNEL_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/*
 * A scalar field of the kernel object at ptr. `btf` (a constant in every
 * caller) says whether ptr is typed - a tp_btf or fentry argument, or a field
 * reached from one by plain loads: the verifier then checks a plain load
 * against the kernel's BTF and the JIT makes it one instruction with a fault
 * handler - or only an address (kprobe), which takes a probe read, a helper
 * call several times dearer. Not for pointer fields: loaded plainly, those
 * are typed pointers, not numbers.
 */
#define KERNEL_FIELD(btf, ptr, field) ((btf) ? (ptr)->field : BPF_CORE_READ(ptr, field))

#endif /* KSPAN_KERNEL_BPF_H */
