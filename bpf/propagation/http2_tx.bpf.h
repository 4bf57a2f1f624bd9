/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http2_tx.bpf.h - the request streams an HTTP/2 CLIENT writes, decided in
 * the kernel: the HTTP/2 counterpart of kspan_client_request_enter.
 *
 * The kernel follows the frames a client writes from the preface on: the
 * connection keeps how many bytes of the current frame are still to come
 * (conn_state.h2_tx_skip). At a write's entry the frame headers of the bytes
 * about to be written are walked (9 bytes read per frame, across iovecs, a
 * bounded number of frames); each HEADERS frame on a new odd stream id (one
 * above every request stream seen: trailers reuse their stream's id) starts a
 * request. Its CLIENT context is decided then, before any byte leaves: the
 * SERVER request the thread serves is its parent (in-process parenting), else
 * it starts a trace. When its header block names no traceparent
 * (hpack_traceparent.h) and the frame allows it, the sk_msg program appends
 * kspan's (header_insertion.bpf.h). At the exit, the cursor moves by the
 * bytes actually written (a partial write walks again up to there), and the
 * contexts of the frames written go to userspace (KSPAN_EVENT_H2_STREAM_CTX).
 *
 * Connections adopted mid-way, and those whose framing the walk could not
 * follow (a frame header cut by a partial write, more frames than the walk's
 * bound), are left alone for good, counted: their streams get contexts in
 * userspace, without injection.
 *
 * The cursor is right only if every byte written since the preface went
 * through a planned write. Bytes can leave otherwise: sendfile, splice,
 * vmsplice, io_uring (unseen by the tracepoint front-end), MSG_ZEROCOPY or
 * TCP_REPAIR writes of a path kspan does not hook, a write whose plan was
 * evicted from the full h2_tx_plans or whose syscall found `inflight` full, a
 * write that failed half-way, another thread writing at the same time. A
 * stale cursor would read a DATA payload as frame headers and have the sk_msg
 * program insert into it. So the socket's tcp write_seq, which every one of
 * those paths moves, is recorded when a walked write returns and compared
 * at the next write's entry; a difference, or a write that returns without
 * a plan, gives the connection up for good (KSPAN_CNT_H2_TX_DESYNC). The
 * plan also names the socket and the sequence where its write starts, which
 * the sk_msg program checks before it inserts anything (h2_plan__names_msg).
 */
#ifndef KSPAN_HTTP2_TX_BPF_H
#define KSPAN_HTTP2_TX_BPF_H

#include "base/conn_tracking.bpf.h"
#include "capture/copy.bpf.h"
#include "hpack_traceparent.h"
#include "http2_frame.h"
#include "propagation/http2_tx_plan.bpf.h"
#include "propagation/trace_context.bpf.h"

/* Frames walked per write; a write with more loses the connection's cursor. */
#define H2_TX_WALK_FRAMES 512

enum h2_tx_follow {
	H2_TX_UNKNOWN = 0,   /* not an HTTP/2 CLIENT connection seen from its start */
	H2_TX_FOLLOWING = 1, /* every byte written since the preface was walked */
	H2_TX_LOST = 2,	     /* given up (counted once) */
};

/* The walk stopped short of `want` bytes: the write's end, or a bound? */
static __always_inline bool h2_walk__at_end(const struct h2_tx_plan *p)
{
	__u32 n = p->iovcnt & ~CAPTURE_IOV_KERNEL;

	return n && p->cur.idx >= n;
}

/* A new request stream's CLIENT context: the served request's child, or a
 * new trace. */
__noinline int kspan_h2_tx_decide(struct kspan_trace_ctx *ctx)
{
	const struct thread_request *serving;

	if (!ctx)
		return 0;
	__builtin_memset(ctx, 0, sizeof(*ctx));
	ctx->flags = KSPAN_CTX_F_VALID;
	random__fill(ctx->span_id, 2);
	if (!(ctx->span_id[0] | ctx->span_id[7]))
		ctx->span_id[7] = 1;
	serving = thread__serving_request();
	if (serving) {
		__builtin_memcpy(ctx->trace_id, serving->trace_id, 16);
		__builtin_memcpy(ctx->parent_span_id, serving->span_id, 8);
		ctx->trace_flags = serving->trace_flags;
		ctx->flags |= KSPAN_CTX_F_HAS_PARENT;
		return 0;
	}
	random__fill(ctx->trace_id, 4);
	if (!(ctx->trace_id[0] | ctx->trace_id[15]))
		ctx->trace_id[15] = 1;
	trace_ctx__sample(ctx);
	return 0;
}

/*
 * A request HEADERS frame whose header was just read (its payload follows at
 * the cursor): may kspan append its field? Reads the header block into
 * s->payload when the frame is whole in the write and ends the block.
 */
static __always_inline __u8 h2_walk__judge(struct h2_tx_plan *p, struct data_scratch *s,
					   struct h2_tx_stream *st, __u8 flags, __u32 len)
{
	__u32 start = 0, pad = 0;
	int got, found;

	/* A block the kernel cannot read may name traceparent, which the
	 * app's encoder may then name from its dynamic table in any later
	 * block: the connection is treated as carrying its own from here on. */
	if (!(flags & HTTP2_FLAG_END_HEADERS) || len > KSPAN_CAPTURE_MAX ||
	    len > p->limit - p->pos || len + H2_TP_FIELD_LEN > HTTP2_MAX_FRAME_SIZE_DEFAULT) {
		p->own_tp = 1;
		return H2_TX_UNFIT;
	}
	got = kspan_h2_copy_from(s, p->buf, p->iovcnt, &p->cur, len);
	if (got < 0 || (__u32)got != len) {
		p->state = H2_WALK_LOST;
		return H2_TX_UNFIT;
	}
	p->pos += len;
	p->skip = 0;
	if (flags & HTTP2_FLAG_PADDED) {
		if (len < 1)
			return H2_TX_UNFIT;
		pad = s->payload[0];
		start = 1;
	}
	if (flags & HTTP2_FLAG_PRIORITY)
		start += 5;
	if (start + pad > len) {
		p->own_tp = 1;
		return H2_TX_UNFIT;
	}
	found = hpack_traceparent_scan(s->payload, start, len - pad);
	if (found == HPACK_TP_MALFORMED) {
		p->own_tp = 1;
		return H2_TX_UNFIT;
	}
	if (found == HPACK_TP_PRESENT)
		p->own_tp = 1;
	if (p->own_tp)
		return H2_TX_OWN_TP;
	st->insert_off = st->frame_off + HTTP2_FRAME_HEADER_LEN + len - pad;
	return config__insert_headers() ? H2_TX_INJECT : H2_TX_NO_HEADERS;
}

/*
 * `got` more bytes of a frame header were just copied to s->payload, after
 * the `have` kept in p->head (a write, or a short piece of many tiny
 * iovecs, ended inside the header). Returns 0 when the header is now whole,
 * in s->payload[0..8]; 1 when it is still short: its bytes are kept, and
 * the walk ends at the write's end (the exit carries them to the
 * connection, for the next write) or goes on with the next piece. A global
 * function: the verifier follows the frame's header parse and judge after
 * it once, not once per way the header was put together.
 */
__noinline int kspan_h2_walk_head(struct h2_tx_plan *p, struct data_scratch *s, __u32 have,
				  __u32 got)
{
	if (!p || !s)
		return 1;
	if (!have && got == HTTP2_FRAME_HEADER_LEN)
		return 0; /* the common case: whole in one piece */
	/* have < 9 and got <= 9 - have (the caller's bounds); masks that
	 * change neither tell the verifier, and p->head has room for both. */
	asm volatile("" : "+r"(have), "+r"(got));
	have &= H2_HEAD_MASK;
	got &= H2_HEAD_MASK;
	bpf_probe_read_kernel(&p->head[have], got, s->payload);
	have += got;
	if (have < HTTP2_FRAME_HEADER_LEN) {
		p->head_len = (__u8)have;
		if (p->pos >= p->limit || h2_walk__at_end(p))
			p->state = H2_WALK_DONE;
		return 1;
	}
	__builtin_memcpy(s->payload, p->head, HTTP2_FRAME_HEADER_LEN);
	p->head_len = 0;
	return 0;
}

/* One frame of the walk. Returns 1 when the walk is over (p->state). */
__noinline int kspan_h2_tx_step(struct h2_tx_plan *p, struct data_scratch *s)
{
	struct h2_tx_stream *st;
	__u32 want, len, id, idx, have;
	__u8 type, flags;
	int got;

	if (!p || !s)
		return 1;
	if (p->skip) {
		want = p->limit - p->pos;
		if (p->skip < want)
			want = p->skip;
		got = kspan_h2_skip(p->buf, p->iovcnt, &p->cur, want);
		if (got < 0)
			goto lost;
		p->pos += (__u32)got;
		p->skip -= (__u32)got;
		if (p->skip) {
			p->state =
			    p->pos >= p->limit || h2_walk__at_end(p) ? H2_WALK_DONE : H2_WALK_LOST;
			return 1;
		}
	}
	if (p->pos >= p->limit) {
		p->state = H2_WALK_DONE;
		return 1;
	}
	have = p->head_len;
	if (have >= HTTP2_FRAME_HEADER_LEN)
		goto lost;
	want = p->limit - p->pos;
	if (want > HTTP2_FRAME_HEADER_LEN - have)
		want = HTTP2_FRAME_HEADER_LEN - have;
	got = kspan_h2_copy_from(s, p->buf, p->iovcnt, &p->cur, want);
	if (got < 0)
		goto lost;
	if (got == 0) {
		if (!h2_walk__at_end(p))
			goto lost;
		p->state = H2_WALK_DONE;
		return 1;
	}
	p->pos += (__u32)got;
	if (kspan_h2_walk_head(p, s, have, (__u32)got))
		return p->state != H2_WALK_RUNNING;
	len = (__u32)s->payload[0] << 16 | (__u32)s->payload[1] << 8 | s->payload[2];
	type = s->payload[3];
	flags = s->payload[4];
	id = ((__u32)s->payload[5] << 24 | (__u32)s->payload[6] << 16 | (__u32)s->payload[7] << 8 |
	      s->payload[8]) &
	     HTTP2_STREAM_ID_MASK;
	p->skip = len;
	if (type != HTTP2_FRAME_HEADERS || !(id & 1) || id <= p->last_stream)
		return 0;
	p->last_stream = id;
	/* Counted whether the walk decides or only advances (h2_tx_plan);
	 * a frame header cut by the write before takes no slot (head_cut). */
	if (p->pos >= HTTP2_FRAME_HEADER_LEN && ++p->slots_walked > H2_TX_STREAMS)
		p->overflow++;
	if (!p->decide)
		return 0;
	idx = p->count;
	if (idx >= H2_TX_STREAMS)
		return 0; /* p->overflow */
	p->count = (__u8)(idx + 1);
	/* Masked after a barrier: clang knows idx < H2_TX_STREAMS and would
	 * drop the mask, but its test of the __u8's sign bit bounds nothing
	 * for the verifier. */
	asm volatile("" : "+r"(idx));
	idx &= H2_TX_STREAMS - 1;
	st = &p->streams[idx];
	st->stream_id = id;
	st->frame_off = p->pos - HTTP2_FRAME_HEADER_LEN;
	st->frame_len = len;
	st->insert_off = 0;
	st->injected = 0;
	st->piece_cut = 0;
	st->no_room = 0;
	st->failed = 0;
	/* A frame header that began in the write before has its length field
	 * sent already: the block cannot grow. */
	st->head_cut = p->pos < HTTP2_FRAME_HEADER_LEN;
	st->outcome = h2_walk__judge(p, s, st, flags, len);
	/* Read back from the slot, not kept in a register across the judge:
	 * the verifier would follow the judge once per value. */
	asm volatile("" ::: "memory");
	if (st->head_cut) {
		/* Left to userspace (counted at the exit, h2_tx_plan); the
		 * judge still read the block, for a traceparent of its own.
		 * The slot is not the plan's. */
		p->count = (__u8)idx;
		p->head_cut_end = (__u8)p->pos;
		return p->state != H2_WALK_RUNNING;
	}
	/* Decided even when the request names its own traceparent (which the
	 * kernel does not parse): userspace prefers the decoded one. */
	kspan_h2_tx_decide(&st->ctx);
	return p->state != H2_WALK_RUNNING;
lost:
	p->state = H2_WALK_LOST;
	return 1;
}

/* Walks from the connection's cursor over at most p->limit bytes. */
static __always_inline void h2_walk__run(struct h2_tx_plan *p, struct data_scratch *s,
					 const struct conn_state *c)
{
	p->cur.idx = 0;
	p->cur.off = 0;
	p->pos = 0;
	p->skip = c->h2_tx_skip;
	p->last_stream = c->h2_tx_last_stream;
	p->head_len = c->h2_tx_head_len;
	__builtin_memcpy(p->head, c->h2_tx_head, sizeof(c->h2_tx_head));
	p->state = H2_WALK_RUNNING;
	p->slots_walked = 0;
	p->overflow = 0;
	for (__u32 i = 0; i < H2_TX_WALK_FRAMES; i++)
		if (kspan_h2_tx_step(p, s))
			break;
}

/* The connection's written frames can no longer be followed: counted once,
 * under `why` (KSPAN_CNT_H2_TX_UNFOLLOWED or KSPAN_CNT_H2_TX_DESYNC). */
static __always_inline void h2_tx__give_up(struct conn_state *c, __u32 why)
{
	if (c->h2_tx != H2_TX_LOST)
		counter__inc(why);
	c->h2_tx = H2_TX_LOST;
}

static __always_inline void h2_tx__lose(struct conn_state *c)
{
	h2_tx__give_up(c, KSPAN_CNT_H2_TX_UNFOLLOWED);
}

/* Bytes a flat buffer's write was asked to move (inflight__flat_len); any
 * number for iovec arrays (their iovecs end the walk). */
static __always_inline __u32 h2_tx__write_len(const struct inflight_syscall *in)
{
	__u64 n;

	if (in->iovcnt || (in->flat_len == FLAT_LEN_SYSCALL_ARG && in->syscall != KSPAN_SYS_WRITE &&
			   in->syscall != KSPAN_SYS_SENDTO))
		return 0xffffffffu;
	n = inflight__flat_len(in);
	return n > 0xfffffffeu ? 0xfffffffeu : (__u32)n;
}

/*
 * Entry of a write on an HTTP/2 CLIENT connection followed from its start
 * (`preface`: this write begins with the client preface, RFC 9113 3.4): plans
 * the request streams it starts, for the sk_msg program and the exit.
 */
__noinline int kspan_h2_tx_enter(struct inflight_syscall *in, int preface)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct data_scratch *s;
	struct conn_state *c;
	struct h2_tx_plan *p;
	__u32 zero = 0, seq;

	if (!in)
		return 0;
	c = conn__get(id >> 32, in->sk, KSPAN_ROLE_UNKNOWN, true);
	if (!c)
		return 0;
	seq = socket__write_seq(in->sk);
	if (c->h2_tx == H2_TX_UNKNOWN) {
		if (!preface) {
			h2_tx__lose(c); /* adopted: its framing state is unknown */
			return 0;
		}
		c->h2_tx = H2_TX_FOLLOWING;
		c->h2_tx_skip = HTTP2_PREFACE_LEN; /* walked as if a frame's payload */
		c->h2_tx_seq = seq;
	}
	if (c->h2_tx != H2_TX_FOLLOWING)
		return 0;
	if (seq != c->h2_tx_seq) {
		h2_tx__give_up(c, KSPAN_CNT_H2_TX_DESYNC); /* bytes went out unwalked */
		return 0;
	}
	s = bpf_map_lookup_elem(&scratch, &zero);
	p = bpf_map_lookup_elem(&h2_tx_plan_scratch, &zero);
	if (!s || !p)
		return 0;
	p->buf = in->buf;
	p->iovcnt = capture__iov_limit(in->iovcnt, KSPAN_H2_MAX_IOVECS);
	p->limit = h2_tx__write_len(in);
	p->msg_seen = 0;
	p->msg_grown = 0;
	p->msg_mismatch = 0;
	p->seq = seq;
	p->cookie = socket__cookie(in->sk);
	p->count = 0;
	p->head_cut_end = 0;
	p->own_tp = c->h2_tx_own_tp;
	p->decide = 1;
	h2_walk__run(p, s, c);
	if (bpf_map_update_elem(&h2_tx_plans, &id, p, BPF_ANY))
		counter__inc(KSPAN_CNT_H2_UNDECIDED);
	return 0;
}

