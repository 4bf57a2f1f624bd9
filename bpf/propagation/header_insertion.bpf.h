/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * header_insertion.bpf.h - insert `traceparent` into the HTTP/1.x requests
 * that traced processes send without one, and into the HEADERS frames of
 * HTTP/2 requests, inside the kernel (sock_ops + sk_msg;
 * bpf_probe_write_user is never used). The bodies of the programs in
 * attach/socket_programs.bpf.h.
 *
 * Which sockets: the client sockets of traced processes whose first bytes
 * are an HTTP request kspan can edit (inject_sockets.bpf.h); no server socket
 * and no socket of an untraced process ever enters the sockhash. The sockhash
 * is freed with kspan, which takes every socket out again.
 *
 * What and where: the write's entry hook (kspan_client_request_enter,
 * http1_tx.bpf.h) decided the request's CLIENT context and the offset just
 * past its request line, in the thread's `inflight` entry (for HTTP/2, the
 * plan of http2_tx.bpf.h). The sk_msg program runs inside that same
 * sendmsg, in the writer's context: it inserts the header at that offset of
 * the write's first piece, once, then writes every inserted byte (pushed
 * memory is uninitialised). Anything else - later pieces of the write, other
 * writes, requests that carry a traceparent - passes unchanged.
 */
#ifndef KSPAN_HEADER_INSERTION_BPF_H
#define KSPAN_HEADER_INSERTION_BPF_H

#include "base/conn_tracking.bpf.h"
#include "propagation/http2_tx_plan.bpf.h"
#include "propagation/inject_sockets.bpf.h"
#include "propagation/passthrough.bpf.h"
#include "propagation/trace_context.bpf.h"

#define KSPAN_SK_PASS 1
#define KSPAN_SK_DROP 0
/* "traceparent: 00-" 32 hex "-" 16 hex "-" 2 hex "\r\n" */
#define TRACEPARENT_LINE_LEN  70
#define TRACESTATE_PREFIX_LEN 12 /* "tracestate: " */

/* The start-up self-check's plan (struct kspan_inject_selfcheck): a write
 * of the agent's own thread, on a socket the agent put in the sockhash. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kspan_inject_selfcheck);
} inject_selfcheck SEC(".maps");

static __always_inline char hex_digit(__u8 v)
{
	return v < 10 ? '0' + v : 'a' + (v - 10);
}

static __always_inline void hex_put(char *out, const __u8 *in, __u32 n)
{
	for (__u32 i = 0; i < n; i++) {
		out[2 * i] = hex_digit(in[i] >> 4);
		out[2 * i + 1] = hex_digit(in[i] & 15);
	}
}

/* The header line for a CLIENT span's context (W3C Trace Context 3.2). */
static __always_inline void traceparent__format(char *line, const struct kspan_trace_ctx *ctx)
{
	__u8 flags = ctx->trace_flags & 1;

	__builtin_memcpy(line, "traceparent: 00-", 16);
	hex_put(line + 16, ctx->trace_id, 16);
	line[48] = '-';
	hex_put(line + 49, ctx->span_id, 8);
	line[65] = '-';
	hex_put(line + 66, &flags, 1);
	line[68] = '\r';
	line[69] = '\n';
}

/* Writes "tracestate: <value>\r\n" at data; returns its length, or 0 when
 * it does not fit before end. */
static __always_inline __u32 tracestate__write(char *data, void *end,
					       const struct thread_tracestate *ts, __u32 len)
{
	if ((void *)(data + TRACESTATE_PREFIX_LEN) > end)
		return 0;
	__builtin_memcpy(data, "tracestate: ", TRACESTATE_PREFIX_LEN);
	data += TRACESTATE_PREFIX_LEN;
	/* The CRLF is written at the loop's own index, which the verifier
	 * knows is at most KSPAN_TRACESTATE_MAX. */
	for (__u32 i = 0; i <= KSPAN_TRACESTATE_MAX; i++) {
		if (i == len) {
			if ((void *)(data + i + 2) > end)
				return 0;
			data[i] = '\r';
			data[i + 1] = '\n';
			return TRACESTATE_PREFIX_LEN + len + 2;
		}
		if ((void *)(data + i + 1) > end)
			return 0;
		data[i] = ts->value[i & (KSPAN_TRACESTATE_MAX - 1)];
	}
	return 0;
}

