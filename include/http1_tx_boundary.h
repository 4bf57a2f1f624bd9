/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http1_tx_boundary.h - where the requests an HTTP/1.x client writes begin,
 * followed write by write, so that kspan inserts its traceparent only at the
 * first byte of a real request: never into a body that happens to start like
 * one (a POST whose body, written in its own send(), reads
 * "GET /x HTTP/1.1..."), and never into the bytes of another protocol.
 * Shared by the BPF write hooks (propagation/http1_tx.bpf.h) and the unit
 * tests.
 *
 * A connection is followed from its first byte: each write's entry says
 * whether it may carry an insertion (h1_tx_enter), each write's exit counts
 * the bytes it moved (h1_tx_exit). After a request head come exactly
 * Content-Length body bytes (http1_request_shape.h), then the next write
 * must start a request again. Whatever breaks that chain - bytes written
 * that no entry saw (sendfile, io_uring, a write before kspan), a body of
 * unknown length (chunked), bytes at a boundary that are not an HTTP/1.0 or
 * 1.1 request, a write that runs past its request's end (several requests in
 * one write) - stops insertion on that connection for good, with its cause
 * (H1_TX_STOP_*) for the counters. When in doubt, the bytes are left alone.
 */
#ifndef HTTP1_TX_BOUNDARY_H
#define HTTP1_TX_BOUNDARY_H

#include "http1_request_shape.h"

/* h1_tx_boundary.state */
#define H1_TX_UNSEEN   0 /* no write yet */
#define H1_TX_AT_START 1 /* the next byte written starts a request */
#define H1_TX_IN_MSG   2 /* `left` bytes of the current request are still to come */
#define H1_TX_STOPPED  3 /* position unknown: never insert again */

/* Why a connection stopped (what h1_tx_enter and h1_tx_exit return). */
#define H1_TX_STOP_NONE	       0
#define H1_TX_STOP_UNFOLLOWED  1 /* bytes written that no entry saw */
#define H1_TX_STOP_UNFRAMED    2 /* a body of unknown length */
#define H1_TX_STOP_NOT_REQUEST 3 /* at a boundary: not an HTTP/1.0-1.1 request */
#define H1_TX_STOP_HEAD_CUT    4 /* a request whose head is not whole in its first write */
#define H1_TX_STOP_OVERRUN     5 /* a write went past the end of its request */

struct h1_tx_boundary {
	__u64 left; /* H1_TX_IN_MSG: bytes of the request still to be written */
	__u32 seq;  /* the socket's write_seq when the last write returned */
	__u8 state; /* H1_TX_* */
	__u8 _pad[3];
};

/* What a write's entry saw in its first bytes. */
struct h1_tx_write {
	__u8 in_sync;	    /* no byte was written since the last exit (the first write:
			     * none since the connection opened, which kspan saw) */
	__u8 request_start; /* the bytes begin with a request method */
	__s8 frame_rc;	    /* http1_request_frame_of()'s answer, when request_start */
	__u8 _pad;
	struct http1_request_frame frame;
};

KSPAN_INLINE int h1_tx__stop(struct h1_tx_boundary *b, int why)
{
	b->state = H1_TX_STOPPED;
	return why;
}

/*
 * A write's entry. *insert is set when the write starts a request kspan may
 * edit (its head is whole in the bytes seen). Returns H1_TX_STOP_* when the
 * connection stops now, else H1_TX_STOP_NONE.
 */
KSPAN_INLINE int h1_tx_enter(struct h1_tx_boundary *b, const struct h1_tx_write *w, int *insert)
{
	*insert = 0;
	if (b->state == H1_TX_STOPPED)
		return H1_TX_STOP_NONE;
	if (!w->in_sync)
		return h1_tx__stop(b, H1_TX_STOP_UNFOLLOWED);
	if (b->state == H1_TX_IN_MSG)
		return H1_TX_STOP_NONE; /* more of the current request */
	/* At a boundary: the first write, or the one after a request's end. */
	if (!w->request_start || w->frame_rc == -1)
		return h1_tx__stop(b, H1_TX_STOP_NOT_REQUEST);
	if (w->frame_rc)
		return h1_tx__stop(b, H1_TX_STOP_HEAD_CUT);
	*insert = 1;
	if (w->frame.body != HTTP1_BODY_LENGTH)
		return h1_tx__stop(b, H1_TX_STOP_UNFRAMED); /* after this request's head */
	b->state = H1_TX_IN_MSG;
	b->left = (__u64)w->frame.head_len + w->frame.body_len;
	return H1_TX_STOP_NONE;
}

/* A write's exit: `bytes` moved (> 0), and the socket's write_seq is now
 * `seq`. Returns H1_TX_STOP_* when the connection stops now. */
KSPAN_INLINE int h1_tx_exit(struct h1_tx_boundary *b, __u64 bytes, __u32 seq)
{
	if (b->state == H1_TX_STOPPED)
		return H1_TX_STOP_NONE;
	b->seq = seq;
	if (b->state != H1_TX_IN_MSG)
		return h1_tx__stop(b, H1_TX_STOP_UNFOLLOWED); /* its entry judged nothing */
	if (bytes > b->left)
		return h1_tx__stop(b, H1_TX_STOP_OVERRUN);
	b->left -= bytes;
	if (!b->left)
		b->state = H1_TX_AT_START;
	return H1_TX_STOP_NONE;
}

#endif /* HTTP1_TX_BOUNDARY_H */
