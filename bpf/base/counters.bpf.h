/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* counters.bpf.h - per-CPU counters of what the kernel side lost or sent
 * (the error idiom of bpf/README.md), and ring buffer sends that count
 * their drops. */
#ifndef KSPAN_COUNTERS_BPF_H
#define KSPAN_COUNTERS_BPF_H

#include "base/config.bpf.h"
#include "base/maps.bpf.h"

static __always_inline void counter__add(__u32 which, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &which);

	if (v)
		*v += n; /* per-CPU slot: no other writer */
}

static __always_inline void counter__inc(__u32 which)
{
	counter__add(which, 1);
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
 * Branch-free (two sign bits, no comparison that yields a value: BPF has no
 * set-on-condition): a branch here forks the verifier's states at every
 * send, and 6.1 then runs out of its 1M instructions on sys_exit. Sizes
 * are far below 2^63, so a difference's top bit is its sign.
 */
static __always_inline __u64 ringbuf__wakeup_flags(__u64 size, bool reserved)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	/* A reserved record is already counted in avail. */
	__u64 before = avail - (reserved ? size : 0);
	__u64 below = (before - wakeup_data_bytes) >> 63;		 /* before < T */
	__u64 reaches = 1 - ((before + size - wakeup_data_bytes) >> 63); /* before + size >= T */

	return BPF_RB_NO_WAKEUP + (below & reaches); /* BPF_RB_FORCE_WAKEUP when both */
}

/* bpf_ringbuf_output() that counts what it could not send: every send
 * below goes through it. */
static __always_inline int ringbuf__output(void *data, __u64 size, __u64 flags)
{
	int err = bpf_ringbuf_output(&events, data, size, flags);

	if (err)
		counter__inc(KSPAN_CNT_RINGBUF_DROPS);
	return err;
}

/* A record whose wake-up follows the ring's fill level. */
static __always_inline int ringbuf__send(void *data, __u64 size)
{
	return ringbuf__output(data, size, ringbuf__wakeup_flags(size, false));
}

/*
 * ringbuf__send() for a DATA record built in the CPU's scratch s (most of
 * the ring's records: one or two per request). Its wake-up is decided from
 * the bytes this CPU sent since it last woke the reader, kept in s, instead
 * of the ring's fill level: bpf_ringbuf_query() reads the ring's producer
 * and consumer positions, cache lines that every other CPU's send and the
 * reader write, and with both ends of loopback traffic traced that miss
 * was 8% of kspan's BPF time (tests/bench/bench_bpf_lines.sh). A CPU wakes
 * the reader once per wakeup_cpu_bytes (probe_loader_wakeup_cpu_bytes:
 * wakeup_data_bytes over the CPU count, at least 16 KiB), so data waits
 * unannounced only while every CPU is below its share: less than the shares
 * summed (wakeup_data_bytes, unless the 16 KiB floor raised them), and
 * without the race of two CPUs that both read the level below the mark. A wake-up the reader did
 * not need (it drained the ring meanwhile) costs one self-IPI per share. Branch-free, as above.
 */
static __always_inline int ringbuf__send_data(struct data_scratch *s, __u64 size)
{
	__u64 total = s->unwoken_bytes + size;
	__u64 reaches = 1 - ((total - wakeup_cpu_bytes) >> 63); /* total >= share */

	s->unwoken_bytes = total * (1 - reaches);
	return ringbuf__output(s, size, BPF_RB_NO_WAKEUP + reaches);
}

/* ringbuf__send() that wakes the reader now: for a record the agent must act
 * on before the process goes on (an exec, whose uprobes the agent attaches). */
static __always_inline int ringbuf__send_now(void *data, __u64 size)
{
	return ringbuf__output(data, size, BPF_RB_FORCE_WAKEUP);
}

#endif /* KSPAN_COUNTERS_BPF_H */
