/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * node_parent.bpf.h - the parent of a CLIENT request node writes while its
 * event loop runs the read callback of a SERVER connection.
 *
 * node serves every connection on one thread, so its thread_request marks that
 * thread interleaved and never links it. But node runs an HTTP request's
 * handler synchronously inside the read callback of the connection the
 * request arrived on: libuv's uv__read() read()s the bytes and at once calls
 * the stream's read callback, node::LibuvStreamWrap::OnUvRead(nread, buf),
 * which hands them to the HTTP parser, which calls the JavaScript handler;
 * the nextTick and microtask queues are drained before OnUvRead returns
 * (InternalCallbackScope::Close). A request the handler sends on a kept-alive
 * backend connection (http.get's default agent) is written in there.
 *
 * So between OnUvRead's entry and return (uprobes, attach/uprobe_node.bpf.h)
 * the thread serves exactly the request the read before it delivered, when:
 *   - that read is the one OnUvRead was called for: the same buffer address
 *     and byte count (uv_buf_t.base, nread), read on this thread, with
 *     nothing read on the thread in between (thread_request.read_buf is
 *     reset by the next SERVER request start, and consumed here);
 *   - it delivered exactly one request head and nothing else: the head
 *     ends at the read's end (node's parser, llhttp 9, refuses bare-LF
 *     line ends, so kspan's "\n\r\n" is where node's head ends too), so no
 *     second, pipelined request shares the callback. The handler runs when
 *     the head is complete: a body that follows in later reads does not
 *     matter.
 * Anything else (a head split over reads, pipelining, TLS, a callback
 * inside a callback) links nothing. CLIENT requests written
 * outside such a callback (timers, connect callbacks, promises settled by
 * later I/O) start their own trace and are counted:
 * KSPAN_CNT_NODE_CLIENT_UNATTRIBUTED.
 */
#ifndef KSPAN_NODE_PARENT_BPF_H
#define KSPAN_NODE_PARENT_BPF_H

#include "base/socket_lookup.bpf.h"
#include "propagation/trace_context.bpf.h"

/* A node thread's read callback: the request it serves, if exact. */
struct node_callback {
	__u8 trace_id[16];
	__u8 span_id[8];
	__u8 trace_flags;
	__u8 serving; /* the callback runs, and serves the request above */
	__u8 depth;   /* OnUvRead calls open on the thread */
	__u8 _pad[5];
};

/* key: thread id of a thread that ran node's read callback. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSPAN_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct node_callback);
} node_callbacks SEC(".maps");

/* The request a connection node connect()ed inside a read callback carries
 * first (node's http Agent creates a socket for one request and binds it to
 * it; the request is written later, in the connect callback). */
struct node_connect {
	__u8 trace_id[16];
	__u8 span_id[8];
	__u32 tgid;
	__u8 trace_flags;
	__u8 _pad[3];
};

/* key: struct sock * of the connection. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSPAN_MAX_THREADS);
	__type(key, __u64);
	__type(value, struct node_connect);
} node_connects SEC(".maps");

/* A SERVER request start was read into in->buf by the current thread (t, its
 * thread_request, in its thread_io): remembered for node__callback_enter when the read
 * holds exactly one request head (the scan kspan_trace_ctx_decide just made
 * of it is in head_scan_scratch). */
static __always_inline void node__note_server_read(struct thread_request *t,
						   const struct inflight_syscall *in, __u32 bytes)
{
	struct head_scratch *hs;
	__u32 zero = 0;

	if (!t)
		return;
	t->read_buf = 0;
	hs = bpf_map_lookup_elem(&head_scan_scratch, &zero);
	if (!hs || in->iovcnt || hs->scan.incomplete || hs->scan.block_end != bytes)
		return;
	t->read_buf = in->buf;
	t->read_bytes = bytes;
}

