// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * http1_body.c - HTTP/1.x message body framing: Content-Length (RFC 9112
 * section 6.3), the chunked transfer coding (section 7.1) and bodies
 * delimited by close.
 */
#include <string.h>

#include "kspan_bytes.h"
#include "protocol/http1_body.h"
#include "protocol/http1_head.h"

/* RFC 9112 section 7.1.1 lets a recipient limit chunk extensions; a longer
 * chunk-size line is treated as a framing error. */
#define CHUNK_LINE_MAX 4096
/* 15 hex digits keep a chunk size below 2^60: no overflow while counting. */
#define CHUNK_SIZE_MAX_DIGITS 15

/* One step's view of the piece. */
struct walk {
	const uint8_t *data;
	size_t captured; /* data[0..captured) is known */
	size_t total;	 /* bytes the syscall moved, known or not */
	size_t pos;	 /* next byte to consume */
	const char *why; /* set with HTTP1_BODY_ERROR */
};

static enum http1_body_result framing_error(struct walk *w, const char *why)
{
	w->why = why;
	return HTTP1_BODY_ERROR;
}

void http1_body_begin_length(struct http1_body *b, uint64_t length)
{
	b->left = length;
	b->state = HTTP1_BODY_LENGTH;
}

void http1_body_begin_chunked(struct http1_body *b)
{
	b->state = HTTP1_BODY_CHUNK_SIZE;
	b->left = 0;
	b->chunk_digits = 0;
	b->line_len = 0;
}

void http1_body_begin_until_close(struct http1_body *b)
{
	b->state = HTTP1_BODY_UNTIL_CLOSE;
}

/* Counts up to `left` bytes, captured or not; returns what is still to come. */
static uint64_t count_body(struct http1_body *b, struct walk *w)
{
	uint64_t n = w->total - w->pos;

	if (n > b->left)
		n = b->left;
	w->pos += (size_t)n;
	b->left -= n;
	b->bytes += n;
	return b->left;
}

static enum http1_body_result step_length(struct http1_body *b, struct walk *w)
{
	return count_body(b, w) == 0 ? HTTP1_BODY_END : HTTP1_BODY_MORE;
}

static void end_chunk_size_line(struct http1_body *b)
{
	b->line_len = 0;
	if (b->left == 0) {
		b->state = HTTP1_BODY_TRAILERS;
		b->trailer_bytes = 0;
	} else {
		b->state = HTTP1_BODY_CHUNK_DATA;
	}
}

/* chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF (RFC 9112 section
 * 7.1); chunk-ext may follow BWS, so a space also starts the extension. */
static enum http1_body_result step_chunk_size(struct http1_body *b, struct walk *w)
{
	uint8_t c = w->data[w->pos++];
	int v = kspan_hex_value(c);

	b->line_len++;
	if (v >= 0) {
		if (b->chunk_digits == CHUNK_SIZE_MAX_DIGITS)
			return framing_error(w, "chunk size too large");
		b->left = b->left << 4 | (uint64_t)v;
		b->chunk_digits++;
		return HTTP1_BODY_MORE;
	}
	if (b->chunk_digits == 0)
		return framing_error(w, "chunk size is not hexadecimal");
	if (c == ';' || c == ' ' || c == '\t')
		b->state = HTTP1_BODY_CHUNK_EXT;
	else if (c == '\r')
		b->state = HTTP1_BODY_CHUNK_SIZE_LF;
	else if (c == '\n')
		end_chunk_size_line(b);
	else
		return framing_error(w, "malformed chunk-size line");
	return HTTP1_BODY_MORE;
}

static enum http1_body_result step_chunk_ext(struct http1_body *b, struct walk *w)
{
	const uint8_t *from = w->data + w->pos;
	size_t n = w->captured - w->pos;
	const uint8_t *lf = memchr(from, '\n', n);

	if (lf)
		n = (size_t)(lf - from) + 1;
	w->pos += n;
	b->line_len += n;
	if (b->line_len > CHUNK_LINE_MAX)
		return framing_error(w, "chunk extensions too long");
	if (lf)
		end_chunk_size_line(b);
	return HTTP1_BODY_MORE;
}

