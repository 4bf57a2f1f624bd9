/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http1_stream.h - incremental HTTP/1.x message framing for ONE direction of
 * one connection (requests, or responses): where each message starts and
 * ends. The head of each message is parsed by http1_head.h, the end of its
 * body found by http1_body.h.
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
 *                           Its slices point into the stream's buffer: valid
 *                           only during the call.
 *   on_complete(ctx, info)  the message (head and body) ended inside this
 *                           piece; info->framing tells how the end was known.
 * Both receive the index of the message within the piece (0 for the first
 * message that starts in a piece), which matters for pipelining.
 */
#ifndef KSPAN_HTTP1_STREAM_H
#define KSPAN_HTTP1_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/http1_head.h"

enum http1_stream_kind {
	HTTP1_STREAM_REQUESTS = 1,
	HTTP1_STREAM_RESPONSES = 2,
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

#endif /* KSPAN_HTTP1_STREAM_H */
