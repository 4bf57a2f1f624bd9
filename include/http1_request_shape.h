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

/* Position i (>= 1) of the scan: 1 to stop, 0 to go on. A request line ending
 * in a bare LF is left alone (0 is kept): the inserted line must use the
 * request's own line ending, and CRLF is the only one RFC 9112 requires
 * recipients to accept everywhere. */
KSPAN_INLINE int http1_request_shape_step(__u32 i, struct http1_request_shape *s)
{
	const __u8 *buf = s->buf;

	if (i >= s->len)
		return 1;
	if (KSPAN_AT(buf, i) != '\n')
		return 0;
	if (!s->line_end) {
		if (KSPAN_AT(buf, i - 1) != '\r')
			return 1;
		s->line_end = i + 1;
		return 0;
	}
	/* "\r\n\r\n": this LF ends the blank line. */
	if (i >= 3 && KSPAN_AT(buf, i - 1) == '\r' && KSPAN_AT(buf, i - 2) == '\n') {
		s->block_end = i + 1;
		return 1;
	}
	return 0;
}

#ifdef __BPF__
static long http1_request_shape_cb(__u32 index, void *ctx)
{
	return http1_request_shape_step(index + 1, ctx);
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
	bpf_loop(KSPAN_CTX_SCAN_MAX, http1_request_shape_cb, s, 0);
#else
	for (__u32 i = 1; i < KSPAN_CTX_SCAN_MAX; i++)
		if (http1_request_shape_step(i, s))
			break;
#endif
}

#endif /* HTTP1_REQUEST_SHAPE_H */
