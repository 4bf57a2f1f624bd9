/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http2_detect.h - does a buffer start the HTTP/2 client connection preface?
 *
 * RFC 9113 section 3.4: a client's first bytes on an HTTP/2 connection are
 * "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", with prior knowledge (h2c, gRPC) and
 * after an "Upgrade: h2c" exchange alike (section 3.2 of RFC 7540). The
 * kernel switches a connection to HTTP/2 when it sees it; the userspace frame
 * parser skips it with the same constants (http2_frame.h).
 */
#ifndef HTTP2_DETECT_H
#define HTTP2_DETECT_H

#include "http1_detect.h"
#include "http2_frame.h"

/* The first line is enough to tell: no HTTP/1 method is "PRI". */
#define HTTP2_PREFACE_LINE "PRI * HTTP/2.0\r\n"
#define HTTP2_DETECT_MIN   16

/* 1 when buf[0..len) starts with the preface's first line. */
KSPAN_INLINE int http2_is_preface_start(const __u8 *buf, __u32 len)
{
	return HTTP1_HAS_PREFIX(buf, 0, len, HTTP2_PREFACE_LINE);
}

/*
 * A connection that was open before kspan started shows no preface. Its
 * first bytes seen are taken for HTTP/2 only if they start a HEADERS frame
 * (RFC 9113 6.2) as clients and servers write them: a complete header block
 * (END_HEADERS) on an odd stream, no padding or priority, at most the default
 * SETTINGS_MAX_FRAME_SIZE, whose first field is an indexed field or a table
 * size update (HPACK section 6; ":method", ":status" are static entries).
 * Checked only on such adopted connections.
 */
#define HTTP2_HEADERS_DETECT_MIN 10

KSPAN_INLINE int http2_is_headers_frame_start(const __u8 *buf, __u32 len)
{
	__u32 flen;
	__u8 flags, first;

	if (len < HTTP2_HEADERS_DETECT_MIN)
		return 0;
	flen = (__u32)KSPAN_AT(buf, 0) << 16 | (__u32)KSPAN_AT(buf, 1) << 8 | KSPAN_AT(buf, 2);
	flags = KSPAN_AT(buf, 4);
	if (KSPAN_AT(buf, 3) != HTTP2_FRAME_HEADERS || flen == 0 ||
	    flen > HTTP2_MAX_FRAME_SIZE_DEFAULT)
		return 0;
	/* END_STREAM may be set; END_HEADERS must be; nothing else. */
	if ((flags & ~(HTTP2_FLAG_END_STREAM | HTTP2_FLAG_END_HEADERS)) ||
	    !(flags & HTTP2_FLAG_END_HEADERS))
		return 0;
	/* Stream id: reserved bit clear, odd (client-initiated). */
	if ((KSPAN_AT(buf, 5) & 0x80) || !(KSPAN_AT(buf, 8) & 1))
		return 0;
	first = KSPAN_AT(buf, 9);
	return (first & 0x80) || (first & 0xe0) == 0x20;
}

#endif /* HTTP2_DETECT_H */
