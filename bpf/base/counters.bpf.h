/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* counters.bpf.h - per-CPU counters of what the kernel side lost or sent
 * (the error idiom of bpf/README.md), and ring buffer sends that count
 * their drops. */
#ifndef KSPAN_COUNTERS_BPF_H
#define KSPAN_COUNTERS_BPF_H

#include "base/config.bpf.h"
#include "base/maps.bpf.h"

static __always_inline void counter__inc(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &which);

	if (v)
		*v += 1; /* per-CPU slot: no other writer */
}

/*
 * Wake-ups are batched: the reader is woken once, by the record that brings
 * the waiting data to wakeup_data_bytes (`size`: that record's bytes;
 * `reserved`: already counted, a reserve/submit pair). Not by every record
 * past it: until the reader runs and drains the ring, each forced wake-up
 * queues the ring's irq_work again, and raising it is a self-IPI (an APIC
 * MSR write, which traps to the hypervisor in a VM): measured with perf,
 * that was a quarter of kspan's BPF time per exchange on a busy 2-vCPU VM.
 * One wake-up is enough: the reader's epoll is level-triggered and
 * ring_buffer__poll() consumes until the ring is empty, and it also reads
 * the ring at least once per poll timeout.
 * A global function: verified once, and its answer is one unknown value to
 * its callers, not a fork of their verifier states at every send (6.1 runs
 * out of its 1M instructions on sys_exit otherwise).
 */
__noinline __u64 kspan_ringbuf_wakeup_flags(__u64 size, __u32 reserved)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 before = avail;

	if (reserved)
		before = avail > size ? avail - size : 0;
	return before < wakeup_data_bytes && before + size >= wakeup_data_bytes
		   ? BPF_RB_FORCE_WAKEUP
		   : BPF_RB_NO_WAKEUP;
}

static __always_inline __u64 ringbuf__wakeup_flags(__u64 size, bool reserved)
{
	return kspan_ringbuf_wakeup_flags(size, reserved);
}

/* bpf_ringbuf_output() that counts what it could not send. */
static __always_inline int ringbuf__send(void *data, __u64 size)
{
	int err = bpf_ringbuf_output(&events, data, size, ringbuf__wakeup_flags(size, false));

	if (err)
		counter__inc(KSPAN_CNT_RINGBUF_DROPS);
	return err;
}

/* ringbuf__send() that wakes the reader now: for a record the agent must act
 * on before the process goes on (an exec, whose uprobes the agent attaches). */
static __always_inline int ringbuf__send_now(void *data, __u64 size)
{
	int err = bpf_ringbuf_output(&events, data, size, BPF_RB_FORCE_WAKEUP);

	if (err)
		counter__inc(KSPAN_CNT_RINGBUF_DROPS);
	return err;
}

#endif /* KSPAN_COUNTERS_BPF_H */
