/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * uprobe_go_goroutines.bpf.h - the Go runtime and net/http uprobes that
 * carry a request from goroutine to goroutine (propagation/go_parent.bpf.h),
 * attached by user/loader/go_tls_attach.c with the crypto/tls ones:
 *
 *   func newproc1(fn *funcval, callergp *g, callerpc uintptr) *g
 *     (runtime, Go 1.18+: every goroutine start, on the system stack)
 *   func (pc *persistConn) roundTrip(req *transportRequest) (*Response, error)
 *     (net/http, the caller's goroutine; transportRequest's first field is
 *      the *Request)
 *   func (r *Request) write(w io.Writer, usingProxy bool, ...) error
 *     (net/http, the connection's writeLoop goroutine)
 *
 * Arguments as Go's register ABI passes them (RAX, RBX, ...), R14 the
 * current g. newproc1's result is read by a probe on its RET (no uretprobe:
 * see uprobe_go_tls.bpf.h); newproc1 runs on the thread's system stack from
 * entry to return, so the thread id keys the call.
 */
#ifndef KSPAN_UPROBE_GO_GOROUTINES_BPF_H
#define KSPAN_UPROBE_GO_GOROUTINES_BPF_H

#include "base/conn_tracking.bpf.h"
#include "propagation/go_parent.bpf.h"

/* thread id -> the callergp of the newproc1 it runs. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSPAN_MAX_THREADS);
	__type(key, __u32);
	__type(value, __u64);
} go_newproc_callers SEC(".maps");

/* {tgid, *http.Request} -> the request its roundTrip's goroutine serves,
 * until the writeLoop takes it (Request.write). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSPAN_MAX_INFLIGHT);
	__type(key, struct goroutine_key);
	__type(value, struct goroutine_request);
} go_request_handoffs SEC(".maps");

static __always_inline void go__newproc_entry(struct pt_regs *ctx)
{
	__u64 caller = ctx->bx, id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;

	if (!process__selected(id >> 32))
		return;
	go__mark_process(id >> 32);
	bpf_map_update_elem(&go_newproc_callers, &tid, &caller, BPF_ANY);
}

/* The new goroutine (RAX) serves what its creator serves, or nothing: a
 * reused g forgets what it served before. */
static __always_inline void go__newproc_return(struct pt_regs *ctx)
{
	__u64 newg = ctx->ax, id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, tgid = id >> 32;
	__u64 *caller = bpf_map_lookup_elem(&go_newproc_callers, &tid);
	__u64 creator;

	if (!caller)
		return;
	creator = *caller;
	bpf_map_delete_elem(&go_newproc_callers, &tid);
	if (newg)
		go__bind(tgid, newg, creator, creator ? go__serving(tgid, creator) : NULL);
}

static __always_inline void go__round_trip(struct pt_regs *ctx)
{
	__u64 treq = ctx->bx, g = ctx->r14;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct goroutine_key k = {.tgid = tgid};
	const struct goroutine_request *r;
	struct goroutine_request hand;

	if (!process__selected(tgid) || !treq ||
	    bpf_probe_read_user(&k.g, sizeof(k.g), (void *)treq) || !k.g)
		return;
	go__mark_process(tgid);
	r = go__serving(tgid, g);
	if (!r) {
		bpf_map_delete_elem(&go_request_handoffs, &k);
		return;
	}
	hand = *r;
	if (!hand.origin_g)
		hand.origin_g = g;
	bpf_map_update_elem(&go_request_handoffs, &k, &hand, BPF_ANY);
}

/* The writing goroutine serves the request its caller served; without a
 * hand-off (a request of a goroutine that serves none), nothing. */
static __always_inline void go__request_write(struct pt_regs *ctx)
{
	__u64 req = ctx->ax, g = ctx->r14;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct goroutine_key k = {.tgid = tgid, .g = req};
	struct goroutine_request *hand;

	if (!process__selected(tgid) || !req)
		return;
	hand = bpf_map_lookup_elem(&go_request_handoffs, &k);
	go__bind(tgid, g, 0, hand);
	if (hand)
		bpf_map_delete_elem(&go_request_handoffs, &k);
}

/* One set, without the preemption guard of the crypto/tls programs: these
 * use no per-CPU scratch that another program on the CPU could overwrite. */
#define KSPAN_GO_GOROUTINE_PROGRAM(name, body)                                                     \
	SEC("uprobe")                                                                              \
	int name(struct pt_regs *ctx)                                                              \
	{                                                                                          \
		body(ctx);                                                                         \
		return 0;                                                                          \
	}

KSPAN_GO_GOROUTINE_PROGRAM(kspan_uprobe_go_newproc, go__newproc_entry)
KSPAN_GO_GOROUTINE_PROGRAM(kspan_uprobe_go_newproc_return, go__newproc_return)
KSPAN_GO_GOROUTINE_PROGRAM(kspan_uprobe_go_round_trip, go__round_trip)
KSPAN_GO_GOROUTINE_PROGRAM(kspan_uprobe_go_request_write, go__request_write)

#endif /* KSPAN_UPROBE_GO_GOROUTINES_BPF_H */
