// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * http2_header_blocks.c - HTTP/2 header blocks of one direction: HEADERS or
 * PUSH_PROMISE and their CONTINUATION frames gathered until END_HEADERS (RFC
 * 9113 section 4.3), decoded with the direction's HPACK decoder (RFC 7541),
 * whose table size follows SETTINGS_HEADER_TABLE_SIZE as the encoder
 * acknowledges it; a direction whose start kspan did not see is decoded
 * without the dynamic table. The fields spans use go to http2_streams.c.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "assembly/grpc_semconv.h"
#include "assembly/http2_connection.h"
#include "lib/log.h"

/* A header block larger than this is not decoded (and breaks HPACK). */
#define HEADER_BLOCK_MAX (256 * 1024)
/* A block buffer that grew past this is given back once its block is
 * decoded: most blocks are a few hundred bytes, and a connection that once
 * carried a large one should not hold HEADER_BLOCK_MAX for its life. */
#define HEADER_BLOCK_KEEP 4096
/* A pending SETTINGS without SETTINGS_HEADER_TABLE_SIZE. */
#define SIZE_UNCHANGED UINT32_MAX

/* The fields kept as text: name, and where in struct h2_fields. */
#define TEXT_FIELD(n, member)                                                                      \
	{                                                                                          \
		n, sizeof(n) - 1, offsetof(struct h2_fields, member),                              \
		    sizeof(((struct h2_fields *)0)->member)                                        \
	}
static const struct text_field {
	const char *name;
	size_t name_len, offset, size;
} text_fields[] = {
    TEXT_FIELD(":method", method),
    TEXT_FIELD(":path", path),
    TEXT_FIELD(":scheme", scheme),
    TEXT_FIELD(":authority", authority),
    TEXT_FIELD("content-type", content_type),
    TEXT_FIELD("user-agent", user_agent),
};

/* value as a NUL-terminated string, cut to size - 1 bytes. */
static void copy_field(char *dst, size_t size, const uint8_t *v, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(dst, v, len);
	dst[len] = 0;
}

#define NAME_IS(lit) (name_len == sizeof(lit) - 1 && memcmp(name, lit, sizeof(lit) - 1) == 0)

static void on_field(void *ctx, const uint8_t *name, size_t name_len, const uint8_t *value,
		     size_t value_len)
{
	struct h2_fields *f = ctx;

	if (NAME_IS(":status")) {
		char v[8];
		copy_field(v, sizeof(v), value, value_len);
		f->status = value_len == 3 ? atoi(v) : 0;
		return;
	}
	if (NAME_IS("grpc-status")) {
		f->grpc_status = grpc_parse_status((const char *)value, value_len);
		return;
	}
	/* W3C Trace Context: the first traceparent and how many there were
	 * (more than one: none is valid), every tracestate field in order. */
	if (NAME_IS("traceparent")) {
		if (f->traceparent_fields++ == 0)
			copy_field(f->traceparent, sizeof(f->traceparent), value, value_len);
		return;
	}
	if (NAME_IS("tracestate")) {
		w3c_tracestate_field_begin(&f->tracestate);
		for (size_t i = 0; i < value_len; i++)
			w3c_tracestate_field_char(&f->tracestate, value[i]);
		w3c_tracestate_field_end(&f->tracestate);
		return;
	}
	for (size_t i = 0; i < sizeof(text_fields) / sizeof(text_fields[0]); i++) {
		const struct text_field *t = &text_fields[i];
		if (name_len != t->name_len || memcmp(name, t->name, name_len) != 0)
			continue;
		copy_field((char *)f + t->offset, t->size, value, value_len);
		f->has_method |= t->offset == offsetof(struct h2_fields, method);
		return;
	}
}

enum block_decoding {
	BLOCK_FULL,    /* decoded with the direction's HPACK state */
	BLOCK_PARTIAL, /* the state is unknown: static entries and literals only */
	BLOCK_FAILED,  /* this block did not decode: its fields are unknown */
};

