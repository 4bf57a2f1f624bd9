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

#endif /* KSPAN_KERNEL_BPF_H */
