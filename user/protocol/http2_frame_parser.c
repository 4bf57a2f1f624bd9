// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* http2_frame_parser.c - bytes of one direction to HTTP/2 frames. */
#include <stdlib.h>
#include <string.h>

#include "http2_detect.h"
#include "protocol/http2_frame_parser.h"

void http2_frame_parser_init(struct http2_frame_parser *p, bool may_start_with_preface)
{
	memset(p, 0, sizeof(*p));
	p->preface_possible = may_start_with_preface;
}

void http2_frame_parser_free(struct http2_frame_parser *p)
{
	free(p->collect);
	p->collect = NULL;
	p->collect_cap = p->collect_len = 0;
}

static void lose(struct http2_frame_parser *p, const struct http2_frame_callbacks *cb, void *ctx,
		 const char *why)
{
	p->lost = true;
	p->in_payload = false;
	cb->on_framing_lost(ctx, why);
}

/* Frame types whose payload matters to spans and header decoding. */
static bool collected_type(uint8_t type)
{
	switch (type) {
	case HTTP2_FRAME_HEADERS:
	case HTTP2_FRAME_CONTINUATION:
	case HTTP2_FRAME_PUSH_PROMISE:
	case HTTP2_FRAME_SETTINGS:
	case HTTP2_FRAME_RST_STREAM:
	case HTTP2_FRAME_GOAWAY:
		return true;
	}
	return false;
}

/* RFC 9113 section 6: stream-id and length rules of each type. A frame
 * breaking them is no HTTP/2 (a real peer would end the connection). */
static const char *frame_header_error(const struct http2_frame *f, bool first)
{
	bool conn_level = f->stream_id == 0;

	if (first && (f->type != HTTP2_FRAME_SETTINGS || (f->flags & HTTP2_FLAG_ACK)))
		return "the first frame after the preface is not SETTINGS";
	switch (f->type) {
	case HTTP2_FRAME_DATA:
	case HTTP2_FRAME_HEADERS:
	case HTTP2_FRAME_CONTINUATION:
	case HTTP2_FRAME_PUSH_PROMISE:
		return conn_level ? "stream frame on stream 0" : NULL;
	case HTTP2_FRAME_PRIORITY:
		return conn_level || f->length != 5 ? "bad PRIORITY frame" : NULL;
	case HTTP2_FRAME_RST_STREAM:
		return conn_level || f->length != 4 ? "bad RST_STREAM frame" : NULL;
	case HTTP2_FRAME_SETTINGS:
		if (!conn_level || f->length % 6 || ((f->flags & HTTP2_FLAG_ACK) && f->length))
			return "bad SETTINGS frame";
		return NULL;
	case HTTP2_FRAME_PING:
		return !conn_level || f->length != 8 ? "bad PING frame" : NULL;
	case HTTP2_FRAME_GOAWAY:
		return !conn_level || f->length < 8 ? "bad GOAWAY frame" : NULL;
	case HTTP2_FRAME_WINDOW_UPDATE:
		return f->length != 4 ? "bad WINDOW_UPDATE frame" : NULL;
	}
	return NULL; /* extension frames are ignored (section 5.5) */
}

static void emit(struct http2_frame_parser *p, const struct http2_frame_callbacks *cb, void *ctx)
{
	struct http2_frame f = p->cur;

	p->in_payload = false;
	if (collected_type(f.type)) {
		f.payload = p->collect;
		f.payload_len = p->collect_len;
		f.complete = p->collect_len == f.length;
	} else {
		f.complete = true;
	}
	cb->on_frame(ctx, &f);
	/* A large frame's buffer is given back once it was handled: a
	 * connection keeps a few KiB, not H2_COLLECT_MAX, for its life. */
	if (p->collect_cap > H2_COLLECT_KEEP) {
		free(p->collect);
		p->collect = NULL;
		p->collect_cap = 0;
	}
}