/* Decodes the direction's gathered block into f. */
static enum block_decoding decode_block(struct h2_conn *c, struct h2_direction *d,
					struct h2_fields *f)
{
	struct h2_block *b = &d->block;
	bool failed = false;

	memset(f, 0, sizeof(*f));
	f->grpc_status = -1;
	if (b->too_big) {
		if (!d->hpack.broken)
			STAT_INC(c->a->stats, h2_header_decode_errors);
		d->hpack.broken = true;
		return BLOCK_FAILED;
	}
	if (d->full_decoding && !d->hpack.broken) {
		if (hpack_decoder_decode(&d->hpack, b->buf, b->len, on_field, f) == 0)
			return BLOCK_FULL;
		STAT_INC(c->a->stats, h2_header_decode_errors);
		log_debug("conn %016llx: an HTTP/2 header block failed to decode; later blocks "
			  "of this direction are decoded partially",
			  (unsigned long long)c->base.conn_id);
		failed = true;
	}
	memset(f, 0, sizeof(*f));
	f->grpc_status = -1;
	if (failed)
		return BLOCK_FAILED;
	STAT_INC(c->a->stats, h2_header_blocks_partial);
	if (hpack_decode_static_only(&c->a->scratch, b->buf, b->len, on_field, f) < 0) {
		memset(f, 0, sizeof(*f)); /* nothing from a malformed block */
		f->grpc_status = -1;
		return BLOCK_FAILED;
	}
	return BLOCK_PARTIAL;
}

/* A connection adopted mid-stream: the kernel did not see who connected.
 * Requests carry :method and responses :status; the direction tells the
 * rest. */
static bool learn_role(struct h2_conn *c, const struct h2_fields *f)
{
	bool ingress = c->cur == 0;

	if (f->has_method)
		c->base.role = ingress ? KSPAN_ROLE_SERVER : KSPAN_ROLE_CLIENT;
	else if (f->status)
		c->base.role = ingress ? KSPAN_ROLE_CLIENT : KSPAN_ROLE_SERVER;
	return c->base.role != KSPAN_ROLE_UNKNOWN;
}

static void block_done(struct h2_conn *c)
{
	struct h2_direction *d = &c->dir[c->cur];
	struct h2_block *b = &d->block;
	struct h2_fields f;
	struct h2_stream *st;
	enum block_decoding how;

	b->active = false;
	how = decode_block(c, d, &f);
	b->len = 0;
	if (b->cap > HEADER_BLOCK_KEEP) {
		free(b->buf);
		b->buf = NULL;
		b->cap = 0;
	}
	if (b->push)
		return; /* decoded to keep HPACK in step; pushes are not traced */
	if (c->base.role == KSPAN_ROLE_UNKNOWN && !learn_role(c, &f))
		return;
	if (h2_is_request_dir(c, c->cur)) {
		/* A request whose headers did not decode gets no span rather
		 * than one without a name (counted above). */
		if (how != BLOCK_FAILED)
			h2_on_request_block(c, b->stream_id, &f, how == BLOCK_FULL);
		else
			c->last_request_stream = b->stream_id > c->last_request_stream
						     ? b->stream_id
						     : c->last_request_stream;
		return;
	}
	st = h2_response_stream(c, b->stream_id);
	if (!st) {
		STAT_INC(c->a->stats, h2_orphan_responses);
		return;
	}
	h2_on_response_block(c, st, &f, how == BLOCK_FULL);
	if (b->end_stream)
		h2_finish_stream(c, st, c->ev->hdr.ts_ns);
}

