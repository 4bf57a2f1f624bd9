// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_http1_body.c - HTTP/1.x message bodies (http1_body.h): Content-Length, chunked,
 * delimited by close, and the responses that have none (RFC 9112 section 6.3).
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

/* --- responses ----------------------------------------------------------------- */

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
	    REQ(test_content_length_body_one_piece),
	    REQ(test_content_length_body_across_pieces),
	    REQ(test_body_past_the_capture),
	    REQ(test_chunked_request),
	    REQ(test_request_transfer_encoding_not_chunked),
	    REQ(test_invalid_content_length),
	    REQ(test_repeated_identical_content_length),
	    RSP(test_chunked_one_piece),
	    RSP(test_chunked_split_everywhere),
	    RSP(test_chunk_data_past_the_capture),
	    RSP(test_chunk_size_line_past_the_capture),
	    RSP(test_malformed_chunks),
	    RSP(test_204_and_304_have_no_body),
	    RSP(test_head_response_has_no_body),
	    RSP(test_response_delimited_by_close),
	    RSP(test_response_invalid_content_length),
	    RSP(test_huge_valid_content_length),
	};
#undef REQ
#undef RSP

	return cmocka_run_group_tests(tests, NULL, NULL);
}
