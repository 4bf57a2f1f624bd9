/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * data_capture.bpf.h - turn one completed read/write on a connection into a
 * DATA event: copy a prefix of the bytes, recognise HTTP/1.x message starts,
 * decide the trace context of a request, and send it to the ring buffer.
 */
#ifndef KSPAN_DATA_CAPTURE_BPF_H
#define KSPAN_DATA_CAPTURE_BPF_H

#include "base/conn_tracking.bpf.h"
#include "http1_detect.h"
#include "http1_request_shape.h"
#include "http2_detect.h"
#include "base/process_info.bpf.h"
#include "propagation/trace_context.bpf.h"
#include "w3c_traceparent.h"

/* Internal syscall kinds that never reach the ABI. */
#define INFLIGHT_CONNECT      100
#define INFLIGHT_SELF_CONNECT 101

/* How many iovec entries a readv/writev/sendmsg capture walks. */
#define CAPTURE_MAX_IOVECS 4

/* min(n, max) in a register the verifier tracks: without the barrier clang
 * may pass an unclamped copy of n to the helper call. */
static __always_inline __u64 bound_len(__u64 n, __u64 max)
{
	if (n > max)
		n = max;
	asm volatile("" : "+r"(n));
	return n;
}

/* iovcnt flag: the iovec array itself is kernel memory (its buffers are
 * user memory). The socket-function backends find the array the kernel
 * copied in from the process (import_iovec), not the process's own. */
#define CAPTURE_IOV_KERNEL (1u << 31)

/* min(count, max) of an iovcnt, keeping CAPTURE_IOV_KERNEL. */
static __always_inline __u32 capture__iov_limit(__u32 iovcnt, __u32 max)
{
	__u32 n = iovcnt & ~CAPTURE_IOV_KERNEL;

	return (n < max ? n : max) | (iovcnt & CAPTURE_IOV_KERNEL);
}

/*
 * Copies up to `want` (<= KSPAN_CAPTURE_MAX) bytes of the syscall's user
 * buffer (iovcnt == 0) or iovec array (CAPTURE_IOV_KERNEL: one the kernel
 * copied) into s->payload, starting `skip` bytes
 * into the data; returns how many were copied, walking at most
 * CAPTURE_MAX_IOVECS entries (HTTP/2 walks more, with its own cursor:
 * http2_capture.bpf.h). A global function: the verifier checks it once, not
 * once per caller and path, which keeps every program far below its limits.
 */
__noinline int kspan_capture_copy_range(struct data_scratch *s, __u64 buf, __u32 iovcnt, __u32 skip,
					__u32 want)
{
	bool iov_kernel = iovcnt & CAPTURE_IOV_KERNEL;
	__u64 off = 0;

	if (!s)
		return 0;
	iovcnt &= ~CAPTURE_IOV_KERNEL;
	if (iovcnt == 0) {
		__u64 n = bound_len(want, KSPAN_CAPTURE_MAX);
		if (bpf_probe_read_user(s->payload, n, (void *)(buf + skip))) {
			counter__inc(KSPAN_CNT_CAPTURE_FAULTS);
			return 0;
		}
		return (int)n;
	}
	for (__u32 i = 0; i < CAPTURE_MAX_IOVECS && i < iovcnt; i++) {
		void *entry = (void *)(buf + i * sizeof(struct iovec));
		struct iovec iov;
		long err;
		__u64 n;

		if (off >= want)
			break;
		if (iov_kernel)
			err = bpf_probe_read_kernel(&iov, sizeof(iov), entry);
		else
			err = bpf_probe_read_user(&iov, sizeof(iov), entry);
		if (err) {
			counter__inc(KSPAN_CNT_CAPTURE_FAULTS);
			break;
		}
		if (skip >= iov.iov_len) {
			skip -= iov.iov_len;
			continue;
		}
		n = iov.iov_len - skip;
		if (n > want - off)
			n = want - off;
		n = bound_len(n, KSPAN_CAPTURE_MAX);
		off &= KSPAN_CAPTURE_MAX - 1;
		if (bpf_probe_read_user(&s->payload[off], n,
					(void *)((__u64)iov.iov_base + skip))) {
			counter__inc(KSPAN_CNT_CAPTURE_FAULTS);
			break;
		}
		skip = 0;
		off += n;
	}
	return (int)off;
}