/* The HPACK field kspan appends to an HTTP/2 request's header block
 * (http2_tx_plan.bpf.h): literal without indexing, new name, raw strings. */
static __always_inline void h2_traceparent_field__format(char *f, const struct kspan_trace_ctx *ctx)
{
	__u8 flags = ctx->trace_flags & 1;

	f[0] = 0x00;
	f[1] = 11;
	__builtin_memcpy(f + 2, "traceparent", 11);
	f[13] = 55;
	__builtin_memcpy(f + 14, "00-", 3);
	hex_put(f + 17, ctx->trace_id, 16);
	f[49] = '-';
	hex_put(f + 50, ctx->span_id, 8);
	f[66] = '-';
	hex_put(f + 67, &flags, 1);
}

/*
 * Appends the field to one planned HEADERS frame of this piece (`start`: the
 * write's offset of the piece's first byte), then rewrites the frame's
 * length. Returns 0 when done or left alone, -1 when the piece must be
 * dropped (pushed bytes that could not be filled nor taken out).
 */
__noinline int kspan_h2_msg_inject(struct sk_msg_md *msg, struct h2_tx_stream *st, __u32 start,
				   __u32 size)
{
	char field[H2_TP_FIELD_LEN];
	__u32 ins, hdr, len;
	__u8 *data;
	void *end;

	if (!msg || !st || st->outcome != H2_TX_INJECT || st->injected)
		return 0;
	if (st->insert_off <= start || st->frame_off >= start + size)
		return 0; /* in another piece */
	if (st->frame_off < start || st->insert_off > start + size) {
		st->piece_cut = 1; /* straddles two pieces: left alone */
		return 0;
	}
	ins = st->insert_off - start;
	hdr = st->frame_off - start;
	len = st->frame_len + H2_TP_FIELD_LEN;
	h2_traceparent_field__format(field, &st->ctx);
	if (bpf_msg_push_data(msg, ins, H2_TP_FIELD_LEN, 0)) {
		counter__inc(KSPAN_CNT_INJECT_FAILED);
		st->failed = 1;
		return 0;
	}
	if (bpf_msg_pull_data(msg, ins, ins + H2_TP_FIELD_LEN, 0))
		goto undo;
	data = (__u8 *)(long)msg->data;
	end = (void *)(long)msg->data_end;
	if ((void *)(data + H2_TP_FIELD_LEN) > end)
		goto undo;
	__builtin_memcpy(data, field, H2_TP_FIELD_LEN);
	/* The frame header precedes the insertion: its offset is unchanged. */
	if (bpf_msg_pull_data(msg, hdr, hdr + 3, 0))
		goto undo;
	data = (__u8 *)(long)msg->data;
	end = (void *)(long)msg->data_end;
	if ((void *)(data + 3) > end)
		goto undo;
	data[0] = (__u8)(len >> 16);
	data[1] = (__u8)(len >> 8);
	data[2] = (__u8)len;
	st->injected = 1;
	return 0;
undo:
	counter__inc(KSPAN_CNT_INJECT_FAILED);
	st->failed = 1;
	/* Uninitialised kernel memory must never leave. */
	return bpf_msg_pop_data(msg, ins, H2_TP_FIELD_LEN, 0) ? -1 : 0;
}

/* What tcp_sendmsg_locked charges to sk_wmem_queued per segment beyond its
 * data: the skb (fclone), its shared info and header room, about 1 KiB on
 * x86-64 6.x (SKB_TRUESIZE(MAX_TCP_HEADER)); twice that, as a bound. */