/* Tells userspace the context of a request stream the write moved. */
static __always_inline void h2_tx__send_ctx(const struct conn_state *c,
					    const struct h2_tx_stream *st, __u64 now)
{
	struct kspan_h2_stream_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	__u64 id = bpf_get_current_pid_tgid();

	if (!ev) {
		counter__inc(KSPAN_CNT_RINGBUF_DROPS);
		return;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->hdr.type = KSPAN_EVENT_H2_STREAM_CTX;
	ev->hdr.tgid = id >> 32;
	ev->hdr.tid = (__u32)id;
	ev->hdr.ts_ns = now;
	ev->conn_id = c->conn_id;
	ev->stream_id = st->stream_id;
	ev->flags = st->injected ? KSPAN_H2_STREAM_F_INJECTED : 0;
	ev->ctx = st->ctx;
	bpf_ringbuf_submit(ev, ringbuf__wakeup_flags(sizeof(*ev), true));
}

static __always_inline void h2_tx__count(const struct h2_tx_plan *p, const struct h2_tx_stream *st)
{
	switch (st->outcome) {
	case H2_TX_INJECT:
		if (st->injected)
			counter__inc(KSPAN_CNT_H2_INJECTED);
		else if (st->failed)
			break; /* counted by the sk_msg program */
		else if (p->msg_mismatch)
			counter__inc(KSPAN_CNT_H2_INJECT_MISMATCH);
		else if (st->piece_cut || st->no_room)
			counter__inc(KSPAN_CNT_H2_INJECT_UNFIT);
		else
			counter__inc(KSPAN_CNT_H2_INJECT_UNREACHED);
		break;
	case H2_TX_OWN_TP:
		counter__inc(KSPAN_CNT_H2_INJECT_OWN);
		break;
	case H2_TX_UNFIT:
		counter__inc(KSPAN_CNT_H2_INJECT_UNFIT);
		break;
	}
}

/*
 * Exit of a write that moved `bytes` bytes: the cursor moves by them, and
 * the streams whose frame header they include are reported (the others are
 * written again by the next write, and decided again there). The socket's
 * write_seq must have moved by exactly those bytes and the ones the sk_msg
 * program inserted since the entry; it is what the next entry must find.
 */
__noinline int kspan_h2_tx_exit(struct conn_state *c, __u32 bytes, __u64 now)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct data_scratch *s;
	struct h2_tx_plan *p;
	__u32 zero = 0, seq;

	if (!c)
		return 0;
	p = bpf_map_lookup_elem(&h2_tx_plans, &id);
	if (!p) {
		/* Bytes of a followed connection that no walk saw (sendfile,
		 * an evicted or never made plan). */
		if (c->h2_tx == H2_TX_FOLLOWING)
			h2_tx__give_up(c, KSPAN_CNT_H2_TX_DESYNC);
		return 0;
	}
	seq = socket__write_seq(c->sk);
	if (c->h2_tx == H2_TX_FOLLOWING &&
	    (p->msg_mismatch || seq != p->seq + bytes + p->msg_grown))
		h2_tx__give_up(c, KSPAN_CNT_H2_TX_DESYNC);
	if (c->h2_tx == H2_TX_FOLLOWING && (p->state != H2_WALK_DONE || p->pos != bytes)) {
		/* Partial write, or the entry could not see the write's end:
		 * walk again, only as far as the bytes written. */
		s = bpf_map_lookup_elem(&scratch, &zero);
		if (s) {
			p->limit = bytes;
			p->decide = 0;
			h2_walk__run(p, s, c);
		}
		if (!s || p->state != H2_WALK_DONE || p->pos != bytes)
			h2_tx__lose(c);
	}
	if (c->h2_tx == H2_TX_FOLLOWING) {
		c->h2_tx_skip = p->skip;
		c->h2_tx_last_stream = p->last_stream;
		c->h2_tx_head_len = p->head_len;
		__builtin_memcpy(c->h2_tx_head, p->head, sizeof(c->h2_tx_head));
		c->h2_tx_seq = seq;
	}
	if (p->head_cut_end && p->head_cut_end <= bytes)
		counter__inc(KSPAN_CNT_H2_UNDECIDED);
	if (p->overflow)
		counter__add(KSPAN_CNT_H2_UNDECIDED, p->overflow);
	for (__u32 i = 0; i < H2_TX_STREAMS; i++) {
		const struct h2_tx_stream *st = &p->streams[i];

		if (i >= p->count)
			break;
		if (st->frame_off + HTTP2_FRAME_HEADER_LEN > bytes)
			continue;
		/* A block the kernel could not read (UNFIT: CONTINUATION, too
		 * large) may have named traceparent too, which the app's
		 * encoder may name from its dynamic table in any later block
		 * (h2_walk__judge): the connection carries its own from here. */
		if (st->outcome == H2_TX_OWN_TP || st->outcome == H2_TX_UNFIT)
			c->h2_tx_own_tp = 1;
		h2_tx__count(p, st);
		if (st->ctx.flags & KSPAN_CTX_F_VALID)
			h2_tx__send_ctx(c, st, now);
	}
	bpf_map_delete_elem(&h2_tx_plans, &id);
	return 0;
}

#endif /* KSPAN_HTTP2_TX_BPF_H */
