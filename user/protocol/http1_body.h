/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http1_body.h - where one HTTP/1.x message body ends (RFC 9112 section 6.3):
 * after Content-Length bytes, after the last chunk and the trailer section of
 * the chunked coding (section 7.1), or at the connection close.
 *
 * http1_stream.h walks a piece [0, total) of which [0, captured) is known
 * and hands each step inside a body to http1_body_step(). Counting steps
 * (Content-Length bodies, chunk data, bodies delimited by close) walk the
 * uncaptured tail too; steps that must read bytes (chunk-size lines,
 * trailers) report HTTP1_BODY_UNSEEN when they reach it.
 *
 * `bytes` of a chunked body counts chunk data only (what a Content-Length
 * would have said), not chunk-size lines or trailers.
 */
#ifndef KSPAN_HTTP1_BODY_H
#define KSPAN_HTTP1_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum http1_body_state {
	HTTP1_BODY_LENGTH = 1,	   /* Content-Length body, `left` bytes to go */
	HTTP1_BODY_CHUNK_SIZE,	   /* chunk-size digits */
	HTTP1_BODY_CHUNK_EXT,	   /* chunk extensions, skipped up to the line end */
	HTTP1_BODY_CHUNK_SIZE_LF,  /* chunk-size line: CR seen, LF expected */
	HTTP1_BODY_CHUNK_DATA,	   /* chunk data, `left` bytes to go */
	HTTP1_BODY_CHUNK_DATA_END, /* the CRLF that follows chunk data */
	HTTP1_BODY_TRAILERS,	   /* trailer section after the last chunk */
	HTTP1_BODY_UNTIL_CLOSE,	   /* response body delimited by the connection close */
};

struct http1_body {
	enum http1_body_state state;
	uint64_t left;	 /* Content-Length or chunk-data bytes still to come */
	uint64_t bytes;	 /* body bytes so far */
	size_t line_len; /* bytes of the current chunk-size or trailer line */
	size_t trailer_bytes;
	unsigned chunk_digits;
	unsigned crlf_left; /* bytes of the CRLF after chunk data still to come */
};

/* What one step found. */
enum http1_body_result {
	HTTP1_BODY_MORE,   /* the body goes on */
	HTTP1_BODY_END,	   /* the body ended at *pos: the next byte is the next message's */
	HTTP1_BODY_UNSEEN, /* the step must read a byte past the capture: sync is lost */
	HTTP1_BODY_ERROR,  /* malformed framing (why says how): the end is unknown */
};

/* Start a body; `length` > 0 (a zero length is no body at all). */
void http1_body_begin_length(struct http1_body *b, uint64_t length);
void http1_body_begin_chunked(struct http1_body *b);
void http1_body_begin_until_close(struct http1_body *b);

/* One step at data[*pos], *pos < total: consumes at least one byte unless
 * it returns HTTP1_BODY_UNSEEN. data[0..captured) is known. */
enum http1_body_result http1_body_step(struct http1_body *b, const uint8_t *data, size_t captured,
				       size_t total, size_t *pos, const char **why);

#endif /* KSPAN_HTTP1_BODY_H */
