/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* config.bpf.h - run-time configuration, set by the loader in .rodata before
 * load so the verifier sees constants and dead branches are removed. */
#ifndef KSPAN_CONFIG_BPF_H
#define KSPAN_CONFIG_BPF_H

#include "base/kernel.bpf.h"
#include "kspan_abi.h"
#include "trace_sampling.h"

/* kspan's own tgid: never traced (nor, therefore, its exporter's traffic). */
const volatile __u32 self_tgid = 0;
/* Trace only tgids in traced_pids / ports in traced_ports. */
const volatile __u8 filter_pids = 0;
const volatile __u8 filter_ports = 0;
/* KSPAN_PROPAGATE_* bits (--propagation). */
const volatile __u32 propagation = KSPAN_PROPAGATE_HEADERS | KSPAN_PROPAGATE_TUPLE;
/* Payload bytes captured per syscall, at most KSPAN_CAPTURE_MAX. */
const volatile __u32 capture_bytes = KSPAN_CAPTURE_DEFAULT;
/* Wake the reader only once this much data waits (batched wake-ups); the
 * reader also polls on a short timeout, so nothing waits long. */
const volatile __u64 wakeup_data_bytes = 64 * 1024;
/* Each CPU's share of it, for the DATA records (ringbuf__send_data). */
const volatile __u64 wakeup_cpu_bytes = 32 * 1024;
/* The head sampler (OTEL_TRACES_SAMPLER, _ARG; config/sampler.h): the root
 * sampler (enum kspan_sampler_root), whether a parent's flag decides, and
 * TraceIdRatioBased's rejection threshold (trace_sampling.h). The default is
 * parentbased_always_on. */
const volatile __u8 sampler_root = KSPAN_SAMPLER_ALWAYS_ON;
const volatile __u8 sampler_parent_based = 1;
const volatile __u64 sampler_threshold = 0;

/* Written by the agent (.bss) when header insertion is switched off after
 * load: its start-up self-check found the kernel's bpf_msg_push_data wrong
 * (user/loader/insertion_checks.c). Nothing is planned for insertion then. */
volatile __u32 insert_headers_off = 0;

/* Does the kernel plan traceparent insertions (--propagation headers or all,
 * and not switched off since)? */
static __always_inline bool config__insert_headers(void)
{
	return (propagation & KSPAN_PROPAGATE_HEADERS) && !insert_headers_off;
}

#endif /* KSPAN_CONFIG_BPF_H */