static int start_frame(struct http2_frame_parser *p, const struct http2_frame_callbacks *cb,
		       void *ctx)
{
	const uint8_t *h = p->header;
	struct http2_frame f = {
	    .length = (uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2],
	    .type = h[3],
	    .flags = h[4],
	    .stream_id =
		((uint32_t)h[5] << 24 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 8 | h[8]) &
		0x7fffffffu,
	};
	const char *err = frame_header_error(&f, p->first_frame_pending);

	p->header_have = 0;
	if (err) {
		lose(p, cb, ctx, err);
		return -1;
	}
	p->first_frame_pending = false;
	p->cur = f;
	p->payload_left = f.length;
	p->collect_len = 0;
	p->in_payload = true;
	if (collected_type(f.type)) {
		size_t want = f.length < H2_COLLECT_MAX ? f.length : H2_COLLECT_MAX;
		if (want > p->collect_cap) {
			uint8_t *n = realloc(p->collect, want);
			if (!n) {
				lose(p, cb, ctx, "out of memory");
				return -1;
			}
			p->collect = n;
			p->collect_cap = want;
		}
	}
	if (!f.length)
		emit(p, cb, ctx);
	return 0;
}

/* Matches the client preface; returns bytes consumed, -1 when lost. */
static long match_preface(struct http2_frame_parser *p, const uint8_t *data, size_t n,
			  const struct http2_frame_callbacks *cb, void *ctx)
{
	size_t i = 0;

	while (i < n && p->preface_have < HTTP2_PREFACE_LEN) {
		if (data[i] != (uint8_t)HTTP2_PREFACE[p->preface_have]) {
			if (p->preface_have == 0) {
				p->preface_possible = false; /* frames from the start */
				return 0;
			}
			lose(p, cb, ctx, "broken client preface");
			return -1;
		}
		p->preface_have++;
		i++;
	}
	if (p->preface_have == HTTP2_PREFACE_LEN) {
		p->preface_possible = false;
		p->first_frame_pending = true;
	}
	return (long)i;
}

void http2_frame_parser_feed(struct http2_frame_parser *p, const uint8_t *data, size_t captured,
			     size_t total, const struct http2_frame_callbacks *cb, void *ctx)
{
	size_t pos = 0, skipped = total > captured ? total - captured : 0;

	while (!p->lost && pos < captured) {
		size_t n;

		if (p->preface_possible) {
			long used = match_preface(p, data + pos, captured - pos, cb, ctx);
			if (used < 0)
				return;
			pos += (size_t)used;
			continue;
		}
		if (!p->in_payload) {
			n = HTTP2_FRAME_HEADER_LEN - p->header_have;
			if (n > captured - pos)
				n = captured - pos;
			memcpy(p->header + p->header_have, data + pos, n);
			p->header_have += n;
			pos += n;
			if (p->header_have == HTTP2_FRAME_HEADER_LEN && start_frame(p, cb, ctx))
				return;
			continue;
		}
		n = p->payload_left < captured - pos ? p->payload_left : captured - pos;
		if (collected_type(p->cur.type) && p->collect_len < p->collect_cap) {
			size_t room = p->collect_cap - p->collect_len;
			memcpy(p->collect + p->collect_len, data + pos, n < room ? n : room);
			p->collect_len += n < room ? n : room;
		}
		p->payload_left -= n;
		pos += n;
		if (!p->payload_left)
			emit(p, cb, ctx);
	}
	if (p->lost || !skipped)
		return;
	/* Bytes the kernel did not copy: harmless only inside a payload that
	 * nobody reads, and only if the next frame header is not among them. */
	if (p->preface_possible && p->preface_have == 0)
		p->preface_possible = false;
	if (p->preface_possible || !p->in_payload || collected_type(p->cur.type) ||
	    skipped > p->payload_left) {
		lose(p, cb, ctx, "frame header or header block bytes were not captured");
		return;
	}
	p->payload_left -= skipped;
	if (!p->payload_left)
		emit(p, cb, ctx);
}
