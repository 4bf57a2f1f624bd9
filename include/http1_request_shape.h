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

/*
 * Message boundaries of the requests a client writes (RFC 9112 section 6.3):
 * kspan inserts only at the first byte of a request, and knows where the next
 * one starts only when this one's length is known: the head (request line
 * and header block, whole in the bytes examined) plus a body of Content-Length
 * bytes, or none. Transfer-Encoding (chunked or any other), several
 * Content-Length fields, or one that is not a plain decimal number below
 * 2^32 leave the length unknown: kspan then stops inserting on that
 * connection (HTTP1_BODY_UNFRAMED).
 *
 * The field search is one more bpf_loop pass per field line looked for, each
 * stopping at its first match and reading only what was set before its loop
 * (the 6.1 verifier rule above).
 */
#define HTTP1_BODY_LENGTH   0 /* body_len bytes follow the head (0: none) */
#define HTTP1_BODY_UNFRAMED 1 /* chunked, or a length kspan cannot trust */

struct http1_request_frame {
	__u32 head_len; /* request line and header block, blank line included */
	__u32 body_len; /* HTTP1_BODY_LENGTH: Content-Length */
	__u8 body;	/* HTTP1_BODY_* */
	__u8 _pad[3];
};

#define HTTP1_FIELD_CONTENT_LENGTH    1
#define HTTP1_FIELD_TRANSFER_ENCODING 2

/* One pass of the framing field search: the first line at or after `from`
 * (and before `end`, the header block's end) that names Content-Length or
 * Transfer-Encoding. */
struct http1_field_search {
	const __u8 *buf;
	__u32 from;  /* first position examined (>= 1) */
	__u32 end;   /* block_end */
	__u32 at;    /* result: offset just past the field name's ':' */
	__u32 which; /* result: HTTP1_FIELD_*, 0 when none */
};

/* Does buf[i..) start with the lowercase `name` (case-insensitively)? */
KSPAN_INLINE int http1_name_at(const __u8 *buf, __u32 i, const char *name, __u32 len)
{
	for (__u32 j = 0; j < 20; j++) {
		if (j >= len)
			break;
		if (kspan_ascii_lower(KSPAN_AT(buf, i + j)) != (__u8)name[j])
			return 0;
	}
	return 1;
}

/* Position i of the search: 1 to stop (found, or the block ended), 0 to go on. */
KSPAN_INLINE int http1_field_search_step(__u32 i, struct http1_field_search *s)
{
	const __u8 *buf = s->buf;

	if (i + 15 > s->end)
		return 1; /* no room left for "content-length:" and a value */
	if (KSPAN_AT(buf, i - 1) != '\n')
		return 0;
	if (http1_name_at(buf, i, "content-length:", 15)) {
		s->at = i + 15;
		s->which = HTTP1_FIELD_CONTENT_LENGTH;
		return 1;
	}
	if (i + 18 <= s->end && http1_name_at(buf, i, "transfer-encoding:", 18)) {
		s->at = i + 18;
		s->which = HTTP1_FIELD_TRANSFER_ENCODING;
		return 1;
	}
	return 0;
}

#ifdef __BPF__
static long http1_field_search_cb(__u32 index, void *ctx)
{
	struct http1_field_search *s = ctx;

	return http1_field_search_step(s->from + index, s);
}
#endif

KSPAN_INLINE void http1_field_search_run(struct http1_field_search *s)
{
	s->at = 0;
	s->which = 0;
#ifdef __BPF__
	bpf_loop(KSPAN_CTX_SCAN_MAX, http1_field_search_cb, s, 0);
#else
	for (__u32 i = s->from; i < s->from + KSPAN_CTX_SCAN_MAX; i++)
		if (http1_field_search_step(i, s))
			break;
#endif
}

/* Does the request line (ending at line_end, CRLF included) end in
 * " HTTP/1.0" or " HTTP/1.1"? Other versions, and other protocols that
 * borrow HTTP's shape (RTSP/1.0, ...), are left alone. */
KSPAN_INLINE int http1_request_line_is_http1x(const __u8 *buf, __u32 line_end)
{
	__u32 v;

	if (line_end < 2 + 9 + 3) /* "X / HTTP/1.1\r\n" at least */
		return 0;
	v = line_end - 2 - 9;
	if (!http1_name_at(buf, v, " http/1.", 8))
		return 0;
	/* The name is uppercase on the wire (RFC 9112 section 2.3). */
	if (KSPAN_AT(buf, v + 1) != 'H' || KSPAN_AT(buf, v + 2) != 'T' ||
	    KSPAN_AT(buf, v + 3) != 'T' || KSPAN_AT(buf, v + 4) != 'P')
		return 0;
	return KSPAN_AT(buf, v + 8) == '0' || KSPAN_AT(buf, v + 8) == '1';
}

/* Content-Length's value at buf[at..end): optional whitespace, 1 to 10
 * digits below 2^32, optional whitespace, CR. Returns 0 and the value, or -1. */
KSPAN_INLINE int http1_content_length_value(const __u8 *buf, __u32 at, __u32 end, __u32 *out)
{
	__u64 v = 0;
	__u32 i = at, digits = 0;

	for (int k = 0; k < 8 && i < end; k++) {
		if (KSPAN_AT(buf, i) != ' ' && KSPAN_AT(buf, i) != '\t')
			break;
		i++;
	}
	for (int k = 0; k < 11 && i < end; k++) {
		__u8 c = KSPAN_AT(buf, i);
		if (c < '0' || c > '9')
			break;
		v = v * 10 + (c - '0');
		digits++;
		i++;
	}
	if (!digits || digits > 10 || v > 0xffffffffull)
		return -1;
	for (int k = 0; k < 8 && i < end; k++) {
		if (KSPAN_AT(buf, i) != ' ' && KSPAN_AT(buf, i) != '\t')
			break;
		i++;
	}
	if (i >= end || KSPAN_AT(buf, i) != '\r')
		return -1;
	*out = (__u32)v;
	return 0;
}

/*
 * The framing of a request whose head `shape` scanned. Returns 0 with f
 * filled; -1 when the request line does not end in HTTP/1.0 or HTTP/1.1 (not
 * a request kspan may edit); -2 when the head is not whole in the bytes
 * scanned (its length is unknown).
 */
KSPAN_INLINE int http1_request_frame_of(const struct http1_request_shape *shape,
					struct http1_request_frame *f)
{
	struct http1_field_search s = {.buf = shape->buf, .from = 1, .end = shape->block_end};
	__u32 first;

	f->head_len = shape->block_end;
	f->body_len = 0;
	f->body = HTTP1_BODY_UNFRAMED;
	if (!shape->line_end)
		return -2;
	if (!http1_request_line_is_http1x(shape->buf, shape->line_end))
		return -1;
	if (!shape->block_end)
		return -2;
	s.from = shape->line_end;
	http1_field_search_run(&s);
	if (!s.which) {
		f->body = HTTP1_BODY_LENGTH; /* neither field: no body (section 6.3, 6.) */
		return 0;
	}
	if (s.which != HTTP1_FIELD_CONTENT_LENGTH)
		return 0; /* Transfer-Encoding: unframed */
	first = s.at;
	if (http1_content_length_value(shape->buf, first, shape->block_end, &f->body_len))
		return 0;
	/* Any second Content-Length or a Transfer-Encoding after it. */
	s.from = first;
	http1_field_search_run(&s);
	if (s.which)
		return 0;
	f->body = HTTP1_BODY_LENGTH;
	return 0;
}

#endif /* HTTP1_REQUEST_SHAPE_H */