#define MSG_SEGMENT_OVERHEAD 2048

/*
 * Will the send buffer take this piece whole, grown to `bytes`? A piece
 * that does not fit may be sent in part: tcp_sendmsg_locked stops where a
 * new segment finds sk_wmem_queued >= sk_sndbuf, a non-blocking writer gets
 * EAGAIN, and tcp_bpf_send_verdict frees the rest of the piece and reports
 * as written the piece's size minus what it freed - which is wrong by the
 * inserted bytes when they were among those freed: the process then writes
 * bytes again that had already left (seen: a HEADERS frame's length grown,
 * its field freed, a byte sent twice). So kspan inserts only into a piece
 * that fits whole, inserted bytes included, and counts each segment's
 * overhead too. A new segment holds up to the size goal of
 * tcp_xmit_size_goal: the GSO size bounded by half the largest window the
 * peer advertised, whole MSSes, at least one; half of that is taken as a
 * segment here (the first may be the tail of one already queued). A peer
 * with a small window thus means many segments, each charged ~1 KiB more
 * than its bytes. Global TCP memory pressure can still cut a send short;
 * nothing the program can see predicts that.
 */
static __always_inline bool msg__fits_whole(struct sk_msg_md *msg, __u32 bytes)
{
	struct bpf_sock *sk = msg->sk;
	struct tcp_sock *tp;
	__u32 mss, goal, seg, segments;
	int sndbuf, queued;

	if (!sk)
		return false;
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return false;
	sndbuf = tp->inet_conn.icsk_inet.sk.sk_sndbuf;
	queued = tp->inet_conn.icsk_inet.sk.sk_wmem_queued;
	mss = tp->mss_cache;
	if (mss < 64)
		mss = 64;
	goal = tp->inet_conn.icsk_inet.sk.sk_gso_max_size;
	if (goal > tp->max_window / 2)
		goal = tp->max_window / 2;
	goal -= goal % mss;
	seg = (goal > mss ? goal : mss) / 2;
	segments = bytes / seg + 2;
	return sndbuf > queued &&
	       (__u64)(sndbuf - queued) >= (__u64)bytes + (__u64)segments * MSG_SEGMENT_OVERHEAD;
}

/* The socket cookie (SO_COOKIE) of the socket a piece is written on; 0 when
 * it is no TCP socket. */
static __always_inline __u64 msg__socket_cookie(struct sk_msg_md *msg)
{
	struct bpf_sock *sk = msg->sk;
	struct tcp_sock *tp;

	if (!sk)
		return 0;
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return 0;
	return (__u64)tp->inet_conn.icsk_inet.sk.__sk_common.skc_cookie.counter;
}

/* A piece of a write whose entry planned HTTP/2 request streams on this
 * socket, passed unchanged unless it is where the plan says
 * (h2_plan__names_msg). From the last stream to the first: insertions never
 * move earlier offsets. */
static __always_inline int h2_msg__inject(struct sk_msg_md *msg, struct h2_tx_plan *p)
{
	__u32 start = p->msg_seen, size = msg->size;

	if (p->msg_mismatch) /* counted per request at the exit */
		return KSPAN_SK_PASS;
	p->msg_seen += size;
	for (int i = H2_TX_STREAMS - 1; i >= 0; i--) {
		struct h2_tx_stream *st = &p->streams[i];
		__u8 was_injected = st->injected;

		if (i >= p->count)
			continue;
		/* Only into a piece the send buffer takes whole
		 * (msg__fits_whole); msg->size grows with each insertion. */
		if (!msg__fits_whole(msg, msg->size + H2_TP_FIELD_LEN)) {
			if (st->outcome == H2_TX_INJECT && !st->injected &&
			    st->insert_off > start && st->insert_off <= start + size)
				st->no_room = 1;
			continue;
		}
		if (kspan_h2_msg_inject(msg, st, start, size))
			return KSPAN_SK_DROP;
		if (st->injected && !was_injected)
			p->msg_grown += H2_TP_FIELD_LEN; /* the next piece starts later */
	}
	return KSPAN_SK_PASS;
}