static bool block_append(struct h2_block *b, const uint8_t *p, size_t n)
{
	if (!n)
		return true;
	if (b->too_big || b->len + n > HEADER_BLOCK_MAX) {
		b->too_big = true;
		return true;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *nb;
		while (cap < b->len + n)
			cap *= 2;
		nb = realloc(b->buf, cap);
		if (!nb)
			return false;
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
	return true;
}

/* The fragment of a HEADERS or PUSH_PROMISE frame (RFC 9113 6.2, 6.6):
 * without padding, priority or promised stream id. NULL when malformed. */
static const uint8_t *header_fragment(const struct http2_frame *f, size_t *len)
{
	const uint8_t *p = f->payload;
	size_t n = f->payload_len, pad = 0;

	if (f->flags & HTTP2_FLAG_PADDED) {
		if (n < 1)
			return NULL;
		pad = p[0];
		p++;
		n--;
	}
	if (f->type == HTTP2_FRAME_HEADERS && (f->flags & HTTP2_FLAG_PRIORITY)) {
		if (n < 5)
			return NULL;
		p += 5;
		n -= 5;
	}
	if (f->type == HTTP2_FRAME_PUSH_PROMISE) {
		if (n < 4)
			return NULL;
		p += 4;
		n -= 4;
	}
	if (pad > n)
		return NULL;
	*len = n - pad;
	return p;
}

void h2_on_headers_frame(struct h2_conn *c, const struct http2_frame *f)
{
	struct h2_block *b = &c->dir[c->cur].block;
	const uint8_t *frag;
	size_t len = 0;

	if (f->type == HTTP2_FRAME_CONTINUATION) {
		if (!b->active || f->stream_id != b->stream_id) {
			h2_conn_kill(c, "CONTINUATION without a header block");
			return;
		}
		frag = f->payload;
		len = f->payload_len;
	} else {
		if (b->active) {
			h2_conn_kill(c, "a header block was interrupted");
			return;
		}
		frag = header_fragment(f, &len);
		if (!frag && f->complete) {
			h2_conn_kill(c, "malformed HEADERS frame");
			return;
		}
		*b = (struct h2_block){
		    .buf = b->buf,
		    .cap = b->cap,
		    .stream_id = f->stream_id,
		    .active = true,
		    .end_stream =
			f->type == HTTP2_FRAME_HEADERS && (f->flags & HTTP2_FLAG_END_STREAM),
		    .push = f->type == HTTP2_FRAME_PUSH_PROMISE,
		};
	}
	if (!f->complete)
		b->too_big = true; /* larger than the frame parser collects */
	else if (frag && !block_append(b, frag, len)) {
		h2_conn_kill(c, "out of memory");
		return;
	}
	if (f->flags & HTTP2_FLAG_END_HEADERS)
		block_done(c);
}

/*
 * SETTINGS_HEADER_TABLE_SIZE bounds the table of the encoder that sends
 * towards the frame's sender: the decoder of the other direction. It takes
 * effect when that encoder acknowledges it; an ACK answers the oldest
 * unacknowledged SETTINGS.
 */
void h2_on_settings(struct h2_conn *c, const struct http2_frame *f)
{
	struct h2_direction *peer = &c->dir[!c->cur], *self = &c->dir[c->cur];
	uint32_t size = SIZE_UNCHANGED;

	if (f->flags & HTTP2_FLAG_ACK) {
		/* None pending: the SETTINGS went out before kspan followed
		 * the connection (a server's first frame). */
		if (!self->pending_count)
			return;
		if (self->pending[0] != SIZE_UNCHANGED)
			hpack_decoder_set_max_table_size(&self->hpack, self->pending[0]);
		memmove(self->pending, self->pending + 1,
			(--self->pending_count) * sizeof(self->pending[0]));
		return;
	}
	for (size_t i = 0; i + 6 <= f->payload_len; i += 6) {
		const uint8_t *p = f->payload + i;
		if (p[0] == 0 && p[1] == 1)
			size = (uint32_t)p[2] << 24 | (uint32_t)p[3] << 16 | (uint32_t)p[4] << 8 |
			       p[5];
	}
	if (peer->pending_count == sizeof(peer->pending) / sizeof(peer->pending[0])) {
		/* Far more unacknowledged SETTINGS than peers send: which
		 * size applies is no longer known. */
		peer->hpack.broken = true;
		return;
	}
	peer->pending[peer->pending_count++] = size;
}
