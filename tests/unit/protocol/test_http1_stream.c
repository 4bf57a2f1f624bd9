// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_http1_parser.c - HTTP/1.x framing from captured pieces (http1_parser.h).
 *
 * Every test feeds pieces the way the kernel would report them (a captured
 * prefix of `total` bytes) and compares the callbacks, recorded in order,
 * with what RFC 9112 says the framing is.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

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
	char tracestate[TEXT_MAX];
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

static void copy_slice(char *dst, struct http1_slice v)
{
	assert_non_null(v.ptr);
	assert_true(v.len < TEXT_MAX);
	memcpy(dst, v.ptr, v.len);
	dst[v.len] = '\0';
}

static struct event *next_event(struct recorder *r, enum event_type type)
{
	struct event *e;

	assert_true(r->n < MAX_EVENTS);
	e = &r->ev[r->n++];
	memset(e, 0, sizeof(*e));
	e->type = type;
	return e;
}

static bool on_head(void *ctx, unsigned msg_index, const struct http1_head *head)
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
	copy_slice(e->tracestate, head->tracestate);
	memset(&e->head.method, 0, sizeof(e->head.method));
	memset(&e->head.target, 0, sizeof(e->head.target));
	memset(&e->head.host, 0, sizeof(e->head.host));
	memset(&e->head.user_agent, 0, sizeof(e->head.user_agent));
	memset(&e->head.traceparent, 0, sizeof(e->head.traceparent));
	memset(&e->head.tracestate, 0, sizeof(e->head.tracestate));
	return answers_head;
}

static void on_complete(void *ctx, unsigned msg_index, const struct http1_complete_info *info)
{
	struct event *e = next_event(ctx, EV_COMPLETE);

	e->msg_index = msg_index;
	e->info = *info;
}

static void on_error(void *ctx, const char *why)
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

static int setup(void **state, enum http1_stream_kind kind)
{
	struct recorder *r = calloc(1, sizeof(*r));

	if (!r)
		return -1;
	r->kind = kind;
	r->s = http1_stream_new(kind);
	*state = r;
	return r->s ? 0 : -1;
}

static int setup_requests(void **state)
{
	return setup(state, HTTP1_STREAM_REQUESTS);
}

static int setup_responses(void **state)
{
	return setup(state, HTTP1_STREAM_RESPONSES);
}

static int teardown(void **state)
{
	struct recorder *r = *state;

	http1_stream_free(r->s);
	free(r);
	return 0;
}

/* A fresh stream and an empty record, for tests that loop. */
static void restart(struct recorder *r)
{
	http1_stream_free(r->s);
	r->s = http1_stream_new(r->kind);
	assert_non_null(r->s);
	r->n = 0;
	r->heads = 0;
}

static void feed_cut(struct recorder *r, const void *data, size_t captured, size_t total)
{
	http1_stream_feed(r->s, data, captured, total, &callbacks, r);
}

static void feed_bytes(struct recorder *r, const void *data, size_t len)
{
	feed_cut(r, data, len, len);
}

static void feed(struct recorder *r, const char *text)
{
	feed_bytes(r, text, strlen(text));
}

/* Feeds `text` in pieces of `size` bytes (the last may be shorter). */
static void feed_in_pieces(struct recorder *r, const char *text, size_t size)
{
	size_t len = strlen(text);

	for (size_t off = 0; off < len; off += size)
		feed_bytes(r, text + off, len - off < size ? len - off : size);
}

static void close_stream(struct recorder *r)
{
	http1_stream_close(r->s, &callbacks, r);
}

/* --- expectations ------------------------------------------------------------- */

static const struct event *head_at(const struct recorder *r, size_t i, unsigned msg_index)
{
	assert_true(i < r->n);
	assert_int_equal(r->ev[i].type, EV_HEAD);
	assert_int_equal(r->ev[i].msg_index, msg_index);
	return &r->ev[i];
}

static void assert_complete(const struct recorder *r, size_t i, unsigned msg_index,
			    enum http1_framing framing, uint64_t body_bytes)
{
	assert_true(i < r->n);
	assert_int_equal(r->ev[i].type, EV_COMPLETE);
	assert_int_equal(r->ev[i].msg_index, msg_index);
	assert_int_equal(r->ev[i].info.framing, framing);
	assert_int_equal(r->ev[i].info.body_bytes, body_bytes);
}

static void assert_error(const struct recorder *r, size_t i)
{
	assert_true(i < r->n);
	assert_int_equal(r->ev[i].type, EV_ERROR);
	assert_true(strlen(r->ev[i].why) > 0);
}

static const struct event *request_at(const struct recorder *r, size_t i, unsigned msg_index,
				      const char *method, const char *target)
{
	const struct event *e = head_at(r, i, msg_index);

	assert_true(e->head.is_request);
	assert_string_equal(e->method, method);
	assert_string_equal(e->target, target);
	return e;
}

