/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http1_recorder.h - an HTTP/1 stream whose callbacks are recorded in order,
 * for the tests of user/protocol/http1_{stream,head,body}.c. Include after
 * <cmocka.h>.
 *
 * Every test feeds pieces the way the kernel would report them (a captured
 * prefix of `total` bytes) and compares the callbacks, recorded in order,
 * with what RFC 9112 says the framing is. setup_requests / setup_responses
 * and teardown are the cmocka fixtures; the recorder is *state.
 */
#ifndef KSPAN_TEST_HTTP1_RECORDER_H
#define KSPAN_TEST_HTTP1_RECORDER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/http1_stream.h"

#define MAX_EVENTS 64
#define TEXT_MAX   160

enum event_type {
	EV_HEAD = 1,
	EV_COMPLETE = 2,
	EV_ERROR = 3,
};

/* One callback, with the head's slices copied out (they live only during
 * on_head). */
struct event {
	enum event_type type;
	unsigned msg_index;
	struct http1_head head; /* slices cleared; the text is below */
	char method[TEXT_MAX];
	char target[TEXT_MAX];
	char host[TEXT_MAX];
	char user_agent[TEXT_MAX];
	char traceparent[TEXT_MAX];
	char tracestate[KSPAN_TRACESTATE_MAX + 1]; /* what kspan forwards, or "" */
	struct http1_complete_info info;
	char why[TEXT_MAX];
};

struct recorder {
	enum http1_stream_kind kind;
	struct http1_stream *s;
	struct event ev[MAX_EVENTS];
	size_t n;
	size_t heads;
	uint32_t answers_head; /* bit k: the k-th head answers a HEAD request */
};

static inline void copy_slice(char *dst, struct http1_slice v)
{
	assert_non_null(v.ptr);
	assert_true(v.len < TEXT_MAX);
	memcpy(dst, v.ptr, v.len);
	dst[v.len] = '\0';
}

static inline struct event *next_event(struct recorder *r, enum event_type type)
{
	struct event *e;

	assert_true(r->n < MAX_EVENTS);
	e = &r->ev[r->n++];
	memset(e, 0, sizeof(*e));
	e->type = type;
	return e;
}

static inline bool on_head(void *ctx, unsigned msg_index, const struct http1_head *head)
{
	struct recorder *r = ctx;
	struct event *e = next_event(r, EV_HEAD);
	bool answers_head = r->heads < 32 && ((r->answers_head >> r->heads) & 1);

	r->heads++;
	e->msg_index = msg_index;
	e->head = *head;
	copy_slice(e->method, head->method);
	copy_slice(e->target, head->target);
	copy_slice(e->host, head->host);
	copy_slice(e->user_agent, head->user_agent);
	copy_slice(e->traceparent, head->traceparent);
	memcpy(e->tracestate, head->tracestate.out, w3c_tracestate_result(&head->tracestate));
	memset(&e->head.method, 0, sizeof(e->head.method));
	memset(&e->head.target, 0, sizeof(e->head.target));
	memset(&e->head.host, 0, sizeof(e->head.host));
	memset(&e->head.user_agent, 0, sizeof(e->head.user_agent));
	memset(&e->head.traceparent, 0, sizeof(e->head.traceparent));
	return answers_head;
}

static inline void on_complete(void *ctx, unsigned msg_index,
			       const struct http1_complete_info *info)
{
	struct event *e = next_event(ctx, EV_COMPLETE);

	e->msg_index = msg_index;
	e->info = *info;
}

static inline void on_error(void *ctx, const char *why)
{
	struct event *e = next_event(ctx, EV_ERROR);

	assert_non_null(why);
	snprintf(e->why, sizeof(e->why), "%s", why);
}

static const struct http1_callbacks callbacks = {
    .on_head = on_head,
    .on_complete = on_complete,
    .on_error = on_error,
};

/* --- fixtures and feeding --------------------------------------------------- */

static inline int setup(void **state, enum http1_stream_kind kind)
{
	struct recorder *r = calloc(1, sizeof(*r));

	if (!r)
		return -1;
	r->kind = kind;
	r->s = http1_stream_new(kind);
	*state = r;
	return r->s ? 0 : -1;
}