/*
 * Inserts the traceparent line `line` (and the tracestate line of ts, ts_len)
 * at offset off of this piece. The self-check's insertions (selfcheck) are
 * not counted, and with its KSPAN_SELFCHECK_F_POP the inserted bytes are
 * taken out again at once. The verdict.
 */
static __always_inline int inject__http1(struct sk_msg_md *msg, __u32 off, const char *line,
					 const struct thread_tracestate *ts, __u32 ts_len,
					 const struct kspan_inject_selfcheck *selfcheck)
{
	__u32 total;
	char *data;
	void *end;

	if (off >= msg->size) {
		counter__inc(KSPAN_CNT_INJECT_SKIPPED);
		return KSPAN_SK_PASS;
	}
	total = TRACEPARENT_LINE_LEN + (ts ? TRACESTATE_PREFIX_LEN + ts_len + 2 : 0);
	/* Only into a piece the send buffer takes whole (msg__fits_whole):
	 * otherwise a non-blocking writer may be told a wrong count and send
	 * bytes twice. The self-check goes through the same rule. */
	if (!msg__fits_whole(msg, msg->size + total)) {
		if (!selfcheck)
			counter__inc(KSPAN_CNT_H1_INJECT_NO_ROOM);
		return KSPAN_SK_PASS;
	}
	if (bpf_msg_push_data(msg, off, total, 0)) {
		counter__inc(KSPAN_CNT_INJECT_FAILED);
		return KSPAN_SK_PASS;
	}
	/* msg->data now points at `off`, the inserted bytes. */
	if (bpf_msg_pull_data(msg, off, off + total, 0))
		goto undo;
	data = (char *)(long)msg->data;
	end = (void *)(long)msg->data_end;
	if ((void *)(data + TRACEPARENT_LINE_LEN) > end)
		goto undo;
	__builtin_memcpy(data, line, TRACEPARENT_LINE_LEN);
	if (ts && !tracestate__write(data + TRACEPARENT_LINE_LEN, end, ts, ts_len))
		goto undo;
	if (selfcheck && (selfcheck->flags & KSPAN_SELFCHECK_F_POP))
		return bpf_msg_pop_data(msg, off, total, 0) ? KSPAN_SK_DROP : KSPAN_SK_PASS;
	if (!selfcheck)
		counter__inc(KSPAN_CNT_TRACEPARENT_INJECTED);
	return KSPAN_SK_PASS;
undo:
	counter__inc(KSPAN_CNT_INJECT_FAILED);
	/* Uninitialised kernel memory must never leave: take the bytes out
	 * again, or fail the write rather than send them. */
	if (bpf_msg_pop_data(msg, off, total, 0))
		return KSPAN_SK_DROP;
	return KSPAN_SK_PASS;
}

