// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_http1_head.c - HTTP/1.x heads (http1_head.h): start lines, the fields kspan reads, heads
 * cut by the capture or too large, near misses of a message start.
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
	assert_string_equal(e->tracestate, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
	assert_int_equal(e->head.traceparent_fields, 1);
}

/* W3C Trace Context: several traceparent fields are counted (3.2: then none
 * is valid), several tracestate fields combined in order (3.3); one continued
 * by an obs-fold, or cut by the end of the bytes, is not known. */
static void test_trace_context_fields(void **state)
{
	struct recorder *r = *state;
	const struct event *e;

	feed(r, "GET / HTTP/1.1\r\n"
		"traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
		"tracestate: foo=1, bar=2\r\n"
		"TRACEPARENT: 00-4bf92f3577b34da6a3ce929d0e0e4737-00f067aa0ba902b7-01\r\n"
		"TraceState:\r\n"
		"tracestate: baz=3 \r\n"
		"\r\n");
	e = request_at(r, 0, 0, "GET", "/");
	assert_int_equal(e->head.traceparent_fields, 2);
	assert_string_equal(e->traceparent,
			    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
	assert_string_equal(e->tracestate, "foo=1,bar=2,baz=3");

	restart(r);
	feed(r, "GET / HTTP/1.1\r\ntracestate: foo=1\r\n bar=2\r\n\r\n");
	assert_string_equal(request_at(r, 0, 0, "GET", "/")->tracestate, "");

	restart(r);
	feed(r, "GET / HTTP/1.1\r\ntracestate: foo=1\r\ntracestate: Foo=2\r\n\r\n");
	assert_string_equal(request_at(r, 0, 0, "GET", "/")->tracestate, "");
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

/* --- responses ----------------------------------------------------------------- */

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

/* http1_head_parse says where the empty line ends the head (CRLF or a bare
 * LF), 0 when buf holds no empty line, and reads nothing after it: parsing
 * up to head_end gives the same fields. */
static void test_parse_reports_head_end(void **state)
{
	static const char crlf[] = "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\n";
	static const char lf[] = "GET /a HTTP/1.1\nHost: h\n\nHost: other\n\n";
	static const char open_head[] = "GET /a HTTP/1.1\r\nHost: h\r\n";
	struct http1_head_parse whole, exact;

	(void)state;
	http1_head_parse(crlf, sizeof(crlf) - 1, true, &whole);
	assert_true(whole.start_ok);
	assert_int_equal(whole.head_end, strlen("GET /a HTTP/1.1\r\nHost: h\r\n\r\n"));
	http1_head_parse(lf, sizeof(lf) - 1, true, &whole);
	assert_int_equal(whole.head_end, strlen("GET /a HTTP/1.1\nHost: h\n\n"));
	http1_head_parse(lf, whole.head_end, true, &exact);
	assert_int_equal(exact.head_end, whole.head_end);
	assert_int_equal(exact.head.host.len, 1);
	assert_ptr_equal(exact.head.host.ptr, whole.head.host.ptr);
	assert_memory_equal(whole.head.host.ptr, "h", 1);
	http1_head_parse(open_head, sizeof(open_head) - 1, true, &whole);
	assert_true(whole.start_ok);
	assert_int_equal(whole.head_end, 0);
}

int main(void)
{
#define REQ(t) cmocka_unit_test_setup_teardown(t, setup_requests, teardown)
#define RSP(t) cmocka_unit_test_setup_teardown(t, setup_responses, teardown)
	const struct CMUnitTest tests[] = {
	    REQ(test_simple_get),
	    REQ(test_head_split_in_two),
	    REQ(test_head_in_one_byte_pieces),
	    REQ(test_http10_request),
	    REQ(test_connection_close),
	    REQ(test_header_extraction),
	    REQ(test_trace_context_fields),
	    REQ(test_field_line_edge_cases),
	    REQ(test_near_miss_request_lines),
	    REQ(test_truncated_head),
	    REQ(test_truncated_request_line),
	    REQ(test_head_too_large),
	    REQ(test_large_head_within_limit),
	    REQ(test_parse_reports_head_end),
	    RSP(test_100_continue_then_200),
	    RSP(test_response_garbage_and_near_misses),
	};
#undef REQ
#undef RSP

	return cmocka_run_group_tests(tests, NULL, NULL);
}
