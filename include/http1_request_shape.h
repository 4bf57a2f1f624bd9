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
 * The head is scanned by http1_head_scan.h, which finds the field lines;
 * this file reads their values.
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

#endif /* HTTP1_REQUEST_SHAPE_H */
