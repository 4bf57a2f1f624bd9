/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http2_detect.h - does a buffer start the HTTP/2 client connection preface?
 *
 * RFC 9113 section 3.4: a client's first bytes on an HTTP/2 connection are
 * "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", with prior knowledge (h2c, gRPC) and
 * after an "Upgrade: h2c" exchange alike (section 3.2 of RFC 7540). The
 * kernel switches a connection to HTTP/2 when it sees it; the userspace frame
 * parser skips it with the same constants.
 */
#ifndef HTTP2_DETECT_H
#define HTTP2_DETECT_H

#include "http1_detect.h"

#define HTTP2_PREFACE	  "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define HTTP2_PREFACE_LEN 24
/* The first line is enough to tell: no HTTP/1 method is "PRI". */
#define HTTP2_PREFACE_LINE "PRI * HTTP/2.0\r\n"
#define HTTP2_DETECT_MIN   16

/* 1 when buf[0..len) starts with the preface's first line. */
KSPAN_INLINE int http2_is_preface_start(const __u8 *buf, __u32 len)
{
	return HTTP1_HAS_PREFIX(buf, 0, len, HTTP2_PREFACE_LINE);
}

#endif /* HTTP2_DETECT_H */