/* The first `want` bytes, through at most CAPTURE_MAX_IOVECS entries. */
static __always_inline int kspan_capture_copy(struct data_scratch *s, __u64 buf, __u32 iovcnt,
					      __u32 want)
{
	return kspan_capture_copy_range(s, buf, capture__iov_limit(iovcnt, CAPTURE_MAX_IOVECS), 0,
					want);
}

/* Does the payload begin an HTTP/1.x request or response? */
__noinline int kspan_message_start(struct data_scratch *s, __u32 captured)
{
	if (!s)
		return 0;
	if (captured > KSPAN_CAPTURE_MAX)
		captured = KSPAN_CAPTURE_MAX;
	if (http1_request_method_len(s->payload, 0, captured))
		return KSPAN_DATA_F_MSG_START_REQUEST;
	if (http1_is_response_start(s->payload, 0, captured))
		return KSPAN_DATA_F_MSG_START_RESPONSE;
	return 0;
}

/*
 * The trace context of a request that starts in this payload: the one its
 * `traceparent` header carries when valid (a server receiving a traced
 * request, or a client whose own instrumentation already propagates), else a
 * new random trace. The span id is always new.
 */
__noinline int kspan_trace_ctx_decide(struct data_scratch *s, __u32 captured)
{
	struct kspan_trace_ctx *ctx;
	struct w3c_trace_context tc = {};
	__u32 off = 0, len = 0;

	if (!s)
		return 0;
	ctx = &s->ev.ctx;
	if (captured > KSPAN_CAPTURE_MAX)
		captured = KSPAN_CAPTURE_MAX;

	ctx->flags = KSPAN_CTX_F_VALID;
	random__fill(ctx->span_id, 2);
	if (!(ctx->span_id[0] | ctx->span_id[7]))
		ctx->span_id[7] = 1;
	if (http1_find_header(s->payload, captured, KSPAN_CTX_SCAN_MAX, "traceparent", 11, &off,
			      &len) == 0) {
		/* Present, even if invalid: a request that names its own
		 * context is never given a second traceparent. */
		ctx->flags |= KSPAN_CTX_F_HAS_HEADER;
		if (w3c_traceparent_parse(s->payload, off, len, &tc))
			goto new_trace;
		__builtin_memcpy(ctx->trace_id, tc.trace_id, 16);
		__builtin_memcpy(ctx->parent_span_id, tc.parent_id, 8);
		/* Only the sampled bit is defined in version 00 (W3C 3.2.2.5). */
		ctx->trace_flags = tc.trace_flags & 1;
		ctx->flags |= KSPAN_CTX_F_HAS_PARENT;
		if (http1_find_header(s->payload, captured, KSPAN_CTX_SCAN_MAX, "tracestate", 10,
				      &off, &len) == 0)
			ctx->flags |= KSPAN_CTX_F_HAS_TRACESTATE;
		return 0;
	}
new_trace:
	random__fill(ctx->trace_id, 4);
	if (!(ctx->trace_id[0] | ctx->trace_id[15]))
		ctx->trace_id[15] = 1;
	ctx->trace_flags = 1; /* a new trace is sampled; userspace samplers decide later */
	return 0;
}

/* Bytes a write(2)/sendto(2) was asked to move (its third argument): the
 * capture at entry must not look past them. */
static __always_inline __u32 entry__write_len(void)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	return (__u32)bound_len(PT_REGS_PARM3_CORE_SYSCALL(regs), KSPAN_CAPTURE_MAX);
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
 * peer on this node and marked for header insertion (header_injection.bpf.h).
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
	want = in->iovcnt ? capture_bytes : entry__write_len();
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

/* A SERVER request began: keep its tracestate (when its traceparent was
 * valid, W3C 3.3) for the CLIENT requests the thread sends while serving it. */
static __always_inline void data__remember_tracestate(struct data_scratch *s, __u32 captured)
{
	__u32 off = 0, len = 0;

	if ((propagation & KSPAN_PROPAGATE_HEADERS) &&
	    (s->ev.ctx.flags & KSPAN_CTX_F_HAS_TRACESTATE) &&
	    http1_find_header(s->payload, captured, KSPAN_CTX_SCAN_MAX, "tracestate", 10, &off,
			      &len) == 0)
		thread__set_tracestate(s->ev.ctx.span_id,
				       &s->payload[off & (KSPAN_CTX_SCAN_MAX - 1)], len);
	else
		thread__set_tracestate(s->ev.ctx.span_id, s->payload, 0);
}