/* OnUvRead(nread, buf) begins on the current thread (buf_base: buf->base). */
static __always_inline void node__callback_enter(long nread, __u64 buf_base)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_request *t = thread__own_request();
	struct node_callback *cb = bpf_map_lookup_elem(&node_callbacks, &tid);
	struct node_callback fresh = {};
	bool exact;

	exact = t && t->open && !t->inherited && t->read_buf && t->read_buf == buf_base &&
		nread > 0 && (__u64)nread == t->read_bytes;
	if (t)
		t->read_buf = 0; /* one callback per read */
	if (!cb) {
		bpf_map_update_elem(&node_callbacks, &tid, &fresh, BPF_NOEXIST);
		cb = bpf_map_lookup_elem(&node_callbacks, &tid);
		if (!cb)
			return;
	}
	if (cb->depth++) {
		cb->serving = 0; /* nested: which request is served is unclear */
		return;
	}
	cb->serving = exact;
	if (!exact || !t)
		return;
	__builtin_memcpy(cb->trace_id, t->trace_id, 16);
	__builtin_memcpy(cb->span_id, t->span_id, 8);
	cb->trace_flags = t->trace_flags;
}

/* OnUvRead returns on the current thread. */
static __always_inline void node__callback_return(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct node_callback *cb = bpf_map_lookup_elem(&node_callbacks, &tid);

	if (!cb || !cb->depth)
		return; /* attached during the call */
	if (--cb->depth == 0)
		cb->serving = 0;
}

/* The current thread connect()s socket sk (a new CLIENT connection). */
static __always_inline void node__connected(__u64 sk)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct node_callback *cb = bpf_map_lookup_elem(&node_callbacks, &tid);
	struct node_connect nc = {};

	if (!cb)
		return; /* not a node thread */
	if (!cb->serving) {
		bpf_map_delete_elem(&node_connects, &sk);
		return;
	}
	__builtin_memcpy(nc.trace_id, cb->trace_id, 16);
	__builtin_memcpy(nc.span_id, cb->span_id, 8);
	nc.trace_flags = cb->trace_flags;
	nc.tgid = (__u32)(id >> 32);
	bpf_map_update_elem(&node_connects, &sk, &nc, BPF_ANY);
}

/* A CLIENT request without a traceparent of its own, on a thread whose
 * requests its thread_request cannot tell: its parent (ctx and in filled, true)
 * when the thread is in node's read callback of one request, or when it is
 * the first request on a connection connect()ed in one (both: they must
 * agree). Any other request of a node thread is counted unattributed. */
static __always_inline bool node__parent(struct kspan_trace_ctx *ctx, struct inflight_syscall *in)
{
	__u64 id = bpf_get_current_pid_tgid(), sk = in->sk, a, b;
	__u32 tid = (__u32)id;
	struct node_callback *cb = bpf_map_lookup_elem(&node_callbacks, &tid);
	struct node_connect *nc;
	bool first, linked = true;

	if (!cb)
		return false; /* not a node thread */
	nc = bpf_map_lookup_elem(&node_connects, &sk);
	/* Only while nothing was written: the first request may have been
	 * linked by the thread's request, without a look here. */
	first = nc && nc->tgid == (__u32)(id >> 32) && socket__nothing_written(sk);
	if (cb->serving) {
		__builtin_memcpy(&a, cb->span_id, 8);
		if (first)
			__builtin_memcpy(&b, nc->span_id, 8);
		if (first && a != b) {
			linked = false;
		} else {
			__builtin_memcpy(ctx->trace_id, cb->trace_id, 16);
			__builtin_memcpy(ctx->parent_span_id, cb->span_id, 8);
			ctx->trace_flags = cb->trace_flags;
		}
	} else if (first) {
		__builtin_memcpy(ctx->trace_id, nc->trace_id, 16);
		__builtin_memcpy(ctx->parent_span_id, nc->span_id, 8);
		ctx->trace_flags = nc->trace_flags;
	} else {
		linked = false;
	}
	if (nc)
		bpf_map_delete_elem(&node_connects, &sk); /* the first request only */
	if (!linked) {
		counter__inc(KSPAN_CNT_NODE_CLIENT_UNATTRIBUTED);
		return false;
	}
	ctx->flags |= KSPAN_CTX_F_HAS_PARENT;
	in->inject_tracestate = thread__tracestate(ctx->parent_span_id) != NULL;
	counter__inc(KSPAN_CNT_NODE_CLIENT_LINKED);
	return true;
}

#endif /* KSPAN_NODE_PARENT_BPF_H */
