/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http1_detect.h - does a buffer start an HTTP/1.x message?
 *
 * The kernel uses this to decide which connections carry HTTP/1.x (only those
 * send events) and where requests and responses begin; the userspace parser
 * uses the same test when it resynchronises after lost bytes.
 */
#ifndef HTTP1_DETECT_H
#define HTTP1_DETECT_H

#include "kspan_bytes.h"

/* Bytes needed to classify a message start. */
#define HTTP1_DETECT_MIN 9

/* Matches `lit` (a string literal) at buf[off..]; `len` is the valid length. */
#define HTTP1_HAS_PREFIX(buf, off, len, lit)                                                       \
	http1_has_prefix((buf), (off), (len), (const char *)(lit), sizeof(lit) - 1)

KSPAN_INLINE int http1_has_prefix(const __u8 *buf, __u32 off, __u32 len, const char *lit,
				  __u32 lit_len)
{
	if (off + lit_len > len)
		return 0;
	for (__u32 i = 0; i < lit_len && i < 16; i++) {
		if (KSPAN_AT(buf, off + i) != (__u8)lit[i])
			return 0;
	}
	return 1;
}

/* Length of the request method at buf[off] including its trailing space
 * (e.g. 4 for "GET "), or 0 when buf[off] does not start a request line.
 * RFC 9110 section 9 methods; the request target must follow (origin form
 * "/", asterisk form "*" for OPTIONS, or absolute form "http"). */
KSPAN_INLINE __u32 http1_request_method_len(const __u8 *buf, __u32 off, __u32 len)
{
	__u32 m = 0;

	if (len < off + HTTP1_DETECT_MIN)
		return 0;
	switch (KSPAN_AT(buf, off)) {
	case 'G':
		m = HTTP1_HAS_PREFIX(buf, off, len, "GET ") ? 4 : 0;
		break;
	case 'P':
		if (HTTP1_HAS_PREFIX(buf, off, len, "POST "))
			m = 5;
		else if (HTTP1_HAS_PREFIX(buf, off, len, "PUT "))
			m = 4;
		else if (HTTP1_HAS_PREFIX(buf, off, len, "PATCH "))
			m = 6;
		break;
	case 'H':
		m = HTTP1_HAS_PREFIX(buf, off, len, "HEAD ") ? 5 : 0;
		break;
	case 'D':
		m = HTTP1_HAS_PREFIX(buf, off, len, "DELETE ") ? 7 : 0;
		break;
	case 'O':
		m = HTTP1_HAS_PREFIX(buf, off, len, "OPTIONS ") ? 8 : 0;
		break;
	case 'C':
		m = HTTP1_HAS_PREFIX(buf, off, len, "CONNECT ") ? 8 : 0;
		break;
	case 'T':
		m = HTTP1_HAS_PREFIX(buf, off, len, "TRACE ") ? 6 : 0;
		break;
	default:
		return 0;
	}
	if (m == 0 || off + m >= len)
		return 0;
	{
		__u8 t = KSPAN_AT(buf, off + m);
		/* CONNECT uses authority form (host:port). */
		if (t == '/' || t == '*' || t == 'h' || (m == 8 && KSPAN_AT(buf, off) == 'C'))
			return m;
	}
	return 0;
}

/* 1 when buf[off] starts a status line "HTTP/1.x NNN". */
KSPAN_INLINE int http1_is_response_start(const __u8 *buf, __u32 off, __u32 len)
{
	__u8 minor, d;

	if (len < off + 12 || !HTTP1_HAS_PREFIX(buf, off, len, "HTTP/1."))
		return 0;
	minor = KSPAN_AT(buf, off + 7);
	if ((minor != '0' && minor != '1') || KSPAN_AT(buf, off + 8) != ' ')
		return 0;
	d = KSPAN_AT(buf, off + 9);
	if (d < '1' || d > '5')
		return 0;
	/* status-code = 3DIGIT (RFC 9112 section 4). */
	d = KSPAN_AT(buf, off + 10);
	if (d < '0' || d > '9')
		return 0;
	d = KSPAN_AT(buf, off + 11);
	return d >= '0' && d <= '9';
}

#endif /* HTTP1_DETECT_H */
