/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * data_path.bpf.h - the exit of a read or write on a traced socket, shared
 * by every front-end: tells the connection's protocol from its first bytes,
 * sends the bytes as DATA events (capture/), and decides the trace context
 * of a request that starts in them (propagation/). It sits above both
 * levels because it calls into both.
 */
#ifndef KSPAN_DATA_PATH_BPF_H
#define KSPAN_DATA_PATH_BPF_H

#include "base/conn_tracking.bpf.h"
#include "base/process_info.bpf.h"
#include "base/socket_cache.bpf.h"
#include "capture/copy.bpf.h"
#include "capture/data_event.bpf.h"
#include "capture/http1_capture.bpf.h"
#include "capture/http2_capture.bpf.h"
#include "capture/tls_calls.bpf.h"
#include "http2_detect.h"
#include "propagation/go_parent.bpf.h"
#include "propagation/http1_tx.bpf.h"
#include "propagation/http2_tx.bpf.h"
#include "propagation/node_parent.bpf.h"
#include "propagation/passthrough.bpf.h"
#include "propagation/trace_context.bpf.h"
#include "tls_detect.h"

/*
 * Benchmark builds only (tests/bench/bench_bpf_stages.sh, which builds kspan
 * with -DKSPAN_BENCH_STAGE_STOP=N): the data path returns at the end of
 * stage N, so that the BPF time of builds stopped at successive stages tells
 * what each stage costs. Stages: 1 the front-end (filter, socket, the
 * syscall's arguments), 2 the connection, 3 the copy and classification,
 * 4 the event and the trace context; the rest is the ring buffer send.
 * Nothing in a normal build.
 */
#ifdef KSPAN_BENCH_STAGE_STOP
#define data__stage_end(n)                                                                         \
	do {                                                                                       \
		if ((n) == KSPAN_BENCH_STAGE_STOP)                                                 \
			return;                                                                    \
	} while (0)
#else
#define data__stage_end(n) ((void)0)
#endif

/* Bytes of a connection not (yet) known to be HTTP that are TLS records:
 * every call of a probed library that makes syscalls is probed (handshake
 * and shutdown included, capture/tls_calls.bpf.h), so these come from a
 * memory-BIO stack, or a TLS library kspan does not probe (or not yet). A
 * read offers the connection to the library call that may follow on the
 * thread; when none does, the offer's withdrawal counts the connection
 * (capture/tls_calls.bpf.h). */
static __always_inline void data__note_tls_records(struct conn_state *c,
						   const struct inflight_syscall *in,
						   const struct data_scratch *s, __u32 captured)
{
	if (in->direction != KSPAN_DIR_INGRESS || c->tls_records ||
	    !tls_is_record(s->payload, bound_len(captured, 16)))
		return;
	tls_membio__offer(in->sk);
}

/* A SERVER request starts in the bytes just read: if its CLIENT end is on
 * this node, that CLIENT span is its parent (trace_context.bpf.h). */
static __always_inline void data__join_peer(struct conn_state *c, const struct inflight_syscall *in,
					    __u32 bytes, bool tls, struct kspan_trace_ctx *ctx)
{
	if (!tls) {
		peer__claim(&c->tuple, in->sk, bytes, ctx);
		peer__claim_forwarded(&c->tuple, in->sk, bytes, ctx);
		return;
	}
	if (!c->adopted)
		peer__claim_tls(&c->tuple, c->tls_requests, ctx);
	c->tls_requests++;
}

/*
 * A read or write of `bytes` bytes completed on a traced socket; or, `tls`
 * (in->io_flags has KSPAN_IO_TLS), a TLS library call moved `bytes` bytes of
 * plaintext (capture/tls_calls.bpf.h), which take the same path, less
 * everything that follows the bytes on the socket (header insertion's write
 * tracking). `tls` is a constant at every call site, not read from *in: the
 * verifier then drops the TLS branches from the syscall programs and the
 * socket branches from the uprobes (the tp_btf sys_exit program, header
 * insertion on, verified in 999,122 of its 1M instructions before).
 */
