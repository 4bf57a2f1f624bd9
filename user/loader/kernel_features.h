/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * kernel_features.h - what the running kernel lets each probe backend do,
 * asked of the kernel itself (BTF, a trial program, sysfs), never
 * inferred from its version. Every check that fails writes one short reason
 * ("fentry refused: Operation not permitted") for the startup line.
 */
#ifndef KSPAN_KERNEL_FEATURES_H
#define KSPAN_KERNEL_FEATURES_H

#include <stdbool.h>
#include <stddef.h>

struct btf;

/* The kernel's BTF (/sys/kernel/btf/vmlinux), parsed once; NULL on error. */
struct btf *kernel_btf_load(void);
/* Is `func` a function of the kernel's BTF (traceable by fentry, probably
 * not inlined)? */
bool kernel_btf_has_func(const struct btf *btf, const char *func);
/* Does the kernel's BTF describe tracepoint `name` (its btf_trace_NAME
 * typedef, which a tp_btf program needs to attach)? */
bool kernel_btf_has_tracepoint(const struct btf *btf, const char *name);
/* 0-based position of parameter `param` of kernel function `func`, or -1. */
int kernel_btf_param_index(const struct btf *btf, const char *func, const char *param);

/* Loads and attaches a trivial fentry program on `func`. 0, or a negative
 * errno with the reason in why. */
int kernel_fentry_can_attach(const struct btf *btf, const char *func, char *why, size_t why_len);
/* Is there a kprobe PMU (perf_event_open kprobes, CONFIG_KPROBES)? */
int kernel_kprobe_pmu_exists(char *why, size_t why_len);

#endif /* KSPAN_KERNEL_FEATURES_H */
