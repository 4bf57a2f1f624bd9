// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_http1_in_place.c - heads parsed in place against heads collected
 * byte-wise (user/protocol/http1_stream.c). The same bytes go to one stream
 * as one piece, where a head the piece holds whole is parsed where it lies,
 * and to another split in two pieces at a point the input chooses, where a
 * head across the split is collected into the stream's buffer. Both must
 * report the same first head (every field) and, when it has one, its
 * completion. Only the first message is compared: after it, a stream that
 * lost sync resynchronises only at a piece start, which the split stream has
 * one more of. The split falls inside the first head, so one stream parses
 * it in place and the other collects it; message indexes count per piece
 * and are not compared.
 *
 * Input: byte 0 = direction (bit 0: responses) and HEAD answers (bit 1),
 * bytes 1-2 = split point, the rest = the bytes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "protocol/http1_stream.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

#define MAX_EVENTS 64
#define TEXT_MAX   96

struct event {
	int type; /* 1 head, 2 complete, 3 error */
	struct http1_head head;
	char method[TEXT_MAX], target[TEXT_MAX], host[TEXT_MAX], user_agent[TEXT_MAX],
	    traceparent[TEXT_MAX];
	struct http1_complete_info info;
};

struct record {
	struct event ev[MAX_EVENTS];
	size_t n;
	bool stopped; /* an error was seen: nothing after it counts */
	bool answer_head;
};

static void copy_text(char *dst, struct http1_slice v)
{
	size_t n = v.len < TEXT_MAX - 1 ? v.len : TEXT_MAX - 1;
	if (n)
		memcpy(dst, v.ptr, n);
	dst[n] = '\0';
}

static struct event *next(struct record *r, int type)
{
	if (r->stopped || r->n == MAX_EVENTS)
		return NULL;
	struct event *e = &r->ev[r->n++];
	memset(e, 0, sizeof(*e));
	e->type = type;
	return e;
}

static bool on_head(void *ctx, unsigned msg_index, const struct http1_head *head)
{
	struct record *r = ctx;
	struct event *e = next(r, 1);
	(void)msg_index;
	if (e) {
		e->head = *head;
		copy_text(e->method, head->method);
		copy_text(e->target, head->target);
		copy_text(e->host, head->host);
		copy_text(e->user_agent, head->user_agent);
		copy_text(e->traceparent, head->traceparent);
	}
	return r->answer_head;
}

static void on_complete(void *ctx, unsigned msg_index, const struct http1_complete_info *info)
{
	struct record *r = ctx;
	struct event *e = next(r, 2);
	(void)msg_index;
	if (e)
		e->info = *info;
}

static void on_error(void *ctx, const char *why)
{
	struct record *r = ctx;
	(void)why;
	next(r, 3);
	r->stopped = true;
}

static const struct http1_callbacks callbacks = {
    .on_head = on_head,
    .on_complete = on_complete,
    .on_error = on_error,
};

static void check_same(const struct event *a, const struct event *b)
{
	CHECK(a->type == b->type);
	if (a->type == 3)
		return;
	CHECK(strcmp(a->method, b->method) == 0 && strcmp(a->target, b->target) == 0);
	CHECK(strcmp(a->host, b->host) == 0 && strcmp(a->user_agent, b->user_agent) == 0);
	CHECK(strcmp(a->traceparent, b->traceparent) == 0);
	CHECK(a->head.status_code == b->head.status_code);
	CHECK(a->head.content_length == b->head.content_length);
	CHECK(a->head.version_minor == b->head.version_minor);
	CHECK(a->head.chunked == b->head.chunked && a->head.upgrade == b->head.upgrade);
	CHECK(a->head.connection_close == b->head.connection_close);
	CHECK(a->head.head_bytes == b->head.head_bytes);
	CHECK(a->head.head_truncated == b->head.head_truncated);
	CHECK(a->head.traceparent_fields == b->head.traceparent_fields);
	/* the state, then the text: out[] is defined only up to out_len */
	const struct w3c_tracestate *x = &a->head.tracestate, *y = &b->head.tracestate;
	CHECK(memcmp(x, y, offsetof(struct w3c_tracestate, out)) == 0);
	CHECK(x->out_len <= sizeof(x->out) && memcmp(x->out, y->out, x->out_len) == 0);
	CHECK(a->info.framing == b->info.framing && a->info.body_bytes == b->info.body_bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	enum http1_stream_kind kind = data[0] & 1 ? HTTP1_STREAM_RESPONSES : HTTP1_STREAM_REQUESTS;
	const uint8_t *bytes = data + 3;
	size_t len = size - 3;
	static struct record whole, parts;
	memset(&whole, 0, sizeof(whole));
	memset(&parts, 0, sizeof(parts));
	whole.answer_head = parts.answer_head = data[0] & 2;

	struct http1_stream *a = http1_stream_new(kind), *b = http1_stream_new(kind);
	CHECK(a && b);
	http1_stream_feed(a, bytes, len, len, &callbacks, &whole);
	/* A split inside the first head (or anywhere, when there is none). */
	size_t span = whole.n && whole.ev[0].type == 1 ? whole.ev[0].head.head_bytes : len;
	if (span > len - 1)
		span = len - 1;
	size_t split = 1 + (size_t)(data[1] | data[2] << 8) % (span ? span : 1);
	http1_stream_feed(b, bytes, split, split, &callbacks, &parts);
	if (split < len)
		http1_stream_feed(b, bytes + split, len - split, len - split, &callbacks, &parts);
	size_t n = whole.n < 2 ? whole.n : 2;
	CHECK(parts.n >= n);
	for (size_t i = 0; i < n; i++)
		check_same(&whole.ev[i], &parts.ev[i]);
	http1_stream_free(a);
	http1_stream_free(b);
	return 0;
}
