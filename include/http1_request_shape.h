/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http1_request_shape.h - where a request's first line and header block end,
 * shared by the BPF programs (which decide whether a `traceparent` can be
 * inserted, and where) and the unit tests.
 *
 * kspan inserts its header right after the request line (RFC 9112 section 3:
 * request-line CRLF, then field lines), so the insertion point is inside the
 * first bytes of the write. It inserts only when the whole header block ends
 * inside the bytes it examined: only then does it know the request carries no
 * `traceparent` of its own, which must never be duplicated.
 */
#ifndef HTTP1_REQUEST_SHAPE_H
#define HTTP1_REQUEST_SHAPE_H

#include "kspan_bytes.h"

struct http1_request_shape {
	const __u8 *buf;
	__u32 len;	 /* bytes examined */
	__u32 line_end;	 /* offset just past the request line's CRLF, 0 if unseen */
	__u32 block_end; /* offset just past the blank line, 0 if unseen */
};

/*
 * Two passes, each stopping at its first match, so that no step reads what an
 * earlier step wrote: the 6.1 verifier checks a bpf_loop callback once, with
 * the fields as they were before the loop (fixed in 6.7 by "bpf: verify
 * callbacks as if they are called unknown number of times"), and removes the
 * branches that a field written by an earlier iteration would take.
 *
 * Pass 1, position i (>= 1): the first LF ends the request line. A request
 * line ending in a bare LF is left alone (line_end stays 0): the inserted line
 * must use the request's own line ending, and CRLF is the only one RFC 9112
 * requires recipients to accept everywhere. 1 to stop, 0 to go on.
 */
KSPAN_INLINE int http1_request_line_step(__u32 i, struct http1_request_shape *s)
{
	const __u8 *buf = s->buf;

	if (i >= s->len)
		return 1;
	if (KSPAN_AT(buf, i) != '\n')
		return 0;
	if (KSPAN_AT(buf, i - 1) == '\r')
		s->line_end = i + 1;
	return 1;
}

/* Pass 2, position i (>= 3): "\n\r\n" ends the blank line that closes the
 * header block (its first LF is the request line's own, or a later one). */
KSPAN_INLINE int http1_request_block_step(__u32 i, struct http1_request_shape *s)
{
	const __u8 *buf = s->buf;

	if (i >= s->len)
		return 1;
	if (KSPAN_AT(buf, i) != '\n' || KSPAN_AT(buf, i - 1) != '\r' ||
	    KSPAN_AT(buf, i - 2) != '\n')
		return 0;
	s->block_end = i + 1;
	return 1;
}

#ifdef __BPF__
static long http1_request_line_cb(__u32 index, void *ctx)
{
	return http1_request_line_step(index + 1, ctx);
}

static long http1_request_block_cb(__u32 index, void *ctx)
{
	return http1_request_block_step(index + 3, ctx);
}
#endif

/* Scans buf[0..min(len, KSPAN_CTX_SCAN_MAX)). */
KSPAN_INLINE void http1_request_shape_scan(const __u8 *buf, __u32 len,
					   struct http1_request_shape *s)
{
	s->buf = buf;
	s->len = len < KSPAN_CTX_SCAN_MAX ? len : KSPAN_CTX_SCAN_MAX;
	s->line_end = 0;
	s->block_end = 0;
#ifdef __BPF__
	bpf_loop(KSPAN_CTX_SCAN_MAX, http1_request_line_cb, s, 0);
	if (s->line_end)
		bpf_loop(KSPAN_CTX_SCAN_MAX, http1_request_block_cb, s, 0);
#else
	for (__u32 i = 1; i < KSPAN_CTX_SCAN_MAX; i++)
		if (http1_request_line_step(i, s))
			break;
	for (__u32 i = 3; s->line_end && i < KSPAN_CTX_SCAN_MAX; i++)
		if (http1_request_block_step(i, s))
			break;
#endif
}

#endif /* HTTP1_REQUEST_SHAPE_H */