static enum http1_body_result step_chunk_size_lf(struct http1_body *b, struct walk *w)
{
	if (w->data[w->pos++] != '\n')
		return framing_error(w, "chunk-size line without LF");
	end_chunk_size_line(b);
	return HTTP1_BODY_MORE;
}

static enum http1_body_result step_chunk_data(struct http1_body *b, struct walk *w)
{
	if (count_body(b, w) == 0) {
		b->state = HTTP1_BODY_CHUNK_DATA_END;
		b->crlf_left = 2;
	}
	return HTTP1_BODY_MORE;
}

static enum http1_body_result step_chunk_data_end(struct http1_body *b, struct walk *w)
{
	uint8_t c;

	if (w->pos >= w->captured) {
		/* Not captured: trust that it is the CRLF section 7.1 requires. */
		w->pos++;
		if (--b->crlf_left == 0)
			http1_body_begin_chunked(b);
		return HTTP1_BODY_MORE;
	}
	c = w->data[w->pos++];
	if (c == '\r' && b->crlf_left == 2)
		b->crlf_left = 1;
	else if (c == '\n')
		http1_body_begin_chunked(b);
	else
		return framing_error(w, "chunk data not followed by CRLF");
	return HTTP1_BODY_MORE;
}

/* trailer-section = *( field-line CRLF ), then CRLF (RFC 9112 section 7.1.2).
 * The fields are not used; only the end matters. */
static enum http1_body_result step_trailers(struct http1_body *b, struct walk *w)
{
	uint8_t c = w->data[w->pos++];

	if (++b->trailer_bytes > HTTP1_MAX_HEAD_BYTES)
		return framing_error(w, "trailer section too large");
	if (c == '\n') {
		if (b->line_len == 0)
			return HTTP1_BODY_END;
		b->line_len = 0;
	} else if (c != '\r') {
		b->line_len++;
	}
	return HTTP1_BODY_MORE;
}

static enum http1_body_result step_until_close(struct http1_body *b, struct walk *w)
{
	b->bytes += w->total - w->pos;
	w->pos = w->total;
	return HTTP1_BODY_MORE;
}

/* The steps that must read the byte they consume. */
static bool reads_bytes(enum http1_body_state state)
{
	return state == HTTP1_BODY_CHUNK_SIZE || state == HTTP1_BODY_CHUNK_EXT ||
	       state == HTTP1_BODY_CHUNK_SIZE_LF || state == HTTP1_BODY_TRAILERS;
}

static enum http1_body_result step(struct http1_body *b, struct walk *w)
{
	if (reads_bytes(b->state) && w->pos >= w->captured)
		return HTTP1_BODY_UNSEEN;
	switch (b->state) {
	case HTTP1_BODY_LENGTH:
		return step_length(b, w);
	case HTTP1_BODY_CHUNK_SIZE:
		return step_chunk_size(b, w);
	case HTTP1_BODY_CHUNK_EXT:
		return step_chunk_ext(b, w);
	case HTTP1_BODY_CHUNK_SIZE_LF:
		return step_chunk_size_lf(b, w);
	case HTTP1_BODY_CHUNK_DATA:
		return step_chunk_data(b, w);
	case HTTP1_BODY_CHUNK_DATA_END:
		return step_chunk_data_end(b, w);
	case HTTP1_BODY_TRAILERS:
		return step_trailers(b, w);
	case HTTP1_BODY_UNTIL_CLOSE:
		return step_until_close(b, w);
	}
	return HTTP1_BODY_UNSEEN;
}

enum http1_body_result http1_body_step(struct http1_body *b, const uint8_t *data, size_t captured,
				       size_t total, size_t *pos, const char **why)
{
	struct walk w = {.data = data, .captured = captured, .total = total, .pos = *pos};
	enum http1_body_result r = step(b, &w);

	*pos = w.pos;
	*why = w.why;
	return r;
}