static __always_inline void data__handle(const struct inflight_syscall *in, __u32 bytes, bool tls)
{
	__u64 id = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns();
	__u32 tgid = id >> 32, zero = 0, captured = 0, want;
	/* Go crypto/tls calls only (KSPAN_IO_GOROUTINE): their goroutine
	 * serves the request, not the thread. */
	bool goroutine = tls && (in->io_flags & KSPAN_IO_GOROUTINE);
	struct conn_state *c;
	struct data_scratch *s;
	__u16 start;

	data__stage_end(1);
	/* Any socket syscall ends the thread's memory-BIO offer (tls_calls):
	 * its front-end withdraws it before (probe__data, attach/), with the
	 * thread's state it holds. */
	c = conn__get(tgid, in->sk, KSPAN_ROLE_UNKNOWN, true);
	if (!c || c->ignored)
		return;
	if (tls) {
		c->tls = 1;
	} else if (c->tls) {
		/* Ciphertext outside a probed library call (handshake,
		 * close_notify, or a call entered before attach). */
		counter__inc(KSPAN_CNT_TLS_CIPHERTEXT_SKIPPED);
		return;
	}
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return;
	data__stage_end(2);
	if (c->protocol == KSPAN_PROTO_UNKNOWN) {
		/* Only connections seen to carry HTTP/1.x or HTTP/2 produce
		 * events: look at just enough bytes to tell, and stay quiet
		 * otherwise. */
		if (in->syscall == KSPAN_SYS_SENDFILE)
			return;
		/* Checked at the first data rather than at accept: kspan's
		 * connect() may still be returning when the peer accepts. */
		if (tuple__peer_is_self(&c->tuple)) {
			c->ignored = 1;
			return;
		}
		captured = kspan_capture_copy(s, in->buf, in->iovcnt, bytes < 16 ? bytes : 16);
		if (http2_is_preface_start(s->payload, captured))
			h2__begin(c, in->direction);
		else if (kspan_message_start(s, captured))
			c->protocol = KSPAN_PROTO_HTTP1;
		else if (c->adopted && http2_is_headers_frame_start(s->payload, captured))
			c->protocol = KSPAN_PROTO_HTTP2; /* role: userspace infers it */
		else
			data__note_tls_records(c, in, s, captured);
		if (c->protocol == KSPAN_PROTO_UNKNOWN)
			return;
	}
	if (c->protocol == KSPAN_PROTO_HTTP2) {
		if (in->direction == KSPAN_DIR_EGRESS && !tls)
			kspan_h2_tx_exit(c, bytes, now);
		h2__capture(c, s, in, id, now, bytes, tls);
		return;
	}
	want = bytes < capture_bytes ? bytes : capture_bytes;
	if (in->syscall != KSPAN_SYS_SENDFILE)
		captured = (__u32)bound_len(kspan_capture_copy(s, in->buf, in->iovcnt, want),
					    KSPAN_CAPTURE_MAX);
	else
		captured = 0;
	if (http2_is_preface_start(s->payload, captured)) {
		/* h2c upgrade: the client's preface follows "101 Switching
		 * Protocols" (RFC 7540 section 3.2). */
		h2__begin(c, in->direction);
		if (in->direction == KSPAN_DIR_EGRESS && !tls)
			kspan_h2_tx_exit(c, bytes, now);
		h2__capture(c, s, in, id, now, bytes, tls);
		return;
	}
	start = (__u16)kspan_message_start(s, captured);
	data__stage_end(3);
	role__learn(c, in->direction, start);
	/* Syscalls seen from their socket cache (tracepoint front-end): keep
	 * its SERVER mark true (base/socket_cache.bpf.h). */
	if ((in->io_flags & KSPAN_IO_FD_CACHED) &&
	    (c->role == KSPAN_ROLE_SERVER) != !!(in->io_flags & KSPAN_IO_SERVER_SOCKET))
		socket__cache_note_role(in->sk, c->role == KSPAN_ROLE_SERVER);
	if (in->direction == KSPAN_DIR_EGRESS && c->role == KSPAN_ROLE_CLIENT && !tls)
		h1_tx__exit(c, in->sk, bytes);

	data__fill_event(s, c, in, id, now, bytes, captured, tls);
	s->ev.flags |= start;
	s->ev.seq = c->next_seq[in->direction == KSPAN_DIR_EGRESS]++;
	if (start == KSPAN_DATA_F_MSG_START_REQUEST) {
		if (in->ctx.flags & KSPAN_CTX_F_VALID) {
			s->ev.ctx = in->ctx; /* a CLIENT request, decided at entry */
		} else {
			kspan_trace_ctx_decide(s, captured);
			if (c->role == KSPAN_ROLE_SERVER && in->direction == KSPAN_DIR_INGRESS) {
				kspan_passthrough_server_begin(c, &s->ev.ctx);
				data__join_peer(c, in, bytes, tls, &s->ev.ctx);
				conn__begin_server_request(c, &s->ev.ctx);
				/* One lookup of the thread's entry serves all; in a
				 * Go program the goroutine serves it, not the thread. */
				struct thread_request *t =
				    go__begin_server(c, &s->ev.ctx) || goroutine
					? thread__own_request()
					: thread__begin_server(c->conn_id, &s->ev.ctx);

				node__note_server_read(t, in, bytes);
				data__remember_tracestate(s, t);
			}
		}
		s->ev.ctx.flags &= ~KSPAN_CTX_F_HAS_HEADER; /* kernel-internal */
	} else if (start == KSPAN_DATA_F_MSG_START_RESPONSE && c->role == KSPAN_ROLE_SERVER &&
		   in->direction == KSPAN_DIR_EGRESS) {
		c->server_open = 0;
		passthrough__server_end(c);
		if (!go__end_server(c) && !goroutine)
			thread__end_server(c->conn_id);
	}

	data__stage_end(4);
	/* A process is new only on a connection that never sent an event. */
	if (!c->announced)
		process__announce(tgid, c->proc_start_ns, now);
	if (ringbuf__send_data(s, sizeof(s->ev) + bound_len(captured, KSPAN_CAPTURE_MAX)) == 0)
		c->announced = 1;
}

#endif /* KSPAN_DATA_PATH_BPF_H */
