/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http1_parser.h - incremental HTTP/1.x message framing for ONE direction of
 * one connection (requests, or responses).
 *
 * Input arrives as syscall-sized pieces of which only a prefix was captured:
 * http1_stream_feed(s, data, captured, total, ...) says "the peer moved
 * `total` bytes; the first `captured` of them are `data`". Bytes past the
 * capture are unknown: they can still be counted against a Content-Length
 * body, but when framing needs bytes it does not have (a header block or a
 * chunk-size line cut by the capture) the stream loses sync, reports the
 * message as framing-unknown, and resynchronises at the next piece that starts
 * a message (http1_detect.h). It never reads past `captured` and never
 * allocates more than HTTP1_MAX_HEAD_BYTES per stream.
 *
 * Messages are delivered through callbacks, in order:
 *   on_head(ctx, head)      a complete request or status line plus headers was
 *                           parsed (for a response: also 1xx interim ones).
 *   on_complete(ctx, info)  the message (head and body) ended inside this
 *                           piece; info->framing tells how the end was known.
 * Both receive the index of the message within the piece (0 for the first
 * message that starts in a piece), which matters for pipelining.
 */
#ifndef KSPAN_HTTP1_PARSER_H
#define KSPAN_HTTP1_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP1_MAX_HEAD_BYTES 8192

enum http1_stream_kind {
	HTTP1_STREAM_REQUESTS = 1,
	HTTP1_STREAM_RESPONSES = 2,
};

/* A string inside the parser's head buffer; valid only during on_head. */
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
	struct http1_slice traceparent; /* raw header values, or empty */
	struct http1_slice tracestate;
	int64_t content_length; /* -1 when absent */
	bool chunked;		/* Transfer-Encoding: chunked */
	bool connection_close;	/* Connection: close, or HTTP/1.0 without keep-alive */
	bool upgrade;		/* 101 response, or CONNECT 2xx: the stream stops being HTTP/1 */
	bool head_truncated;	/* headers were cut by the capture; fields may be missing */
	size_t head_bytes;	/* bytes of the start line + headers, when known */
};

enum http1_framing {
	HTTP1_FRAMING_EXACT = 1,   /* Content-Length, chunked, or no body: end is exact */
	HTTP1_FRAMING_UNKNOWN = 2, /* sync lost; ended by the next message start */
};

struct http1_complete_info {
	enum http1_framing framing;
	uint64_t body_bytes; /* body bytes counted (exact framing only) */
};

struct http1_callbacks {
	/* For responses: return true when this response has no body because
	 * it answers a HEAD request (RFC 9112 section 6.3); ignored for
	 * requests and for 1xx/204/304, which never have one. */
	bool (*on_head)(void *ctx, unsigned msg_index, const struct http1_head *head);
	void (*on_complete)(void *ctx, unsigned msg_index, const struct http1_complete_info *info);
	/* The piece held data that is not HTTP/1.x at a place where a message
	 * had to start; the rest of the piece is skipped. */
	void (*on_error)(void *ctx, const char *why);
};

struct http1_stream; /* opaque */

struct http1_stream *http1_stream_new(enum http1_stream_kind kind);
void http1_stream_free(struct http1_stream *s);

/* Feed one piece. `captured <= total`. Callbacks run before it returns. */
void http1_stream_feed(struct http1_stream *s, const uint8_t *data, size_t captured, size_t total,
		       const struct http1_callbacks *cb, void *ctx);

/* The peer closed the connection: a response delimited by close (no length,
 * not chunked) completes now; a message cut short is reported through
 * on_complete with HTTP1_FRAMING_UNKNOWN. */
void http1_stream_close(struct http1_stream *s, const struct http1_callbacks *cb, void *ctx);

/* True while a message has started and not completed. */
bool http1_stream_in_message(const struct http1_stream *s);

/* True while a message has started and its end can no longer be framed
 * (it will complete at the next message start, or at close). */
bool http1_stream_framing_lost(const struct http1_stream *s);

#endif /* KSPAN_HTTP1_PARSER_H */
