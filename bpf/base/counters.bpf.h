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

/* Wake-ups are batched: the reader is woken only when wakeup_data_bytes are
 * waiting. */
static __always_inline __u64 ringbuf__wakeup_flags(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_data_bytes
		   ? BPF_RB_FORCE_WAKEUP
		   : BPF_RB_NO_WAKEUP;
}

/* bpf_ringbuf_output() that counts what it could not send. */
static __always_inline int ringbuf__send(void *data, __u64 size)
{
	int err = bpf_ringbuf_output(&events, data, size, ringbuf__wakeup_flags());

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
