/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tls_tx.bpf.h - the request a CLIENT writes through a TLS library
 * (capture/tls_calls.bpf.h): its trace context, decided before any of its
 * bytes reach the socket - at the library call's entry when the session's
 * socket is known, else at the first syscall the call makes - so that the
 * server's end on this node finds it (same-node join by request index,
 * trace_context.bpf.h) and the thread's SERVER request is its parent.
 *
 * Nothing is ever inserted: the bytes on the socket are ciphertext, and the
 * plaintext is the process's memory (bpf_probe_write_user is forbidden under
 * lockdown). The context only names the CLIENT span.
 */
#ifndef KSPAN_PROPAGATION_TLS_TX_BPF_H
#define KSPAN_PROPAGATION_TLS_TX_BPF_H

#include "base/conn_tracking.bpf.h"
#include "capture/copy.bpf.h"
#include "capture/tls_calls.bpf.h"
#include "http1_detect.h"
#include "propagation/go_parent.bpf.h"
#include "propagation/passthrough.bpf.h"
#include "propagation/trace_context.bpf.h"

/* A TLS write whose socket is known: when its plaintext starts an HTTP/1.x
 * request on a client (or not yet known) connection, decide its context. */
__noinline int kspan_tls_client_enter(struct tls_call *call)
{
	__u64 id = bpf_get_current_pid_tgid();
	const struct thread_request *serving;
	struct kspan_trace_ctx *ctx;
	struct conn_state *c;
	struct data_scratch *s;
	__u32 zero = 0, want, captured;

	if (!call || !call->sk || call->decided || call->direction != KSPAN_DIR_EGRESS)
		return 0;
	call->decided = 1;
	c = conn__get(id >> 32, call->sk, KSPAN_ROLE_UNKNOWN, true);
	if (!c || c->ignored || c->role == KSPAN_ROLE_SERVER)
		return 0;
	/* HTTP/2 over TLS: the stream contexts are decided in userspace, which
	 * finds the HEADERS frames; the write only names the request its
	 * thread serves, the parent of the streams it starts (a hint: ctx
	 * without KSPAN_CTX_F_VALID, kspan_abi.h). */
	if (c->protocol == KSPAN_PROTO_HTTP2) {
		serving = call->goroutine ? NULL : thread__serving_request();
		if (serving) {
			__builtin_memset(&call->ctx, 0, sizeof(call->ctx));
			__builtin_memcpy(call->ctx.trace_id, serving->trace_id, 16);
			__builtin_memcpy(call->ctx.parent_span_id, serving->span_id, 8);
			call->ctx.trace_flags = serving->trace_flags;
			call->ctx.flags = KSPAN_CTX_F_HAS_PARENT;
		}
		return 0;
	}
	if (c->protocol != KSPAN_PROTO_UNKNOWN && c->protocol != KSPAN_PROTO_HTTP1)
		return 0;
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;
	want = call->len < capture_bytes ? call->len : capture_bytes;
	captured = (__u32)bound_len(kspan_capture_copy(s, call->buf, 0, want), KSPAN_CAPTURE_MAX);
	if (!http1_request_method_len(s->payload, 0, captured))
		return 0;
	ctx = &s->ev.ctx;
	__builtin_memset(ctx, 0, sizeof(*ctx));
	kspan_trace_ctx_decide(s, captured);
	/* A goroutine's thread is not its own: no thread's request is its parent. */
	if (!(ctx->flags & KSPAN_CTX_F_HAS_HEADER) && !call->goroutine) {
		serving = thread__serving_request();
		if (serving) {
			__builtin_memcpy(ctx->trace_id, serving->trace_id, 16);
			__builtin_memcpy(ctx->parent_span_id, serving->span_id, 8);
			ctx->trace_flags = serving->trace_flags;
			ctx->flags |= KSPAN_CTX_F_HAS_PARENT;
		}
		trace_ctx__mark_unattributed(ctx);
	} else if (!(ctx->flags & KSPAN_CTX_F_HAS_HEADER)) {
		go__parent(ctx); /* its goroutine's request */
	} else {
		passthrough__client_tls(ctx);
	}
	if (!c->adopted)
		peer__remember_tls(&c->tuple, c->tls_requests, ctx);
	c->tls_requests++;
	ctx->flags &= ~KSPAN_CTX_F_HAS_HEADER; /* kernel-internal */
	call->ctx = *ctx;
	return 0;
}

/*
 * A TLS write whose request context was decided at its entry returned having
 * written nothing (WANT_READ while a memory-BIO client's handshake is still
 * under way, WANT_WRITE): OpenSSL requires the same call again, and that one
 * decides anew. Its request index is handed back, so that the retry takes
 * the same index (and overwrites the peer's entry) and the server's n-th
 * request still joins the n-th request written.
 */
static __always_inline void tls_tx__retract(const struct tls_call *call)
{
	struct conn_state *c;

	if (!(call->ctx.flags & KSPAN_CTX_F_VALID) || !call->sk)
		return;
	c = conn__get(bpf_get_current_pid_tgid() >> 32, call->sk, KSPAN_ROLE_UNKNOWN, true);
	if (c && c->tls_requests)
		c->tls_requests--;
}

#endif /* KSPAN_PROPAGATION_TLS_TX_BPF_H */
