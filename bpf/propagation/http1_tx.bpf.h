/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http1_tx.bpf.h - the request an HTTP/1.x CLIENT writes, decided in the
 * kernel at the write's entry (the HTTP/1 counterpart of http2_tx.bpf.h):
 * its trace context, remembered for the peer on this node, and where the
 * sk_msg program inserts kspan's traceparent (header_insertion.bpf.h).
 */
#ifndef KSPAN_HTTP1_TX_BPF_H
#define KSPAN_HTTP1_TX_BPF_H

#include "base/conn_tracking.bpf.h"
#include "capture/copy.bpf.h"
#include "http1_request_shape.h"
#include "http2_detect.h"
#include "propagation/trace_context.bpf.h"

/* Bytes a write of a flat buffer was asked to move (inflight__flat_len):
 * the capture at entry must not look past them. */
static __always_inline __u32 entry__write_len(const struct inflight_syscall *in)
{
	return (__u32)bound_len(inflight__flat_len(in), KSPAN_CAPTURE_MAX);
}

/* kspan_client_request_enter's answers besides 0: the write is on an HTTP/2
 * CLIENT connection, or begins one with the client preface. The caller then
 * plans its streams (kspan_h2_tx_enter, http2_tx.bpf.h): a call of its own,
 * not one nested in this, keeps the chain within 6.1's 512-byte stack. */
#define CLIENT_ENTER_H2		1
#define CLIENT_ENTER_H2_PREFACE 2

/*
 * Entry of a write on a client (or not yet known) connection: when the bytes
 * start an HTTP/1.x request, its CLIENT context is decided now - before the
 * bytes can reach the peer - and kept in `in` for the DATA event at exit. Its
 * parent is the request's own traceparent, else the SERVER request the thread
 * serves. Without a traceparent of its own, the request is remembered for the
 * peer on this node and marked for header insertion (header_insertion.bpf.h).
 */
__noinline int kspan_client_request_enter(struct inflight_syscall *in)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct thread_request serving;
	struct http1_request_shape shape;
	struct kspan_trace_ctx *ctx;
	struct conn_state *c;
	struct data_scratch *s;
	__u32 zero = 0, want, captured;

	if (!in || !in->buf)
		return 0;
	c = conn__get(id >> 32, in->sk, KSPAN_ROLE_UNKNOWN, true);
	if (!c || c->ignored || c->role == KSPAN_ROLE_SERVER)
		return 0;
	if (c->protocol == KSPAN_PROTO_HTTP2)
		return c->role == KSPAN_ROLE_CLIENT ? CLIENT_ENTER_H2 : 0;
	if (c->protocol != KSPAN_PROTO_UNKNOWN && c->protocol != KSPAN_PROTO_HTTP1)
		return 0;
	if (c->protocol == KSPAN_PROTO_UNKNOWN && tuple__peer_is_self(&c->tuple))
		return 0;
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;
	want = in->iovcnt ? capture_bytes : entry__write_len(in);
	if (want > capture_bytes)
		want = capture_bytes;
	captured =
	    (__u32)bound_len(kspan_capture_copy(s, in->buf, in->iovcnt, want), KSPAN_CAPTURE_MAX);
	/* The client preface (prior knowledge, or after an h2c upgrade): its
	 * frames are followed from here on. */
	if (http2_is_preface_start(s->payload, captured))
		return CLIENT_ENTER_H2_PREFACE;
	if (!http1_request_method_len(s->payload, 0, captured))
		return 0;
	ctx = &s->ev.ctx;
	__builtin_memset(ctx, 0, sizeof(*ctx));
	kspan_trace_ctx_decide(s, captured);
	if (!(ctx->flags & KSPAN_CTX_F_HAS_HEADER)) {
		if (thread__serving(&serving)) {
			__builtin_memcpy(ctx->trace_id, serving.trace_id, 16);
			__builtin_memcpy(ctx->parent_span_id, serving.span_id, 8);
			ctx->trace_flags = serving.trace_flags;
			ctx->flags |= KSPAN_CTX_F_HAS_PARENT;
			in->inject_tracestate = thread__tracestate(serving.span_id) != NULL;
		}
		peer__remember(&c->tuple, in->sk, ctx);
		if (propagation & KSPAN_PROPAGATE_HEADERS) {
			http1_request_shape_scan(s->payload, captured, &shape);
			if (shape.line_end && shape.block_end)
				in->inject_off = (__u16)shape.line_end;
			else
				counter__inc(KSPAN_CNT_INJECT_SKIPPED);
		}
	}
	in->local_port = c->tuple.local_port;
	in->ctx = *ctx;
	return 0;
}

#endif /* KSPAN_HTTP1_TX_BPF_H */
