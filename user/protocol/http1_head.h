/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http1_head.h - the head of one HTTP/1.x message: its start line (request
 * line or status line) and the header fields that matter to kspan and to
 * framing, parsed from the bytes http1_stream.h collected (RFC 9112 sections
 * 2 to 5).
 *
 * Parsing never allocates: every string is a slice of the caller's buffer.
 * It also says whether a few bytes can start a message at all, which the
 * stream uses to find the next message after lost bytes.
 */
#ifndef KSPAN_HTTP1_HEAD_H
#define KSPAN_HTTP1_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "w3c_tracestate.h"

/* The largest head (and trailer section) a stream collects. */
#define HTTP1_MAX_HEAD_BYTES 8192

/* A string inside a head buffer; valid as long as that buffer. */
struct http1_slice {
	const char *ptr;
	size_t len;
};

struct http1_head {
	bool is_request;
	/* Requests. */
	struct http1_slice method; /* e.g. "GET" */
	struct http1_slice target; /* request-target as sent, e.g. "/a/b?q=1" */
	/* Responses. */
	int status_code; /* 100..599 */
	/* Both. */
	int version_minor;		/* 0 or 1 for HTTP/1.0, HTTP/1.1 */
	struct http1_slice host;	/* Host header value, or empty */
	struct http1_slice user_agent;	/* User-Agent value, or empty */
	struct http1_slice traceparent; /* the first traceparent value, or empty */
	unsigned traceparent_fields;	/* how many traceparent fields it had */
	/* Every tracestate field combined (W3C 3.3), as the kernel does: an
	 * obs-fold continuing one, or one cut by the end of the bytes, makes
	 * the list invalid. */
	struct w3c_tracestate tracestate;
	int64_t content_length; /* -1 when absent */
	bool chunked;		/* Transfer-Encoding: chunked */
	bool connection_close;	/* Connection: close, or HTTP/1.0 without keep-alive */
	bool upgrade;		/* 101 response, or CONNECT 2xx: the stream stops being HTTP/1 */
	bool head_truncated;	/* headers were cut by the capture; fields may be missing */
	size_t head_bytes;	/* bytes of the start line + headers, when known */
};

/* What parsing a head yields beyond struct http1_head: what framing the
 * body needs (RFC 9112 section 6.3). */
struct http1_head_parse {
	struct http1_head head;
	bool start_ok;	      /* the start line parsed */
	bool te_present;      /* a Transfer-Encoding field was sent */
	bool te_chunked_last; /* "chunked" is the final transfer coding */
	bool cl_invalid;      /* Content-Length malformed or conflicting */
	bool conn_close;
	bool conn_keep_alive;
	bool wants_upgrade;    /* a request carrying Upgrade */
	bool after_tracestate; /* the last field line was a tracestate */
	unsigned seen;	       /* which fields were seen: the first of repeated ones wins */
	size_t head_end;       /* bytes up to and with the empty line's LF; 0: not in buf */
};

/* Parses buf[0..len): the start line, then field lines up to the empty line
 * or the end of buf. Field lines cut by the end of buf are ignored; a start
 * line cut by it is parsed as far as it goes. hp->start_ok says whether the
 * start line parsed; the slices point into buf. What follows the empty line
 * is not read: parsing buf[0..hp->head_end) gives the same result. */
void http1_head_parse(const char *buf, size_t len, bool is_request, struct http1_head_parse *hp);

/* Case-insensitive comparison with a lowercase literal (field names and
 * tokens are case-insensitive, RFC 9110 sections 5.1 and 5.6.2). */
bool http1_slice_is(struct http1_slice v, const char *lower);

/* --- message start ------------------------------------------------------- */

/* Bytes needed before http1_head_starts_message() can decide. */
size_t http1_head_start_min_len(bool is_request);

/* Do buf[0..len) start a request (or a response)? http1_detect.h decides. */
bool http1_head_starts_message(bool is_request, const uint8_t *buf, size_t len);

/* Can `c`, following so_far[0..n), still become a message start? Rejects
 * garbage at its first byte, before http1_head_start_min_len() bytes are
 * there for http1_head_starts_message(). */
bool http1_head_start_byte_plausible(bool is_request, const uint8_t *so_far, size_t n, uint8_t c);

#endif /* KSPAN_HTTP1_HEAD_H */
