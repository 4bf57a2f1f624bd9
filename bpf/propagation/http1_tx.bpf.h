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
#include "http1_tx_boundary.h"
#include "http2_detect.h"
#include "propagation/go_parent.bpf.h"
#include "propagation/inject_sockets.bpf.h"
#include "propagation/nginx_parent.bpf.h"
#include "propagation/node_parent.bpf.h"
#include "propagation/passthrough.bpf.h"
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

/* A connection stopped being followed (http1_tx_boundary.h): one count per
 * connection, by cause. */
static __always_inline void h1_tx__count_stop(int why)
{
	switch (why) {
	case H1_TX_STOP_UNFOLLOWED:
		counter__inc(KSPAN_CNT_H1_TX_UNFOLLOWED);
		break;
	case H1_TX_STOP_UNFRAMED:
		counter__inc(KSPAN_CNT_H1_TX_UNFRAMED);
		break;
	case H1_TX_STOP_NOT_REQUEST:
		counter__inc(KSPAN_CNT_H1_TX_NOT_REQUEST);
		break;
	case H1_TX_STOP_HEAD_CUT:
		counter__inc(KSPAN_CNT_INJECT_SKIPPED);
		break;
	case H1_TX_STOP_OVERRUN:
		counter__inc(KSPAN_CNT_H1_TX_OVERRUN);
		break;
	}
}

/*
 * The boundary check of a write's entry (http1_tx_boundary.h), when kspan
 * inserts headers. Returns the insertion offset (just past the request
 * line) when the write starts a request kspan may edit, else 0; *body is
 * set when the write continues the current request (its bytes are a body,
 * whatever they look like). The client socket's first write also decides
 * whether the socket stays in the sockhash (inject_sockets.bpf.h).
 */
static __always_inline __u32 h1_tx__enter(struct conn_state *c, struct data_scratch *s,
					  const struct http1_head_scan *head, __u64 sk, bool method,
					  bool *body)
{
	struct h1_tx_write w = {};
	bool first = c->h1_tx.state == H1_TX_UNSEEN;
	int insert, why;

	*body = c->h1_tx.state == H1_TX_IN_MSG;
	if (first)
		w.in_sync = !c->adopted && socket__nothing_written(sk);
	else
		w.in_sync = socket__write_seq(sk) == c->h1_tx.seq;
	w.request_start = method;
	if (method && c->h1_tx.state != H1_TX_STOPPED && !*body)
		w.frame_rc = (__s8)http1_request_frame_of_scan(s->payload, head, &w.frame);
	why = h1_tx_enter(&c->h1_tx, &w, &insert);
	h1_tx__count_stop(why);
	if (why)
		*body = false;
	if (first)
		inject_sockets__judge(sk, insert && c->h1_tx.state == H1_TX_IN_MSG);
	return insert ? head->line_end : 0;
}

/* The exit of a write on an HTTP/1 CLIENT connection: `bytes` moved. */
static __always_inline void h1_tx__exit(struct conn_state *c, __u64 sk, __u32 bytes)
{
	if (config__insert_headers())
		h1_tx__count_stop(h1_tx_exit(&c->h1_tx, bytes, socket__write_seq(sk)));
}

/*
 * Entry of a write on a client (or not yet known) connection: when the bytes
 * start an HTTP/1.x request, its CLIENT context is decided now - before the
 * bytes can reach the peer - and kept in `in` for the DATA event at exit. Its
 * parent is the request's own traceparent, else the SERVER request the thread
 * serves. Without a traceparent of its own, the request is remembered for the
 * peer on this node and, when it starts at a real request boundary
 * (h1_tx__enter), marked for header insertion (header_insertion.bpf.h).
 */
__noinline int kspan_client_request_enter(struct inflight_syscall *in)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct head_scratch *head;
	struct thread_request serving;
	struct kspan_trace_ctx *ctx;
	struct conn_state *c;
	struct data_scratch *s;
	__u32 zero = 0, want, captured, inject_off = 0;
	bool method, body = false;

	if (!in || !in->buf)
		return 0;
	c = conn__get(id >> 32, in->sk, KSPAN_ROLE_UNKNOWN, true);
	/* A TLS connection's writes are ciphertext: never edited. */
	if (!c || c->ignored || c->role == KSPAN_ROLE_SERVER || c->tls)
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
	if (http2_is_preface_start(s->payload, captured)) {
		if (c->h1_tx.state == H1_TX_UNSEEN && config__insert_headers())
			inject_sockets__judge(in->sk,
					      !c->adopted && socket__nothing_written(in->sk));
		return CLIENT_ENTER_H2_PREFACE;
	}
	method = http1_request_method_len(s->payload, 0, captured) != 0;
	/* One scan of a request's head serves the insertion's framing and
	 * the trace context. */
	head = bpf_map_lookup_elem(&head_scan_scratch, &zero);
	if (!head)
		return 0;
	if (method)
		kspan_head_scan(s, captured, &head->scan);
	if (config__insert_headers())
		inject_off = h1_tx__enter(c, s, &head->scan, in->sk, method, &body);
	/* Bytes of the request being written (a body that starts like a
	 * request) begin nothing. */
	if (!method || body)
		return 0;
	ctx = &s->ev.ctx;
	__builtin_memset(ctx, 0, sizeof(*ctx));
	kspan_trace_ctx_decide_scanned(s, head);
	if (!(ctx->flags & KSPAN_CTX_F_HAS_HEADER)) {
		if (thread__serving(&serving)) {
			__builtin_memcpy(ctx->trace_id, serving.trace_id, 16);
			__builtin_memcpy(ctx->parent_span_id, serving.span_id, 8);
			ctx->trace_flags = serving.trace_flags;
			ctx->flags |= KSPAN_CTX_F_HAS_PARENT;
			in->inject_tracestate = thread__tracestate(serving.span_id) != NULL;
		} else {
			if (!nginx__parent(in->sk, ctx) && !go__parent(ctx))
				node__parent(ctx, in);
		}
		trace_ctx__mark_unattributed(ctx);
		/* Only a server on this node can claim it (peer__claim):
		 * for others the entry would only age out of the LRU. */
		if ((propagation & KSPAN_PROPAGATE_TUPLE) && kspan_peer_on_node(&c->tuple))
			peer__remember(&c->tuple, in->sk, ctx);
		in->inject_off = (__u16)inject_off;
	} else {
		kspan_passthrough_client_request(c, in, head, ctx, inject_off);
	}
	in->local_port = c->tuple.local_port;
	in->ctx = *ctx;
	return 0;
}

#endif /* KSPAN_HTTP1_TX_BPF_H */
