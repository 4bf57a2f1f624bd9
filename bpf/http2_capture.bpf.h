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
#ifndef KSPAN_HTTP2_CAPTURE_BPF_H
#define KSPAN_HTTP2_CAPTURE_BPF_H

#define H2_MAX_CHUNKS (KSPAN_H2_CAPTURE_MAX / KSPAN_CAPTURE_MAX)

/* The preface was seen going `direction`: whoever writes it is the client. */
static __always_inline void h2__begin(struct conn_state *c, __u8 direction)
{
	c->protocol = KSPAN_PROTO_HTTP2;
	if (c->role == KSPAN_ROLE_UNKNOWN)
		c->role = direction == KSPAN_DIR_EGRESS ? KSPAN_ROLE_CLIENT : KSPAN_ROLE_SERVER;
}

/* Sends one piece: s->ev.bytes_total bytes of the syscall starting at `off`,
 * of which the first `want` (<= KSPAN_CAPTURE_MAX) are copied. A copy that
 * comes up short (fault) only leaves this piece truncated. Returns 0, or -1
 * when the ring buffer was full. */
__noinline int kspan_h2_send_piece(struct data_scratch *s, __u64 buf, __u32 iovcnt, __u32 off,
				   __u32 want)
{
	__u32 got = 0;

	if (!s)
		return -1;
	if (want)
		got = (__u32)bound_len(kspan_capture_copy_range(s, buf, iovcnt, off, want),
				       KSPAN_CAPTURE_MAX);
	s->ev.captured_len = got;
	if (got < s->ev.bytes_total)
		s->ev.flags |= KSPAN_DATA_F_TRUNCATED;
	else
		s->ev.flags &= ~KSPAN_DATA_F_TRUNCATED;
	return ringbuf__send(s, sizeof(s->ev) + bound_len(got, KSPAN_CAPTURE_MAX)) ? -1 : 0;
}

static __always_inline void h2__capture(struct conn_state *c, struct data_scratch *s,
					const struct inflight_syscall *in, __u64 id, __u64 now,
					__u32 bytes)
{
	__u16 *next_seq = &c->next_seq[in->direction == KSPAN_DIR_EGRESS];
	__u32 off = 0;

	if (!c->announced)
		process__announce(id >> 32, c->proc_start_ns, now);
	data__fill_event(s, c, in, id, now, bytes, 0);
	for (__u32 i = 0; i <= H2_MAX_CHUNKS && off < bytes; i++) {
		__u32 rest = bytes - off,
		      want = rest < KSPAN_CAPTURE_MAX ? rest : KSPAN_CAPTURE_MAX;

		s->ev.bytes_total = want;
		/* sendfile has no user buffer; past the bound, only a count. */
		if (in->syscall == KSPAN_SYS_SENDFILE || i == H2_MAX_CHUNKS) {
			want = 0;
			s->ev.bytes_total = rest;
		}
		/* Numbered before sending: a failed send leaves a gap. */
		s->ev.seq = (*next_seq)++;
		if (kspan_h2_send_piece(
			s, in->buf, capture__iov_limit(in->iovcnt, KSPAN_H2_MAX_IOVECS), off, want))
			break; /* the ring is full: userspace sees the gap */
		c->announced = 1;
		s->ev.flags &= ~KSPAN_DATA_F_NEW_CONN;
		off += s->ev.bytes_total;
	}
}

#endif /* KSPAN_HTTP2_CAPTURE_BPF_H */