static inline int setup_requests(void **state)
{
	return setup(state, HTTP1_STREAM_REQUESTS);
}

static inline int setup_responses(void **state)
{
	return setup(state, HTTP1_STREAM_RESPONSES);
}

static inline int teardown(void **state)
{
	struct recorder *r = *state;

	http1_stream_free(r->s);
	free(r);
	return 0;
}

/* A fresh stream and an empty record, for tests that loop. */
static inline void restart(struct recorder *r)
{
	http1_stream_free(r->s);
	r->s = http1_stream_new(r->kind);
	assert_non_null(r->s);
	r->n = 0;
	r->heads = 0;
}

static inline void feed_cut(struct recorder *r, const void *data, size_t captured, size_t total)
{
	http1_stream_feed(r->s, data, captured, total, &callbacks, r);
}

static inline void feed_bytes(struct recorder *r, const void *data, size_t len)
{
	feed_cut(r, data, len, len);
}

static inline void feed(struct recorder *r, const char *text)
{
	feed_bytes(r, text, strlen(text));
}

/* Feeds `text` in pieces of `size` bytes (the last may be shorter). */
static inline void feed_in_pieces(struct recorder *r, const char *text, size_t size)
{
	size_t len = strlen(text);

	for (size_t off = 0; off < len; off += size)
		feed_bytes(r, text + off, len - off < size ? len - off : size);
}

static inline void close_stream(struct recorder *r)
{
	http1_stream_close(r->s, &callbacks, r);
}

/* --- expectations ------------------------------------------------------------- */

static inline const struct event *head_at(const struct recorder *r, size_t i, unsigned msg_index)
{
	assert_true(i < r->n);
	assert_int_equal(r->ev[i].type, EV_HEAD);
	assert_int_equal(r->ev[i].msg_index, msg_index);
	return &r->ev[i];
}

static inline void assert_complete(const struct recorder *r, size_t i, unsigned msg_index,
				   enum http1_framing framing, uint64_t body_bytes)
{
	assert_true(i < r->n);
	assert_int_equal(r->ev[i].type, EV_COMPLETE);
	assert_int_equal(r->ev[i].msg_index, msg_index);
	assert_int_equal(r->ev[i].info.framing, framing);
	assert_int_equal(r->ev[i].info.body_bytes, body_bytes);
}

static inline void assert_error(const struct recorder *r, size_t i)
{
	assert_true(i < r->n);
	assert_int_equal(r->ev[i].type, EV_ERROR);
	assert_true(strlen(r->ev[i].why) > 0);
}

static inline const struct event *request_at(const struct recorder *r, size_t i, unsigned msg_index,
					     const char *method, const char *target)
{
	const struct event *e = head_at(r, i, msg_index);

	assert_true(e->head.is_request);
	assert_string_equal(e->method, method);
	assert_string_equal(e->target, target);
	return e;
}

static inline const struct event *response_at(const struct recorder *r, size_t i,
					      unsigned msg_index, int status_code)
{
	const struct event *e = head_at(r, i, msg_index);

	assert_false(e->head.is_request);
	assert_int_equal(e->head.status_code, status_code);
	return e;
}

/* The events of one GET without body: head then exact completion. */
static inline void assert_simple_get(const struct recorder *r, size_t i, unsigned msg_index,
				     const char *target)
{
	request_at(r, i, msg_index, "GET", target);
	assert_complete(r, i + 1, msg_index, HTTP1_FRAMING_EXACT, 0);
}

#define SIMPLE_GET                                                                                 \
	"GET /a/b?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.0\r\n"                   \
	"Accept: */*\r\n\r\n"

#define CHUNKED_RESPONSE                                                                           \
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"                                    \
	"4\r\nWiki\r\n5;name=\"quoted;value\"\r\npedia\r\nE ; ext\r\n in\r\n\r\nchunks.\r\n"       \
	"0\r\nExpires: never\r\nX-Trailer: 1\r\n\r\n"
#define CHUNKED_RESPONSE_BODY (4 + 5 + 14)

#endif /* KSPAN_TEST_HTTP1_RECORDER_H */