static __always_inline void role__learn(struct conn_state *c, __u8 direction, __u16 start)
{
	if (c->role != KSPAN_ROLE_UNKNOWN || !start)
		return;
	/* Whoever reads a request, or writes a response, is the server. */
	if ((start == KSPAN_DATA_F_MSG_START_REQUEST) == (direction == KSPAN_DIR_INGRESS))
		c->role = KSPAN_ROLE_SERVER;
	else
		c->role = KSPAN_ROLE_CLIENT;
}

/* The fields of a DATA event that only depend on the connection and the
 * syscall. Numbered (seq) by the caller, before sending: a failed send leaves
 * a gap userspace sees. */
static __always_inline void data__fill_event(struct data_scratch *s, const struct conn_state *c,
					     const struct inflight_syscall *in, __u64 id, __u64 now,
					     __u32 bytes, __u32 captured)
{
	__builtin_memset(&s->ev, 0, sizeof(s->ev));
	s->ev.hdr.type = KSPAN_EVENT_DATA;
	s->ev.hdr.tgid = id >> 32;
	s->ev.hdr.tid = (__u32)id;
	s->ev.hdr.ts_ns = now;
	s->ev.conn_id = c->conn_id;
	s->ev.ts_enter_ns = in->ts_enter;
	s->ev.tuple = c->tuple;
	s->ev.bytes_total = bytes;
	s->ev.captured_len = captured;
	s->ev.flags = (captured < bytes ? KSPAN_DATA_F_TRUNCATED : 0) |
		      (c->announced ? 0 : KSPAN_DATA_F_NEW_CONN) |
		      (c->adopted ? KSPAN_DATA_F_ADOPTED : 0);
	s->ev.direction = in->direction;
	s->ev.role = c->role;
	s->ev.protocol = c->protocol;
	s->ev.syscall = in->syscall;
}

#include "capture/http2_capture.bpf.h"
#include "propagation/http2_tx.bpf.h"

/* A read or write of `bytes` bytes completed on a traced socket. */
static __always_inline void data__handle(const struct inflight_syscall *in, __u32 bytes)
{
	__u64 id = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns();
	__u32 tgid = id >> 32, zero = 0, captured = 0, want;
	struct conn_state *c;
	struct data_scratch *s;
	__u16 start;

	c = conn__get(tgid, in->sk, KSPAN_ROLE_UNKNOWN, true);
	if (!c || c->ignored)
		return;
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return;
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
			return;
	}
	if (c->protocol == KSPAN_PROTO_HTTP2) {
		if (in->direction == KSPAN_DIR_EGRESS)
			kspan_h2_tx_exit(c, bytes, now);
		h2__capture(c, s, in, id, now, bytes);
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
		if (in->direction == KSPAN_DIR_EGRESS)
			kspan_h2_tx_exit(c, bytes, now);
		h2__capture(c, s, in, id, now, bytes);
		return;
	}
	start = (__u16)kspan_message_start(s, captured);
	role__learn(c, in->direction, start);

	data__fill_event(s, c, in, id, now, bytes, captured);
	s->ev.flags |= start;
	s->ev.seq = c->next_seq[in->direction == KSPAN_DIR_EGRESS]++;
	if (start == KSPAN_DATA_F_MSG_START_REQUEST) {
		if (in->ctx.flags & KSPAN_CTX_F_VALID) {
			s->ev.ctx = in->ctx; /* a CLIENT request, decided at entry */
		} else {
			kspan_trace_ctx_decide(s, captured);
			if (c->role == KSPAN_ROLE_SERVER && in->direction == KSPAN_DIR_INGRESS) {
				peer__claim(&c->tuple, in->sk, bytes, &s->ev.ctx);
				thread__begin_server(c->conn_id, &s->ev.ctx);
				data__remember_tracestate(s, captured);
			}
		}
		s->ev.ctx.flags &= ~KSPAN_CTX_F_HAS_HEADER; /* kernel-internal */
	} else if (start == KSPAN_DATA_F_MSG_START_RESPONSE && c->role == KSPAN_ROLE_SERVER &&
		   in->direction == KSPAN_DIR_EGRESS) {
		thread__end_server(c->conn_id);
	}

	/* A process is new only on a connection that never sent an event. */
	if (!c->announced)
		process__announce(tgid, c->proc_start_ns, now);
	if (ringbuf__send(s, sizeof(s->ev) + bound_len(captured, KSPAN_CAPTURE_MAX)) == 0)
		c->announced = 1;
}

#endif /* KSPAN_DATA_CAPTURE_BPF_H */