static __always_inline bool hex_is_lower_digit(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/*
 * A pass-through request (passthrough.bpf.h): its forwarded traceparent's
 * parent-id starts at offset off of this piece. The 16 hex digits become the
 * CLIENT span's id (ctx->span_id) in place - nothing pushed or popped - only
 * when the bytes around them are still "00-<ctx's trace id>-" and 16
 * lowercase hex digits and "-": what the write's entry saw. The verdict is
 * always pass.
 */
static __always_inline int passthrough__rewrite(struct sk_msg_md *msg, __u32 off,
						const struct kspan_trace_ctx *ctx)
{
	__u32 start = off - TRACEPARENT_PARENT_OFF;
	char want[TRACEPARENT_PARENT_OFF];
	char *data;
	void *end;

	if (off < TRACEPARENT_PARENT_OFF || off + 17 > msg->size)
		goto unreached;
	if (bpf_msg_pull_data(msg, start, off + 17, 0))
		goto unreached;
	data = (char *)(long)msg->data;
	end = (void *)(long)msg->data_end;
	if ((void *)(data + TRACEPARENT_PARENT_OFF + 17) > end)
		goto unreached;
	__builtin_memcpy(want, "00-", 3);
	hex_put(want + 3, ctx->trace_id, 16);
	want[35] = '-';
	for (int i = 0; i < TRACEPARENT_PARENT_OFF; i++)
		if (data[i] != want[i])
			goto unreached;
	for (int i = 0; i < 16; i++)
		if (!hex_is_lower_digit(data[TRACEPARENT_PARENT_OFF + i]))
			goto unreached;
	if (data[TRACEPARENT_PARENT_OFF + 16] != '-')
		goto unreached;
	hex_put(data + TRACEPARENT_PARENT_OFF, ctx->span_id, 8);
	counter__inc(KSPAN_CNT_PASSTHROUGH_REWRITTEN);
	return KSPAN_SK_PASS;
unreached:
	counter__inc(KSPAN_CNT_PASSTHROUGH_UNREACHED);
	return KSPAN_SK_PASS;
}

/* A piece written by the agent's own thread during its start-up self-check
 * (user/loader/insertion_checks.c): insert what the check planned, through
 * the same code as a traced client's request. */
static __always_inline int inject__selfcheck(struct sk_msg_md *msg)
{
	struct kspan_inject_selfcheck *c;
	char line[TRACEPARENT_LINE_LEN];
	__u32 zero = 0, off;

	c = bpf_map_lookup_elem(&inject_selfcheck, &zero);
	if (!c || !c->cookie || !c->inject_off || c->local_port != msg->local_port ||
	    msg__socket_cookie(msg) != c->cookie)
		return KSPAN_SK_PASS;
	off = c->inject_off;
	c->inject_off = 0; /* the write's first piece only */
	traceparent__format(line, &c->ctx);
	return inject__http1(msg, off, line, NULL, 0, c);
}

/* A piece of a sendmsg on a socket in the sockhash: the verdict, after
 * inserting what the write's entry planned. */
static __always_inline int inject__msg(struct sk_msg_md *msg)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct inflight_syscall *in = bpf_map_lookup_elem(&inflight, &id);
	const struct thread_tracestate *ts = NULL;
	char line[TRACEPARENT_LINE_LEN];
	struct h2_tx_plan *plan;
	__u32 off, ts_len = 0;

	plan = bpf_map_lookup_elem(&h2_tx_plans, &id);
	if (plan) {
		switch (h2_plan__names_msg(msg, plan)) {
		case H2_PLAN_MATCH:
			return h2_msg__inject(msg, plan);
		case H2_PLAN_OUT_OF_STEP:
			plan->msg_mismatch = 1;
			return KSPAN_SK_PASS;
		}
	}
	if (!in)
		return inject__selfcheck(msg);
	/* Only the first piece of the write whose entry asked for it, on the
	 * socket that write is on. */
	if (!in->inject_off || in->local_port != msg->local_port)
		return KSPAN_SK_PASS;
	off = in->inject_off;
	in->inject_off = 0;
	if (in->rewrite_parent)
		return passthrough__rewrite(msg, off, &in->ctx);
	traceparent__format(line, &in->ctx);
	if (in->inject_tracestate) {
		ts = thread__tracestate(in->ctx.parent_span_id);
		if (ts)
			ts_len = ts->len & (KSPAN_TRACESTATE_MAX * 2 - 1);
		if (ts_len > KSPAN_TRACESTATE_MAX)
			ts = NULL;
	}
	return inject__http1(msg, off, line, ts, ts_len, NULL);
}

#endif /* KSPAN_HEADER_INSERTION_BPF_H */
