/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * inflight.bpf.h - a thread's socket syscall between its entry and its exit,
 * kept in the thread's task storage (thread_io, base/maps.bpf.h): a
 * cached get costs about as much as an array lookup, and nothing is deleted
 * at the exit (the slot is marked empty) or when the thread ends (the kernel
 * frees it with the task). Only a write whose entry planned a traceparent
 * insertion is also copied into the `inflight` hash, for the sk_msg program,
 * which has no task pointer.
 *
 * Task storage is open to tracing programs (kprobe, tracepoint, raw_tp,
 * tp_btf, fentry) since 5.12 (commit a10787e6d58c, "bpf: Enable task local
 * storage for tracing programs"). Its first get on a thread allocates
 * (GFP_ATOMIC) and a get nested in another one on the same CPU returns
 * NULL: both are counted (KSPAN_CNT_INFLIGHT_FULL), the syscall is then not
 * followed.
 */
#ifndef KSPAN_INFLIGHT_BPF_H
#define KSPAN_INFLIGHT_BPF_H

#include "base/counters.bpf.h"
#include "base/maps.bpf.h"

/* The slot in the current thread's state t (thread_io__mine(), which the
 * caller may already hold from its socket cache lookup); NULL is counted. */
static __always_inline struct inflight_syscall *inflight__slot(struct thread_io *t)
{
	if (!t) {
		counter__inc(KSPAN_CNT_INFLIGHT_FULL);
		return NULL;
	}
	return &t->in;
}

/* A write's entry planned an insertion into its first piece: the sk_msg
 * program finds the plan by pid_tgid. Without room, the write goes out
 * unchanged (its span keeps the context decided for it). */
static __always_inline void inflight__publish(__u64 id, struct inflight_syscall *in)
{
	in->in_hash = 0;
	if (!in->inject_off)
		return;
	if (bpf_map_update_elem(&inflight, &id, in, BPF_ANY)) {
		counter__inc(KSPAN_CNT_INFLIGHT_FULL);
		in->inject_off = 0;
		return;
	}
	in->in_hash = 1;
}

/*
 * Takes the current thread's syscall in flight (t: its
 * thread_io__existing()) out of its slot into *out:
 * false when there is none, or when the one there is not the syscall that is
 * returning (`key`: the front-end's name for it, 0 when it has none; an entry
 * whose exit was never seen - attached between the two - must not be taken
 * for a later syscall's).
 */
static __always_inline bool inflight__take(struct thread_io *t, __u64 key,
					   struct inflight_syscall *out)
{
	struct inflight_syscall *in = t ? &t->in : NULL;
	__u64 id;

	if (!in || !in->syscall)
		return false;
	*out = *in;
	in->syscall = 0;
	if (out->in_hash) {
		/* The hash's key, only here: most exits have no plan. */
		id = bpf_get_current_pid_tgid();
		in->in_hash = 0;
		/* A planned parent-id rewrite the sk_msg program never took:
		 * the socket is not in the sockhash (propagation/passthrough). */
		if (out->rewrite_parent) {
			struct inflight_syscall *h = bpf_map_lookup_elem(&inflight, &id);

			if (h && h->inject_off)
				counter__inc(KSPAN_CNT_PASSTHROUGH_UNREACHED);
		}
		bpf_map_delete_elem(&inflight, &id);
	}
	return out->key == key;
}

#endif /* KSPAN_INFLIGHT_BPF_H */