static const struct event *response_at(const struct recorder *r, size_t i, unsigned msg_index,
				       int status_code)
{
	const struct event *e = head_at(r, i, msg_index);

	assert_false(e->head.is_request);
	assert_int_equal(e->head.status_code, status_code);
	return e;
}

/* The events of one GET without body: head then exact completion. */
static void assert_simple_get(const struct recorder *r, size_t i, unsigned msg_index,
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

/* --- requests ------------------------------------------------------------------ */

static void test_simple_get(void **state)
{
	struct recorder *r = *state;
	const struct event *e;

	feed(r, SIMPLE_GET);
	assert_int_equal(r->n, 2);
	e = request_at(r, 0, 0, "GET", "/a/b?q=1");
	assert_int_equal(e->head.version_minor, 1);
	assert_string_equal(e->host, "example.com");
	assert_string_equal(e->user_agent, "curl/8.0");
	assert_string_equal(e->traceparent, "");
	assert_string_equal(e->tracestate, "");
	assert_int_equal(e->head.content_length, -1);
	assert_false(e->head.chunked);
	assert_false(e->head.connection_close);
	assert_false(e->head.upgrade);
	assert_false(e->head.head_truncated);
	assert_int_equal(e->head.head_bytes, strlen(SIMPLE_GET));
	assert_complete(r, 1, 0, HTTP1_FRAMING_EXACT, 0);
	assert_false(http1_stream_in_message(r->s));
}

/* Every way of cutting the head in two gives the same message. */
static void test_head_split_in_two(void **state)
{
	struct recorder *r = *state;
	size_t len = strlen(SIMPLE_GET);

	for (size_t cut = 1; cut < len; cut++) {
		restart(r);
		feed_bytes(r, SIMPLE_GET, cut);
		assert_int_equal(r->n, 0);
		assert_true(http1_stream_in_message(r->s));
		feed_bytes(r, SIMPLE_GET + cut, len - cut);
		assert_int_equal(r->n, 2);
		assert_simple_get(r, 0, 0, "/a/b?q=1");
		assert_string_equal(r->ev[0].user_agent, "curl/8.0");
		assert_int_equal(r->ev[0].head.head_bytes, len);
	}
}

static void test_head_in_one_byte_pieces(void **state)
{
	struct recorder *r = *state;

	feed_in_pieces(r, SIMPLE_GET, 1);
	assert_int_equal(r->n, 2);
	assert_simple_get(r, 0, 0, "/a/b?q=1");
	assert_string_equal(r->ev[0].host, "example.com");
}

static void test_pipelined_requests(void **state)
{
	struct recorder *r = *state;

	feed(r, "GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
		"POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
		"DELETE /three HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(r->n, 6);
	assert_simple_get(r, 0, 0, "/one");
	request_at(r, 2, 1, "POST", "/two");
	assert_complete(r, 3, 1, HTTP1_FRAMING_EXACT, 3);
	request_at(r, 4, 2, "DELETE", "/three");
	assert_complete(r, 5, 2, HTTP1_FRAMING_EXACT, 0);
}

/* A message that began in an earlier piece completes with index 0, and the
 * first message that starts in the piece is index 0 as well. */
static void test_message_continued_into_next_piece(void **state)
{
	struct recorder *r = *state;

	feed(r, "POST /form HTTP/1.1\r\nContent-Length: 3\r\n\r\na");
	assert_int_equal(r->n, 1);
	assert_true(http1_stream_in_message(r->s));
	feed(r, "bcGET /next HTTP/1.1\r\n\r\nGET /last HTTP/1.1\r\n\r\n");
	assert_int_equal(r->n, 6);
	assert_complete(r, 1, 0, HTTP1_FRAMING_EXACT, 3);
	assert_simple_get(r, 2, 0, "/next");
	assert_simple_get(r, 4, 1, "/last");
}

static void test_content_length_body_one_piece(void **state)
{
	struct recorder *r = *state;

	feed(r, "PUT /x HTTP/1.1\r\ncontent-length: 11\r\n\r\nhello world");
	assert_int_equal(r->n, 2);
	assert_int_equal(request_at(r, 0, 0, "PUT", "/x")->head.content_length, 11);
	assert_complete(r, 1, 0, HTTP1_FRAMING_EXACT, 11);
}

static void test_content_length_body_across_pieces(void **state)
{
	struct recorder *r = *state;

	feed(r, "POST /upload HTTP/1.1\r\nContent-Length: 10\r\n\r\n");
	assert_int_equal(r->n, 1);
	feed(r, "012");
	feed(r, "3456");
	assert_int_equal(r->n, 1);
	assert_true(http1_stream_in_message(r->s));
	feed(r, "789");
	assert_int_equal(r->n, 2);
	assert_complete(r, 1, 0, HTTP1_FRAMING_EXACT, 10);
	assert_false(http1_stream_in_message(r->s));
	feed(r, "GET / HTTP/1.1\r\n\r\n");
	assert_simple_get(r, 2, 0, "/");
}

/* Uncaptured bytes can only be body bytes: they are counted exactly. */
static void test_body_past_the_capture(void **state)
{
	struct recorder *r = *state;
	char piece[256];
	size_t head;

	head = (size_t)snprintf(piece, sizeof(piece),
				"POST /big HTTP/1.1\r\nContent-Length: 5000\r\n\r\n0123456789");
	head -= 10;
	feed_cut(r, piece, head + 10, head + 5000);
	assert_int_equal(r->n, 2);
	assert_complete(r, 1, 0, HTTP1_FRAMING_EXACT, 5000);

	/* The same body over three pieces, the last not captured at all. */
	feed_cut(r, piece, head + 10, head + 3000);
	feed_cut(r, "xx", 2, 1500);
	assert_int_equal(r->n, 3);
	feed_cut(r, NULL, 0, 500);
	assert_int_equal(r->n, 4);
	assert_complete(r, 3, 0, HTTP1_FRAMING_EXACT, 5000);
	feed(r, "GET /after HTTP/1.1\r\n\r\n");
	assert_simple_get(r, 4, 0, "/after");
}

/* Bytes after the body that nobody saw may hold a message start: sync is
 * lost quietly, and found again at the next piece that starts a message. */
static void test_unseen_bytes_after_a_message(void **state)
{
	struct recorder *r = *state;
	const char *get = "GET /x HTTP/1.1\r\n\r\n";

	feed_cut(r, get, strlen(get), strlen(get) + 40);
	assert_int_equal(r->n, 2);
	assert_false(http1_stream_in_message(r->s));
	feed(r, "ost: example\r\n\r\n");
	assert_int_equal(r->n, 2);
	feed(r, get);
	assert_int_equal(r->n, 4);
	assert_simple_get(r, 2, 0, "/x");
}

static void test_chunked_request(void **state)
{
	struct recorder *r = *state;
	const struct event *e;

	feed(r, "POST /c HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 99\r\n\r\n"
		"3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n");
	assert_int_equal(r->n, 4);
	e = request_at(r, 0, 0, "POST", "/c");
	assert_true(e->head.chunked);
	/* RFC 9112 section 6.3 rule 3: Transfer-Encoding overrides it. */
	assert_complete(r, 1, 0, HTTP1_FRAMING_EXACT, 3);
	assert_simple_get(r, 2, 1, "/");
}

static void test_request_transfer_encoding_not_chunked(void **state)
{
	struct recorder *r = *state;

	feed(r, "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\nabc");
	assert_int_equal(r->n, 2);
	assert_false(request_at(r, 0, 0, "POST", "/c")->head.chunked);
	assert_error(r, 1);
	assert_true(http1_stream_in_message(r->s));
	feed(r, "GET / HTTP/1.1\r\n\r\n");
	assert_complete(r, 2, 0, HTTP1_FRAMING_UNKNOWN, 0);
	assert_simple_get(r, 3, 0, "/");
}

static void test_http10_request(void **state)
{
	struct recorder *r = *state;
	const struct event *e;

	feed(r, "GET /old HTTP/1.0\r\n\r\n");
	e = request_at(r, 0, 0, "GET", "/old");
	assert_int_equal(e->head.version_minor, 0);
	assert_true(e->head.connection_close);
	assert_complete(r, 1, 0, HTTP1_FRAMING_EXACT, 0);

	feed(r, "GET /old HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
	e = request_at(r, 2, 0, "GET", "/old");
	assert_int_equal(e->head.version_minor, 0);
	assert_false(e->head.connection_close);
}

static void test_connection_close(void **state)
{
	struct recorder *r = *state;

	feed(r, "GET / HTTP/1.1\r\nCONNECTION: Close\r\n\r\n"
		"GET / HTTP/1.1\r\nConnection: TE, close\r\n\r\n"
		"GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n");
	assert_int_equal(r->n, 6);
	assert_true(request_at(r, 0, 0, "GET", "/")->head.connection_close);
	assert_true(request_at(r, 2, 1, "GET", "/")->head.connection_close);
	assert_false(request_at(r, 4, 2, "GET", "/")->head.connection_close);
}

static void test_header_extraction(void **state)
{
	struct recorder *r = *state;
	const struct event *e;

	feed(r, "OPTIONS * HTTP/1.1\r\n"
		"hOsT:   example.com:8080  \r\n"
		"USER-AGENT:\tMozilla/5.0 (X11)\t \r\n"
		"TraceParent:  00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01  \r\n"
		"tracestate: rojo=00f067aa0ba902b7, congo=t61rcWkgMzE \r\n"
		"Host: second.example\r\n"
		"X-Empty:\r\n"
		"\r\n");
	assert_int_equal(r->n, 2);
	e = request_at(r, 0, 0, "OPTIONS", "*");
	assert_string_equal(e->host, "example.com:8080");
	assert_string_equal(e->user_agent, "Mozilla/5.0 (X11)");
	assert_string_equal(e->traceparent,
			    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
	assert_string_equal(e->tracestate, "rojo=00f067aa0ba902b7, congo=t61rcWkgMzE");
}

/* RFC 9112 section 5.1: no whitespace between field name and colon; such a
 * line must not be taken for the field. Bare LF ends lines (section 2.2). */
static void test_field_line_edge_cases(void **state)
{
	struct recorder *r = *state;
	const struct event *e;

	feed(r, "GET http://example.com/ HTTP/1.1\n"
		"Host : evil.example\n"
		" folded continuation\n"
		"Host:good.example\n"
		"\n");
	assert_int_equal(r->n, 2);
	e = request_at(r, 0, 0, "GET", "http://example.com/");
	assert_string_equal(e->host, "good.example");
	assert_complete(r, 1, 0, HTTP1_FRAMING_EXACT, 0);
}

/* RFC 9112 section 2.2: empty lines before a request line are ignored. */
static void test_empty_lines_before_request(void **state)
{
	struct recorder *r = *state;

	feed(r, "\r\n\r\nGET / HTTP/1.1\r\n\r\n\r\n");
	feed(r, "\r\nGET /2 HTTP/1.1\r\n\r\n");
	assert_int_equal(r->n, 4);
	assert_simple_get(r, 0, 0, "/");
	assert_simple_get(r, 2, 0, "/2");
}

static void test_garbage_then_recovery(void **state)
{
	struct recorder *r = *state;
	static const uint8_t tls_hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00,
					    0x01, 0xfc, 0x03, 0x03, 0x00, 0x00, 0x00};

	feed_bytes(r, tls_hello, sizeof(tls_hello));
	assert_int_equal(r->n, 1);
	assert_error(r, 0);
	assert_false(http1_stream_in_message(r->s));
	/* Out of sync, a piece that does not start a message is skipped
	 * without another report. */
	feed(r, "hello, this is not HTTP\r\n\r\n");
	feed(r, "GE");
	assert_int_equal(r->n, 1);
	feed(r, "GET /ok HTTP/1.1\r\n\r\n");
	assert_int_equal(r->n, 3);
	assert_simple_get(r, 1, 0, "/ok");

	/* In sync, text where a message must start is reported. */
	feed(r, "hello, this is not HTTP\r\n\r\n");
	assert_int_equal(r->n, 4);
	assert_error(r, 3);
	feed(r, "GET /ok HTTP/1.1\r\n\r\n");
	assert_simple_get(r, 4, 0, "/ok");
}

static void test_garbage_after_a_message_in_the_same_piece(void **state)
{
	struct recorder *r = *state;

	feed(r, "GET / HTTP/1.1\r\n\r\n{\"json\": true}GET /hidden HTTP/1.1\r\n\r\n");
	assert_int_equal(r->n, 3);
	assert_simple_get(r, 0, 0, "/");
	assert_error(r, 2);
}

/* Near misses of a request line; each is reported once, even when the bytes
 * arrive one at a time. */
static void test_near_miss_request_lines(void **state)
{
	static const char *const lines[] = {
	    "GETX / HTTP/1.1\r\n\r\n",	   "get / HTTP/1.1\r\n\r\n",
	    "GET  / HTTP/1.1\r\n\r\n",	   "GET /\r\n\r\n",
	    "GET / HTTP/2.0\r\n\r\n",	   "GET / http/1.1\r\n\r\n",
	    "PROPFIND / HTTP/1.1\r\n\r\n", "GET /no-version\r\n\r\n",
	    "POST x HTTP/1.1\r\n\r\n",
	};
	struct recorder *r = *state;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		restart(r);
		feed(r, lines[i]);
		assert_int_equal(r->n, 1);
		assert_error(r, 0);
		restart(r);
		feed_in_pieces(r, lines[i], 1);
		assert_int_equal(r->n, 1);
		assert_error(r, 0);
		feed(r, "GET / HTTP/1.1\r\n\r\n");
		assert_simple_get(r, 1, 0, "/");
	}
}

static void test_truncated_head(void **state)
{
	struct recorder *r = *state;
	const char *req = "GET /path HTTP/1.1\r\nHost: a.example\r\nUser-Agent: some-long-agent\r\n"
			  "Accept: */*\r\n\r\n";
	size_t cut = (size_t)(strstr(req, "some-long") - req);
	const struct event *e;

	feed_cut(r, req, cut, strlen(req) + 200);
	assert_int_equal(r->n, 1);
	e = request_at(r, 0, 0, "GET", "/path");
	assert_true(e->head.head_truncated);
	assert_int_equal(e->head.version_minor, 1);
	assert_string_equal(e->host, "a.example");
	assert_string_equal(e->user_agent, "");
	assert_true(http1_stream_in_message(r->s));
	/* The rest of that message: not a message start, ignored. */
	feed(r, "Accept: */*\r\n\r\n");
	assert_int_equal(r->n, 1);
	feed(r, "GET /next HTTP/1.1\r\n\r\n");
	assert_int_equal(r->n, 4);
	assert_complete(r, 1, 0, HTTP1_FRAMING_UNKNOWN, 0);
	assert_simple_get(r, 2, 0, "/next");
}

static void test_truncated_request_line(void **state)
{
	struct recorder *r = *state;
	const char *req = "GET /abcdefghij HTTP/1.1\r\n\r\n";
	const struct event *e;

	feed_cut(r, req, 12, strlen(req));
	assert_int_equal(r->n, 1);
	e = request_at(r, 0, 0, "GET", "/abcdefg");
	assert_true(e->head.head_truncated);
	assert_int_equal(e->head.version_minor, 1);
	close_stream(r);
	assert_int_equal(r->n, 2);
	assert_complete(r, 1, 0, HTTP1_FRAMING_UNKNOWN, 0);

	/* Too few bytes to tell a message start: nothing is reported. */
	restart(r);
	feed_cut(r, req, 5, strlen(req));
	assert_int_equal(r->n, 0);
	assert_false(http1_stream_in_message(r->s));
	feed_cut(r, NULL, 0, 100);
	assert_int_equal(r->n, 0);
	feed(r, req);
	assert_int_equal(r->n, 2);
}

static void test_head_too_large(void **state)
{
	struct recorder *r = *state;
	size_t len = HTTP1_MAX_HEAD_BYTES + 100;
	char *req = malloc(len + 1);
	const char *start = "GET /huge HTTP/1.1\r\nHost: h\r\nX-Big: ";
	const struct event *e;

	assert_non_null(req);
	memset(req, 'a', len);
	memcpy(req, start, strlen(start));
	memcpy(req + len - 4, "\r\n\r\n", 4);
	req[len] = '\0';
	feed_in_pieces(r, req, 1000);
	free(req);
	assert_int_equal(r->n, 1);
	e = request_at(r, 0, 0, "GET", "/huge");
	assert_true(e->head.head_truncated);
	assert_string_equal(e->host, "h");
	close_stream(r);
	assert_int_equal(r->n, 2);
	assert_complete(r, 1, 0, HTTP1_FRAMING_UNKNOWN, 0);
}

/* A head just under the limit is whole; the buffer that grew for it serves
 * the next, small head too. */
static void test_large_head_within_limit(void **state)
{
	struct recorder *r = *state;
	size_t len = HTTP1_MAX_HEAD_BYTES;
	char *req = malloc(len + 1);
	const char *start = "GET /large HTTP/1.1\r\nX-Big: ";
	const char *end = "\r\nHost: last.example\r\n\r\n";

	assert_non_null(req);
	memset(req, 'b', len);
	memcpy(req, start, strlen(start));
	memcpy(req + len - strlen(end), end, strlen(end));
	req[len] = '\0';
	feed_in_pieces(r, req, 700);
	free(req);
	assert_int_equal(r->n, 2);
	assert_false(request_at(r, 0, 0, "GET", "/large")->head.head_truncated);
	assert_string_equal(r->ev[0].host, "last.example");
	assert_int_equal(r->ev[0].head.head_bytes, HTTP1_MAX_HEAD_BYTES);
	assert_complete(r, 1, 0, HTTP1_FRAMING_EXACT, 0);
	feed(r, SIMPLE_GET);
	assert_simple_get(r, 2, 0, "/a/b?q=1");
}

static void test_invalid_content_length(void **state)
{
	static const char *const values[] = {
	    "99999999999999999999999", "12a", "-1", "", "0x10", "5, 6", "1 2",
	};
	struct recorder *r = *state;
	char req[256];

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		restart(r);
		snprintf(req, sizeof(req), "POST / HTTP/1.1\r\nContent-Length: %s\r\n\r\nxyz",
			 values[i]);
		feed(r, req);
		assert_int_equal(r->n, 2);
		assert_int_equal(request_at(r, 0, 0, "POST", "/")->head.content_length, -1);
		assert_error(r, 1);
		assert_true(http1_stream_in_message(r->s));
		feed(r, "GET / HTTP/1.1\r\n\r\n");
		assert_int_equal(r->n, 5);
		assert_complete(r, 2, 0, HTTP1_FRAMING_UNKNOWN, 0);
		assert_simple_get(r, 3, 0, "/");
	}

	/* Two different Content-Length lines. */
	restart(r);
	feed(r, "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n");
	assert_int_equal(r->n, 2);
	assert_error(r, 1);
}

/* RFC 9110 section 8.6: repeated identical values are one value. */
static void test_repeated_identical_content_length(void **state)
{
	struct recorder *r = *state;

	feed(r, "POST / HTTP/1.1\r\nContent-Length: 3, 3\r\nContent-Length:3\r\n\r\nabc");
	assert_int_equal(r->n, 2);
	assert_int_equal(request_at(r, 0, 0, "POST", "/")->head.content_length, 3);
	assert_complete(r, 1, 0, HTTP1_FRAMING_EXACT, 3);
}

/* After Upgrade or CONNECT, the client may speak another protocol. */
static void test_websocket_request_then_frames(void **state)
{
	struct recorder *r = *state;
	static const uint8_t frame[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
					0x7f, 0x9f, 0x4d, 0x51, 0x58};

	feed(r, "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\n\r\n");
	feed_bytes(r, frame, sizeof(frame));
	assert_int_equal(r->n, 2);
	assert_simple_get(r, 0, 0, "/chat");

	feed(r, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
	feed_bytes(r, frame, sizeof(frame));
	assert_int_equal(r->n, 4);
	request_at(r, 2, 0, "CONNECT", "example.com:443");
	assert_complete(r, 3, 0, HTTP1_FRAMING_EXACT, 0);
}

static void test_close_mid_message(void **state)
{
	struct recorder *r = *state;

	close_stream(r);
	assert_int_equal(r->n, 0);
	feed(r, "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
	close_stream(r);
	assert_int_equal(r->n, 2);
	assert_complete(r, 1, 0, HTTP1_FRAMING_UNKNOWN, 0);
	assert_false(http1_stream_in_message(r->s));
	close_stream(r);
	assert_int_equal(r->n, 2);

	feed(r, "GET / HTTP/1.1\r\nHost: partial");
	assert_int_equal(r->n, 2);
	close_stream(r);
	assert_int_equal(r->n, 4);
	assert_true(request_at(r, 2, 0, "GET", "/")->head.head_truncated);
	assert_complete(r, 3, 0, HTTP1_FRAMING_UNKNOWN, 0);
}

static void test_no_callbacks_and_bad_arguments(void **state)
{
	struct recorder *r = *state;
	const struct http1_callbacks none = {0};

	assert_null(http1_stream_new(0));
	assert_null(http1_stream_new(3));
	http1_stream_feed(r->s, (const uint8_t *)SIMPLE_GET, strlen(SIMPLE_GET), strlen(SIMPLE_GET),
			  NULL, NULL);
	http1_stream_feed(r->s, (const uint8_t *)"POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\n", 38,
			  38, &none, NULL);
	assert_true(http1_stream_in_message(r->s));
	http1_stream_close(r->s, NULL, NULL);
	assert_false(http1_stream_in_message(r->s));
	/* captured > total is clamped; NULL data counts as uncaptured. */
	feed_cut(r, "GET / HTTP/1.1\r\n\r\n", 18, 10);
	feed_cut(r, NULL, 50, 50);
	http1_stream_feed(NULL, NULL, 0, 0, &callbacks, r);
	http1_stream_close(NULL, &callbacks, r);
	assert_false(http1_stream_in_message(NULL));
	http1_stream_free(NULL);
}

/* --- responses ----------------------------------------------------------------- */

static void test_pipelined_responses(void **state)
{
	struct recorder *r = *state;

	feed(r, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
		"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
		"HTTP/1.1 200\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
	assert_int_equal(r->n, 6);
	response_at(r, 0, 0, 200);
	assert_complete(r, 1, 0, HTTP1_FRAMING_EXACT, 2);
	response_at(r, 2, 1, 404);
	assert_complete(r, 3, 1, HTTP1_FRAMING_EXACT, 0);
	assert_true(response_at(r, 4, 2, 200)->head.chunked);
	assert_complete(r, 5, 2, HTTP1_FRAMING_EXACT, 3);
}

static void test_chunked_one_piece(void **state)
{
	struct recorder *r = *state;

	feed(r, CHUNKED_RESPONSE);
	assert_int_equal(r->n, 2);
	assert_true(response_at(r, 0, 0, 200)->head.chunked);
	assert_complete(r, 1, 0, HTTP1_FRAMING_EXACT, CHUNKED_RESPONSE_BODY);
	assert_false(http1_stream_in_message(r->s));
}

static void test_chunked_split_everywhere(void **state)
{
	struct recorder *r = *state;
	size_t len = strlen(CHUNKED_RESPONSE);

	for (size_t cut = 1; cut < len; cut++) {
		restart(r);
		feed_bytes(r, CHUNKED_RESPONSE, cut);
		feed_bytes(r, CHUNKED_RESPONSE + cut, len - cut);
		assert_int_equal(r->n, 2);
		assert_complete(r, 1, 0, HTTP1_FRAMING_EXACT, CHUNKED_RESPONSE_BODY);
	}
	restart(r);
	feed_in_pieces(r, CHUNKED_RESPONSE, 1);
	assert_int_equal(r->n, 2);
	assert_complete(r, 1, 0, HTTP1_FRAMING_EXACT, CHUNKED_RESPONSE_BODY);
}

/* Chunk data past the capture is counted; the CRLF after it is assumed. */
static void test_chunk_data_past_the_capture(void **state)
{
	struct recorder *r = *state;
	const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n";
	size_t head_len = strlen(head);

	feed_cut(r, head, head_len, head_len + 0x1000 + 2);
	assert_int_equal(r->n, 1);
	feed(r, "0\r\n\r\n");
	assert_int_equal(r->n, 2);
	assert_complete(r, 1, 0, HTTP1_FRAMING_EXACT, 0x1000);
}

/* A chunk-size line nobody saw: the end is unknown until the next response. */
static void test_chunk_size_line_past_the_capture(void **state)
{
	struct recorder *r = *state;
	const char *piece = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
			    "5\r\nworld\r\n0\r\n\r\n";
	size_t cut = (size_t)(strstr(piece, "world") - piece) - 3;

	feed_cut(r, piece, cut, strlen(piece));
	assert_int_equal(r->n, 1);
	assert_true(http1_stream_in_message(r->s));
	feed(r, "more body bytes\r\n0\r\n\r\n");
	assert_int_equal(r->n, 1);
	feed(r, "HTTP/1.1 204 No Content\r\n\r\n");
	assert_int_equal(r->n, 4);
	assert_complete(r, 1, 0, HTTP1_FRAMING_UNKNOWN, 0);
	response_at(r, 2, 0, 204);
	assert_complete(r, 3, 0, HTTP1_FRAMING_EXACT, 0);
}

static void test_malformed_chunks(void **state)
{
	static const char *const bodies[] = {
	    "zz\r\n", "1234567890abcdef0\r\nx", "3\r\nabcX\r\n0\r\n\r\n", "3\rX", "3x\r\n",
	};
	struct recorder *r = *state;
	char piece[256];

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		restart(r);
		snprintf(piece, sizeof(piece),
			 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%s", bodies[i]);
		feed(r, piece);
		assert_int_equal(r->n, 2);
		assert_error(r, 1);
		close_stream(r);
		assert_complete(r, 2, 0, HTTP1_FRAMING_UNKNOWN, 0);
	}
}

static void test_100_continue_then_200(void **state)
{
	struct recorder *r = *state;

	feed(r, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	assert_int_equal(r->n, 4);
	response_at(r, 0, 0, 100);
	assert_complete(r, 1, 0, HTTP1_FRAMING_EXACT, 0);
	response_at(r, 2, 1, 200);
	assert_complete(r, 3, 1, HTTP1_FRAMING_EXACT, 2);

	feed(r, "HTTP/1.1 100 Continue\r\n\r\n");
	feed(r, "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n");
	feed(r, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(r->n, 10);
	response_at(r, 4, 0, 100);
	response_at(r, 6, 0, 103);
	response_at(r, 8, 0, 201);
}

static void test_204_and_304_have_no_body(void **state)
{
	struct recorder *r = *state;

	feed(r, "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\n\r\n"
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(r->n, 6);
	response_at(r, 0, 0, 204);
	assert_complete(r, 1, 0, HTTP1_FRAMING_EXACT, 0);
	assert_int_equal(response_at(r, 2, 1, 304)->head.content_length, 1234);
	assert_complete(r, 3, 1, HTTP1_FRAMING_EXACT, 0);
	response_at(r, 4, 2, 200);
	assert_complete(r, 5, 2, HTTP1_FRAMING_EXACT, 0);
}

static void test_head_response_has_no_body(void **state)
{
	struct recorder *r = *state;

	r->answers_head = 1u << 0;
	feed(r, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
	assert_int_equal(r->n, 4);
	assert_int_equal(response_at(r, 0, 0, 200)->head.content_length, 1234);
	assert_complete(r, 1, 0, HTTP1_FRAMING_EXACT, 0);
	response_at(r, 2, 1, 200);
	assert_complete(r, 3, 1, HTTP1_FRAMING_EXACT, 2);
}

static void test_101_switching_protocols_stops_parsing(void **state)
{
	struct recorder *r = *state;
	static const uint8_t frame[] = {0x81, 0x05, 'h', 'e', 'l', 'l', 'o'};
	const char *switching = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
				"Connection: Upgrade\r\n\r\n\x81\x05hello";

	feed(r, switching);
	assert_int_equal(r->n, 2);
	assert_true(response_at(r, 0, 0, 101)->head.upgrade);
	assert_complete(r, 1, 0, HTTP1_FRAMING_EXACT, 0);
	feed_bytes(r, frame, sizeof(frame));
	feed(r, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	close_stream(r);
	assert_int_equal(r->n, 2);
	assert_false(http1_stream_in_message(r->s));

	/* A 101 whose head the capture cut: ends at once, then the tunnel. */
	restart(r);
	feed_cut(r, switching, 40, 200);
	assert_int_equal(r->n, 2);
	assert_true(response_at(r, 0, 0, 101)->head.head_truncated);
	assert_complete(r, 1, 0, HTTP1_FRAMING_UNKNOWN, 0);
	feed(r, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(r->n, 2);
}

static void test_response_delimited_by_close(void **state)
{
	struct recorder *r = *state;
	const struct event *e;

	feed(r, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello");
	feed(r, " world");
	feed_cut(r, "HTTP/1.1 200 OK\r\n", 3, 100);
	assert_int_equal(r->n, 1);
	e = response_at(r, 0, 0, 200);
	assert_int_equal(e->head.version_minor, 0);
	assert_true(e->head.connection_close);
	assert_true(http1_stream_in_message(r->s));
	close_stream(r);
	assert_int_equal(r->n, 2);
	assert_complete(r, 1, 0, HTTP1_FRAMING_EXACT, 5 + 6 + 100);

	/* RFC 9112 section 6.3 rule 4: a final coding other than chunked. */
	feed(r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxyz");
	assert_int_equal(r->n, 3);
	close_stream(r);
	assert_complete(r, 3, 0, HTTP1_FRAMING_EXACT, 3);
}

static void test_response_garbage_and_near_misses(void **state)
{
	static const char *const lines[] = {
	    "HTTP/2.0 200 OK\r\n\r\n", "HTTP/1.1 999 Nope\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n",
	    "HTTP/1.1 20x OK\r\n\r\n", "http/1.1 200 OK\r\n\r\n",   "HTTP/1.1 20\r\n\r\n",
	    "<html>hi</html>",
	};
	struct recorder *r = *state;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		restart(r);
		feed(r, lines[i]);
		feed(r, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
		assert_int_equal(r->n, 3);
		assert_error(r, 0);
		response_at(r, 1, 0, 200);
	}
}

static void test_response_invalid_content_length(void **state)
{
	struct recorder *r = *state;

	feed(r, "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\nbody");
	assert_int_equal(r->n, 2);
	assert_int_equal(response_at(r, 0, 0, 200)->head.content_length, -1);
	assert_error(r, 1);
	feed(r, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(r->n, 5);
	assert_complete(r, 2, 0, HTTP1_FRAMING_UNKNOWN, 0);
	response_at(r, 3, 0, 200);
}

/* The largest valid Content-Length is counted without overflow. */
static void test_huge_valid_content_length(void **state)
{
	struct recorder *r = *state;

	const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807\r\n\r\n";

	feed(r, head);
	assert_int_equal(response_at(r, 0, 0, 200)->head.content_length, INT64_MAX);
	feed_cut(r, NULL, 0, (size_t)1 << 40);
	assert_int_equal(r->n, 1);
	close_stream(r);
	assert_complete(r, 1, 0, HTTP1_FRAMING_UNKNOWN, 0);

	feed(r, head);
	feed_cut(r, NULL, 0, SIZE_MAX);
	assert_int_equal(r->n, 4);
	assert_complete(r, 3, 0, HTTP1_FRAMING_EXACT, INT64_MAX);
	assert_false(http1_stream_in_message(r->s));
}

int main(void)
{
#define REQ(t) cmocka_unit_test_setup_teardown(t, setup_requests, teardown)
#define RSP(t) cmocka_unit_test_setup_teardown(t, setup_responses, teardown)
	const struct CMUnitTest tests[] = {
	    REQ(test_simple_get),
	    REQ(test_head_split_in_two),
	    REQ(test_head_in_one_byte_pieces),
	    REQ(test_pipelined_requests),
	    REQ(test_message_continued_into_next_piece),
	    REQ(test_content_length_body_one_piece),
	    REQ(test_content_length_body_across_pieces),
	    REQ(test_body_past_the_capture),
	    REQ(test_unseen_bytes_after_a_message),
	    REQ(test_chunked_request),
	    REQ(test_request_transfer_encoding_not_chunked),
	    REQ(test_http10_request),
	    REQ(test_connection_close),
	    REQ(test_header_extraction),
	    REQ(test_field_line_edge_cases),
	    REQ(test_empty_lines_before_request),
	    REQ(test_garbage_then_recovery),
	    REQ(test_garbage_after_a_message_in_the_same_piece),
	    REQ(test_near_miss_request_lines),
	    REQ(test_truncated_head),
	    REQ(test_truncated_request_line),
	    REQ(test_head_too_large),
	    REQ(test_large_head_within_limit),
	    REQ(test_invalid_content_length),
	    REQ(test_repeated_identical_content_length),
	    REQ(test_websocket_request_then_frames),
	    REQ(test_close_mid_message),
	    REQ(test_no_callbacks_and_bad_arguments),
	    RSP(test_pipelined_responses),
	    RSP(test_chunked_one_piece),
	    RSP(test_chunked_split_everywhere),
	    RSP(test_chunk_data_past_the_capture),
	    RSP(test_chunk_size_line_past_the_capture),
	    RSP(test_malformed_chunks),
	    RSP(test_100_continue_then_200),
	    RSP(test_204_and_304_have_no_body),
	    RSP(test_head_response_has_no_body),
	    RSP(test_101_switching_protocols_stops_parsing),
	    RSP(test_response_delimited_by_close),
	    RSP(test_response_garbage_and_near_misses),
	    RSP(test_response_invalid_content_length),
	    RSP(test_huge_valid_content_length),
	};
#undef REQ
#undef RSP

	return cmocka_run_group_tests(tests, NULL, NULL);
}
