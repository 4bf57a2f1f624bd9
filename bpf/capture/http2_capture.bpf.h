/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http2_capture.bpf.h - the bytes of HTTP/2 connections.
 *
 * HTTP/2 multiplexes streams in frames that may sit anywhere in a write: the
 * trailers HEADERS frame carrying grpc-status often follows 64 KiB of DATA
 * frames in the same sendmsg(). Userspace must see every frame header, and
 * HPACK must see every header block, in order. So the kernel does not look
 * inside: it copies the whole syscall, up to KSPAN_H2_CAPTURE_MAX bytes, as
 * consecutive DATA events of KSPAN_CAPTURE_MAX bytes (kspan_abi.h). Bytes
 * beyond that bound are announced (one event without payload) so that
 * userspace can skip them if they are DATA payload, or notice that it lost
 * the framing otherwise.
 */
#ifndef KSPAN_CAPTURE_HTTP2_CAPTURE_BPF_H
#define KSPAN_CAPTURE_HTTP2_CAPTURE_BPF_H

#include "base/process_info.bpf.h"
#include "capture/copy.bpf.h"
#include "capture/data_event.bpf.h"

#define H2_MAX_CHUNKS (KSPAN_H2_CAPTURE_MAX / KSPAN_CAPTURE_MAX)

/* The preface was seen going `direction`: whoever writes it is the client. */
static __always_inline void h2__begin(struct conn_state *c, __u8 direction)
{
	c->protocol = KSPAN_PROTO_HTTP2;
	if (c->role == KSPAN_ROLE_UNKNOWN)
		c->role = direction == KSPAN_DIR_EGRESS ? KSPAN_ROLE_CLIENT : KSPAN_ROLE_SERVER;
}

/* Sends one piece of `want` bytes from the cursor (want 0: only a count of
 * s->ev.bytes_total bytes, nothing copied). A piece cut short by the step
 * bound becomes a shorter piece; one whose bytes could not be read is sent
 * without payload, as lost bytes. Returns the bytes the piece accounts for,
 * or -1 when the ring buffer was full. */
__noinline int kspan_h2_send_piece(struct data_scratch *s, __u64 buf, __u32 iovcnt,
				   struct h2_cursor *cur, __u32 want)
{
	int got = 0;
	__u64 len;

	if (!s)
		return -1;
	if (want) {
		got = kspan_h2_copy_from(s, buf, iovcnt, cur, want);
		if (got > 0)
			s->ev.bytes_total = (__u32)got;
		else
			got = 0;
	}
	len = (__u32)got;
	/* clang knows the callee's range; the verifier must see a bound. */
	asm volatile("" : "+r"(len));
	len = bound_len(len, KSPAN_CAPTURE_MAX);
	s->ev.captured_len = (__u32)len;
	if (len < s->ev.bytes_total)
		s->ev.flags |= KSPAN_DATA_F_TRUNCATED;
	else
		s->ev.flags &= ~KSPAN_DATA_F_TRUNCATED;
	if (ringbuf__send_data(s, sizeof(s->ev) + len))
		return -1;
	return (int)s->ev.bytes_total;
}

/*
 * Sends the syscall's `bytes` bytes as pieces; s->ev is filled already
 * (direction and syscall included). A global function: its loop is verified
 * once, not in every exit program that inlines data__handle().
 */
__noinline int kspan_h2_send_all(struct data_scratch *s, struct conn_state *c, __u64 buf,
				 __u32 iovcnt, __u32 bytes)
{
	struct h2_cursor cur = {};
	bool copying;
	__u32 off = 0;
	int dir;

	if (!s || !c)
		return 0;
	dir = s->ev.direction == KSPAN_DIR_EGRESS;
	copying = s->ev.syscall != KSPAN_SYS_SENDFILE; /* sendfile: no user buffer */
	iovcnt = capture__iov_limit(iovcnt, KSPAN_H2_MAX_IOVECS);
	for (__u32 i = 0; i <= H2_MAX_CHUNKS && off < bytes; i++) {
		__u32 rest = bytes - off,
		      want = rest < KSPAN_CAPTURE_MAX ? rest : KSPAN_CAPTURE_MAX;
		int took;

		s->ev.bytes_total = want;
		/* Past the bound (or without a buffer), only a count. */
		if (!copying || i == H2_MAX_CHUNKS) {
			want = 0;
			s->ev.bytes_total = rest;
		}
		/* Numbered before sending: a failed send leaves a gap. */
		s->ev.seq = c->next_seq[dir]++;
		took = kspan_h2_send_piece(s, buf, iovcnt, &cur, want);
		if (took < 0)
			break; /* the ring is full: userspace sees the gap */
		c->announced = 1;
		s->ev.flags &= ~KSPAN_DATA_F_NEW_CONN;
		/* After a fault the cursor is unknown: the rest is a count. */
		if (want && !s->ev.captured_len)
			copying = false;
		off += (__u32)took;
	}
	return 0;
}

static __always_inline void h2__capture(struct conn_state *c, struct data_scratch *s,
					const struct inflight_syscall *in, __u64 id, __u64 now,
					__u32 bytes, bool tls)
{
	if (!c->announced)
		process__announce(id >> 32, c->proc_start_ns, now);
	data__fill_event(s, c, in, id, now, bytes, 0, tls);
	/* A TLS write's parent hint for the CLIENT streams it starts
	 * (propagation/tls_tx.bpf.h). */
	if (tls && (in->ctx.flags & KSPAN_CTX_F_HAS_PARENT))
		s->ev.ctx = in->ctx;
	kspan_h2_send_all(s, c, in->buf, in->iovcnt, bytes);
}

#endif /* KSPAN_CAPTURE_HTTP2_CAPTURE_BPF_H */
