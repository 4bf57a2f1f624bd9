/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http2_tx_plan.bpf.h - what the entry of a write on an HTTP/2 CLIENT
 * connection decided for the request streams that write starts, read by the
 * sk_msg program inside the same sendmsg (which appends kspan's traceparent
 * to their HEADERS frames) and by the write's exit (which tells userspace the
 * ids, and moves the connection's frame cursor by the bytes written).
 */
#ifndef KSPAN_HTTP2_TX_PLAN_BPF_H
#define KSPAN_HTTP2_TX_PLAN_BPF_H

#include "base/maps.bpf.h"
#include "base/socket_lookup.bpf.h"
#include "capture/copy.bpf.h"
#include "http2_frame.h"

/* Request streams one write can start with a kernel-decided context; more
 * are left to userspace (counted). gRPC clients put the HEADERS frames of
 * many concurrent calls into one write (python3-grpcio: over 16 of 100; on
 * a loaded machine a few over 64). 128 made the 6.1 verifier give up (too
 * complex). A power of two: indexes are masked. */
#define H2_TX_STREAMS 64

/* The field appended to a request's header block: a literal header field
 * without indexing, new name, raw strings (RFC 7541 6.2.2), so that neither
 * end's dynamic table changes:
 * 0x00 0x0b "traceparent" 0x37 "00-<32 hex>-<16 hex>-<2 hex>". A frame grown
 * by it stays within HTTP2_MAX_FRAME_SIZE_DEFAULT, which every peer accepts. */
#define H2_TP_FIELD_LEN 69

/* A mask above any length of a frame header's piece (h2_tx_plan.head). */
#define H2_HEAD_MASK 15

/* Why a request stream did not get kspan's traceparent. */
enum h2_tx_outcome {
	H2_TX_INJECT = 1,    /* the sk_msg program is to append the field */
	H2_TX_OWN_TP = 2,    /* the connection carries (or may carry) the app's own */
	H2_TX_UNFIT = 3,     /* CONTINUATION follows, too large, or unscannable */
	H2_TX_NO_HEADERS = 4 /* --propagation without headers */
};

struct h2_tx_stream {
	__u32 stream_id;
	__u32 frame_off;  /* offset of its frame header in the write */
	__u32 frame_len;  /* payload length as the process wrote it */
	__u32 insert_off; /* offset in the write where the field goes */
	__u8 outcome;	  /* enum h2_tx_outcome */
	__u8 injected;	  /* set by the sk_msg program */
	__u8 piece_cut;	  /* the frame straddled two sk_msg pieces */
	__u8 failed;	  /* push/pull failed (KSPAN_CNT_INJECT_FAILED) */
	__u8 no_room;	  /* the send buffer could not take its piece whole */
	__u8 head_cut;	  /* its frame header began in the write before */
	__u8 _pad[2];
	struct kspan_trace_ctx ctx; /* KSPAN_CTX_F_VALID when decided */
};

enum h2_walk_state {
	H2_WALK_RUNNING = 0,
	H2_WALK_DONE = 1, /* reached the end of the bytes walked */
	H2_WALK_LOST = 2, /* framing cannot be followed (cut frame header, bound) */
};

struct h2_tx_plan {
	__u64 buf;    /* user buffer or iovec array, as in inflight_syscall */
	__u64 cookie; /* the socket's cookie: the sk_msg program's identity check */
	__u32 iovcnt; /* idem */
	__u32 limit;  /* bytes to walk: asked for at entry, written at exit */
	struct h2_cursor cur;
	__u32 pos;	   /* bytes of the write walked */
	__u32 skip;	   /* bytes of the frame at pos still to come */
	__u32 last_stream; /* highest request stream id among frames walked */
	__u32 msg_seen;	   /* bytes of the write earlier sk_msg pieces carried */
	__u32 seq;	   /* tcp write_seq at the write's entry: where its bytes start */
	__u32 msg_grown;   /* bytes the sk_msg program inserted into earlier pieces */
	/* Requests whose frame header the walk found whole (those that could
	 * take a slot of streams[]), and those past the last slot: left to
	 * userspace, counted undecided at the exit from the walk that covered
	 * exactly the bytes written (the exit walks again after a partial
	 * write; an EAGAIN counts nothing, its retry plans them again). */
	__u16 slots_walked;
	__u16 overflow;
	__u8 count;	   /* streams[] used */
	__u8 state;	   /* enum h2_walk_state */
	__u8 own_tp;	   /* a request carried its own traceparent */
	__u8 decide;	   /* 1 at entry; 0 when the exit only advances */
	__u8 msg_mismatch; /* an sk_msg piece was not where the plan says: no insertion */
	__u8 head_len;	   /* bytes of a frame header walked, its rest not yet */
	/* A request's frame header that began in the write before ends this
	 * many bytes into this one (0: none): the request is left to
	 * userspace, counted undecided at the exit once those bytes left (an
	 * entry may be followed by EAGAIN and the same bytes written again). */
	__u8 head_cut_end;
	__u8 _pad;
	/* those bytes (at most 8), and room for the rest copied after them;
	 * both lengths masked by H2_HEAD_MASK (kspan_h2_walk_head) */
	__u8 head[2 * (H2_HEAD_MASK + 1)];
	struct h2_tx_stream streams[H2_TX_STREAMS];
};

/* pid_tgid -> the plan of the thread's write in flight on an HTTP/2 CLIENT
 * connection. Preallocated (4 KiB per entry): an update in the write's
 * entry must not depend on allocating memory. LRU: a plan whose exit never
 * ran (the thread was killed inside the write) cannot fill the map. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSPAN_MAX_H2_TX_PLANS);
	__type(key, __u64);
	__type(value, struct h2_tx_plan);
} h2_tx_plans SEC(".maps");

/* h2_plan__names_msg's answers. */
enum h2_plan_match {
	H2_PLAN_OTHER_SOCKET = 0, /* the plan is of another socket's write */
	H2_PLAN_MATCH = 1,	  /* the piece is the plan's next one */
	H2_PLAN_OUT_OF_STEP = 2,  /* the plan's socket, not at the plan's sequence */
};

/*
 * Is this sk_msg piece the next one of the plan's write: on the socket the
 * plan names (its cookie), starting at the sequence number where the write
 * started plus what earlier pieces carried (their inserted bytes included)?
 * The sk_msg program runs with the socket locked, before the piece is
 * queued, so tcp write_seq is exactly where the piece will start. Bytes
 * queued by another writer or by a path the plan did not see move it, and
 * the plan's offsets then mean nothing for this piece. bpf_get_socket_cookie
 * is not offered to sk_msg programs on 6.1: the cookie is read from the
 * socket itself (bpf_skc_to_tcp_sock, 5.9+).
 */
static __always_inline int h2_plan__names_msg(struct sk_msg_md *msg, const struct h2_tx_plan *p)
{
	struct bpf_sock *sk = msg->sk;
	struct tcp_sock *tp;

	if (!sk)
		return H2_PLAN_OTHER_SOCKET;
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp || (__u64)tp->inet_conn.icsk_inet.sk.__sk_common.skc_cookie.counter != p->cookie)
		return H2_PLAN_OTHER_SOCKET;
	if (tp->write_seq != p->seq + p->msg_seen + p->msg_grown)
		return H2_PLAN_OUT_OF_STEP;
	return H2_PLAN_MATCH;
}

/* Per-CPU room where the entry builds a plan (too big for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct h2_tx_plan);
} h2_tx_plan_scratch SEC(".maps");

#endif /* KSPAN_HTTP2_TX_PLAN_BPF_H */
