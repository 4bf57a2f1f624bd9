// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_http1_stream.c - HTTP/1.x message boundaries (http1_stream.h): pipelining, messages
 * across pieces, lost sync and recovery, protocol switches, close.
 *
 * Fed through an http1_stream, as the agent feeds it (support/http1_recorder.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/http1_recorder.h"

/* --- requests ------------------------------------------------------------------ */

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

/* --- heads parsed in place ------------------------------------------------------ */

static void assert_same_events(const struct recorder *a, const struct recorder *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		const struct event *x = &a->ev[i], *y = &b->ev[i];
		/* msg_index counts per piece: a split moves later messages to index 0. */
		assert_int_equal(x->type, y->type);
		assert_string_equal(x->method, y->method);
		assert_string_equal(x->target, y->target);
		assert_string_equal(x->host, y->host);
		assert_string_equal(x->user_agent, y->user_agent);
		assert_string_equal(x->traceparent, y->traceparent);
		assert_string_equal(x->tracestate, y->tracestate);
		assert_string_equal(x->why, y->why);
		assert_int_equal(x->head.status_code, y->head.status_code);
		assert_int_equal(x->head.content_length, y->head.content_length);
		assert_int_equal(x->head.version_minor, y->head.version_minor);
		assert_int_equal(x->head.chunked, y->head.chunked);
		assert_int_equal(x->head.connection_close, y->head.connection_close);
		assert_int_equal(x->head.upgrade, y->head.upgrade);
		assert_int_equal(x->head.head_bytes, y->head.head_bytes);
		assert_int_equal(x->head.head_truncated, y->head.head_truncated);
		assert_int_equal(x->head.traceparent_fields, y->head.traceparent_fields);
		assert_int_equal(x->info.framing, y->info.framing);
		assert_int_equal(x->info.body_bytes, y->info.body_bytes);
	}
}

/*
 * A head that one piece holds whole is parsed where it lies; split over two
 * pieces it is collected byte-wise into the stream's buffer. Both must
 * report the same, wherever the split falls, for good and bad heads alike.
 */
static void check_in_place_matches_collected(enum http1_stream_kind kind, const char *text)
{
	struct recorder whole = {.kind = kind}, split = {.kind = kind};
	size_t len = strlen(text);

	whole.s = http1_stream_new(kind);
	assert_non_null(whole.s);
	feed(&whole, text);
	close_stream(&whole);
	for (size_t at = 1; at < len; at++) {
		split.s = http1_stream_new(kind);
		assert_non_null(split.s);
		split.n = split.heads = 0;
		feed_bytes(&split, text, at);
		feed_bytes(&split, text + at, len - at);
		close_stream(&split);
		assert_same_events(&whole, &split);
		http1_stream_free(split.s);
	}
	http1_stream_free(whole.s);
}

static void test_in_place_heads_match_collected_ones(void **state)
{
	static const char *const requests[] = {
	    "GET /api/v1/users/12345/orders HTTP/1.1\r\nHost: orders.internal:8080\r\n"
	    "User-Agent: wrk/4.2.0\r\nAccept: */*\r\n\r\n",
	    "POST /p HTTP/1.1\r\nhOsT: h\r\nTRACEPARENT: "
	    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"
	    "tracestate: a=1\r\n continued\r\nContent-Length: 3\r\n\r\nabc",
	    "PUT /c HTTP/1.0\nTransfer-Encoding: gzip, chunked\nConnection: keep-alive\n\n"
	    "3\r\nabc\r\n0\r\n\r\n",
	    "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\n",
	    "GET /bad HTTP/9.9\r\n\r\n",
	    "GETX / HTTP/1.1\r\n\r\n",
	    "GET /no-end HTTP/1.1\r\nHost: h\r\n",
	};
	static const char *const responses[] = {
	    "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Length: 2\r\n"
	    "Connection: keep-alive\r\n\r\nok",
	    "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 500 Oops\r\nConnection: close\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
	    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n\x00\x00",
	    "HTTP/1.1 2x0 OK\r\n\r\n",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++)
		check_in_place_matches_collected(HTTP1_STREAM_REQUESTS, requests[i]);
	for (size_t i = 0; i < sizeof(responses) / sizeof(responses[0]); i++)
		check_in_place_matches_collected(HTTP1_STREAM_RESPONSES, responses[i]);
}

int main(void)
{
#define REQ(t) cmocka_unit_test_setup_teardown(t, setup_requests, teardown)
#define RSP(t) cmocka_unit_test_setup_teardown(t, setup_responses, teardown)
	const struct CMUnitTest tests[] = {
	    REQ(test_pipelined_requests),
	    REQ(test_message_continued_into_next_piece),
	    REQ(test_unseen_bytes_after_a_message),
	    REQ(test_empty_lines_before_request),
	    REQ(test_garbage_then_recovery),
	    REQ(test_garbage_after_a_message_in_the_same_piece),
	    REQ(test_websocket_request_then_frames),
	    REQ(test_close_mid_message),
	    REQ(test_no_callbacks_and_bad_arguments),
	    RSP(test_pipelined_responses),
	    RSP(test_101_switching_protocols_stops_parsing),
	    cmocka_unit_test(test_in_place_heads_match_collected_ones),
	};
#undef REQ
#undef RSP

	return cmocka_run_group_tests(tests, NULL, NULL);
}
