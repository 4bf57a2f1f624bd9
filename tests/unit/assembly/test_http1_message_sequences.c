// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_http1_message_sequences.c - requests and responses in sequence on one
 * connection: pipelining, keep-alive, interim responses, HEAD, bodies past the
 * capture, chunked bodies, responses of unknown length, heads split across
 * reads.
 * The fixture and its rules: support/http1_harness.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/http1_harness.h"

/* Content-Length counts bytes the kernel did not capture. */
#define BIG_HEAD "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"

/* RFC 9112 section 9.3.2: responses come in the order of the requests. The
 * kernel's context is for the first request of the piece; the others get
 * their own. */
static void test_pipelining_one_piece(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x8881);
	struct kspan_trace_ctx k = kernel_ctx(K_TRACE, K_SPAN, NULL);

	ingress_ctx(h, &c, T0 + 100, PIPELINED_REQUESTS, &k);
	egress(h, &c, T0 + 500,
	       "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
	       "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"
	       "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	assert_span_count(h, 3);
	assert_string_equal(span_at(h, 0)->name, "GET /a/{id}");
	assert_string_equal(span_at(h, 1)->name, "GET /b/{id}");
	assert_string_equal(span_at(h, 2)->name, "GET /c/{id}");
	for (size_t i = 0; i < 3; i++)
		assert_times(span_at(h, i), T0 + 100, T0 + 500);
	assert_int_attr(&span_at(h, 2)->attrs, "http.response.status_code", 404);

	assert_ids(span_at(h, 0), K_TRACE, K_SPAN, NO_PARENT);
	assert_fresh_ids(span_at(h, 1), K_TRACE, K_SPAN);
	assert_fresh_ids(span_at(h, 2), K_TRACE, K_SPAN);
	assert_memory_not_equal(span_at(h, 1)->span_id, span_at(h, 2)->span_id, 8);
	assert_memory_not_equal(span_at(h, 1)->trace_id, span_at(h, 2)->trace_id, 16);
	assert_int_equal(STAT(h, invalid_kernel_ids), 0);
}

static void test_pipelining_responses_in_separate_writes(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x8882);
	struct kspan_trace_ctx k = kernel_ctx(K_TRACE, K_SPAN, NULL);

	ingress_ctx(h, &c, T0 + 100,
		    "GET /a/1 HTTP/1.1\r\nHost: h\r\n\r\n"
		    "GET /b/2 HTTP/1.1\r\nHost: h\r\ntraceparent: 00-" H_TRACE "-" H_PARENT
		    "-01\r\n\r\n"
		    "GET /c/3 HTTP/1.1\r\nHost: h\r\n\r\n",
		    &k);
	egress(h, &c, T0 + 500, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na");
	assert_span_count(h, 1);
	egress(h, &c, T0 + 600, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb");
	assert_span_count(h, 2);
	egress(h, &c, T0 + 700, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc");
	assert_span_count(h, 3);
	assert_times(span_at(h, 0), T0 + 100, T0 + 500);
	assert_times(span_at(h, 1), T0 + 100, T0 + 600);
	assert_times(span_at(h, 2), T0 + 100, T0 + 700);
	assert_ids(span_at(h, 0), K_TRACE, K_SPAN, NO_PARENT);
	/* The second request carried its own traceparent. */
	assert_hex(span_at(h, 1)->trace_id, 16, H_TRACE, "trace id");
	assert_hex(span_at(h, 1)->parent_span_id, 8, H_PARENT, "parent span id");
	assert_fresh_ids(span_at(h, 1), K_TRACE, K_SPAN);
	assert_fresh_ids(span_at(h, 2), K_TRACE, K_SPAN);
	assert_hex(span_at(h, 2)->parent_span_id, 8, NO_PARENT, "parent span id");
}

static void test_keep_alive(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x8883);
	struct kspan_trace_ctx k1 = kernel_ctx(K_TRACE, K_SPAN, NULL);
	struct kspan_trace_ctx k2 = kernel_ctx(K_TRACE, K_SPAN2, K_PARENT);
	struct kspan_trace_ctx k3 = kernel_ctx(H_TRACE, K_SPAN3, NULL);

	ingress_ctx(h, &c, T0 + 100, "GET /one HTTP/1.1\r\nHost: h\r\n\r\n", &k1);
	egress(h, &c, T0 + 200, OK_HELLO);
	ingress_ctx(h, &c, T0 + 1100,
		    "POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody", &k2);
	/* Head and body in two writes. */
	egress(h, &c, T0 + 1200, "HTTP/1.1 201 Created\r\nContent-Length: 6\r\n\r\n");
	assert_span_count(h, 1);
	egress(h, &c, T0 + 1250, "create");
	ingress_ctx(h, &c, T0 + 2100, "GET /three HTTP/1.1\r\nHost: h\r\n\r\n", &k3);
	egress(h, &c, T0 + 2200, OK_EMPTY);
	assert_span_count(h, 3);

	assert_string_equal(span_at(h, 0)->name, "GET /one");
	assert_times(span_at(h, 0), T0 + 100, T0 + 200);
	assert_ids(span_at(h, 0), K_TRACE, K_SPAN, NO_PARENT);
	assert_string_equal(span_at(h, 1)->name, "POST /two");
	assert_times(span_at(h, 1), T0 + 1100, T0 + 1250);
	assert_ids(span_at(h, 1), K_TRACE, K_SPAN2, K_PARENT);
	assert_int_attr(&span_at(h, 1)->attrs, "http.response.status_code", 201);
	assert_string_equal(span_at(h, 2)->name, "GET /three");
	assert_times(span_at(h, 2), T0 + 2100, T0 + 2200);
	assert_ids(span_at(h, 2), H_TRACE, K_SPAN3, NO_PARENT);
	assert_int_equal(conn_registry_count(&h->assembler.conns), 1);
}

/* RFC 9110 section 15.2: 1xx responses are interim; the final one ends the
 * span. */
static void test_interim_1xx_then_final(void **state)
{
	static const char *const interim_keys[] = {
	    "http.request.method",	 "url.scheme",	  "url.path", "client.address",
	    "http.response.status_code", CONNECTION_KEYS,
	};
	struct harness *h = *state;
	struct test_conn c = server_conn(0x8884);
	const struct span *s;

	ingress(h, &c, T0 + 100,
		"POST /upload HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n"
		"\r\n");
	egress(h, &c, T0 + 200, "HTTP/1.1 100 Continue\r\n\r\n");
	assert_span_count(h, 0);
	ingress(h, &c, T0 + 300, "hello");
	egress(h, &c, T0 + 400, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
	/* 103 Early Hints and the final response in one write. */
	ingress(h, &c, T0 + 1100, "GET /page HTTP/1.1\r\nHost: h\r\n\r\n");
	egress(h, &c, T0 + 1200,
	       "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" OK_HELLO);
	assert_span_count(h, 2);

	s = span_at(h, 0);
	assert_times(s, T0 + 100, T0 + 400);
	assert_int_attr(&s->attrs, "http.response.status_code", 201);
	/* One status code: the interim response added nothing. */
	assert_keys(&s->attrs, interim_keys, ARRAY_SIZE(interim_keys));
	s = span_at(h, 1);
	assert_times(s, T0 + 1100, T0 + 1200);
	assert_int_attr(&s->attrs, "http.response.status_code", 200);
	assert_int_equal(STAT(h, http_orphan_responses), 0);
}

/* RFC 9112 section 6.3 rule 1: a response to HEAD has no body, whatever its
 * Content-Length says. */
static void test_head_response(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x8885);

	ingress(h, &c, T0 + 100, "HEAD /file.iso HTTP/1.1\r\nHost: h\r\n\r\n");
	egress(h, &c, T0 + 200, "HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n");
	assert_span_count(h, 1);
	assert_string_equal(span_at(h, 0)->name, "HEAD /file.iso");
	assert_times(span_at(h, 0), T0 + 100, T0 + 200);
	/* The next exchange is framed right: no 1 MiB body was expected. */
	ingress(h, &c, T0 + 300, "GET /file.iso HTTP/1.1\r\nHost: h\r\n\r\n");
	egress(h, &c, T0 + 400, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
	assert_span_count(h, 2);
	assert_times(span_at(h, 1), T0 + 300, T0 + 400);
}

static void test_body_past_capture(void **state)
{
	const size_t head_len = sizeof(BIG_HEAD) - 1;
	struct harness *h = *state;
	struct test_conn c = server_conn(0x8886);

	ingress(h, &c, T0 + 100, "GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
	feed(h, &c,
	     &(struct piece){.dir = KSPAN_DIR_EGRESS,
			     .exit_ns = T0 + 200,
			     .text = BIG_HEAD "0123456789",
			     .total = 65536});
	assert_span_count(h, 0);
	/* The rest of the body: nothing of it captured. */
	feed(h, &c,
	     &(struct piece){.dir = KSPAN_DIR_EGRESS,
			     .exit_ns = T0 + 300,
			     .text = "",
			     .total = head_len + 100000 - 65536 - 1});
	assert_span_count(h, 0);
	feed(
	    h, &c,
	    &(struct piece){.dir = KSPAN_DIR_EGRESS, .exit_ns = T0 + 400, .text = "z", .total = 1});
	assert_span_count(h, 1);
	assert_times(span_at(h, 0), T0 + 100, T0 + 400);

	ingress(h, &c, T0 + 500, "GET /small HTTP/1.1\r\nHost: h\r\n\r\n");
	egress(h, &c, T0 + 600, OK_HELLO);
	assert_span_count(h, 2);
	assert_times(span_at(h, 1), T0 + 500, T0 + 600);
}

static void test_chunked_across_pieces(void **state)
{
	struct harness *h = *state;
	struct test_conn c = client_conn(0x8887);

	egress(h, &c, T0 + 100, "GET /stream HTTP/1.1\r\nHost: h\r\n\r\n");
	ingress(h, &c, T0 + 200, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
	ingress(h, &c, T0 + 300, "lo\r\n7\r\n wor");
	assert_span_count(h, 0);
	ingress(h, &c, T0 + 400, "ld!\r\n0\r\n\r\n");
	assert_span_count(h, 1);
	assert_times(span_at(h, 0), T0 + 100 - SYSCALL_NS, T0 + 400);
	assert_int_attr(&span_at(h, 0)->attrs, "http.response.status_code", 200);
}

/* On a connection that does not pipeline, the next request means the
 * previous response is complete: it ended with its last write. */
static void test_unknown_framing_ended_by_next_request(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x8888);

	send_response_of_unknown_length(h, &c);
	assert_span_count(h, 0);
	ingress(h, &c, T0 + 1000, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_span_count(h, 1);
	assert_string_equal(span_at(h, 0)->name, "GET /page");
	assert_times(span_at(h, 0), T0 + 100, T0 + 300);
	assert_int_attr(&span_at(h, 0)->attrs, "http.response.status_code", 200);
	egress(h, &c, T0 + 1200, OK_HELLO);
	assert_span_count(h, 2);
	assert_times(span_at(h, 1), T0 + 1000, T0 + 1200);
}

/* Whenever the first span is finished, its end is its last write, not the
 * start of the next response. */
static void test_unknown_framing_end_time(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x8889);

	send_response_of_unknown_length(h, &c);
	ingress(h, &c, T0 + 1000, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
	egress(h, &c, T0 + 1200, OK_HELLO);
	assert_span_count(h, 2);
	assert_string_equal(span_at(h, 0)->name, "GET /page");
	assert_times(span_at(h, 0), T0 + 100, T0 + 300);
	assert_string_equal(span_at(h, 1)->name, "GET /next");
	assert_times(span_at(h, 1), T0 + 1000, T0 + 1200);
}

/* A request head that arrives in two reads: the span starts at the first,
 * and the kernel's context (decided for the piece where the request starts)
 * is the span's. */
static void test_request_head_split_across_reads(void **state)
{
	struct harness *h = *state;
	struct test_conn server = server_conn(0x888a);
	struct test_conn client = client_conn(0x888b);
	struct kspan_trace_ctx k = kernel_ctx(K_TRACE, K_SPAN, NULL);
	const uint64_t want_start[2] = {T0 + 100, T0 + 1100 - SYSCALL_NS};
	char problems[512] = "";
	size_t used = 0;

	ingress_ctx(h, &server, T0 + 100, "GET /users/7 HTTP/1.1\r\nHost: sh", &k);
	ingress(h, &server, T0 + 150, "op.example\r\nUser-Agent: slow\r\n\r\n");
	egress(h, &server, T0 + 400, OK_EMPTY);
	egress_ctx(h, &client, T0 + 1100, "GET /x HTTP/1.1\r\nHo", &k);
	egress(h, &client, T0 + 1150, "st: h\r\n\r\n");
	ingress(h, &client, T0 + 1400, OK_EMPTY);
	assert_span_count(h, 2);
	assert_str_attr(&span_at(h, 0)->attrs, "server.address", "shop.example");
	assert_str_attr(&span_at(h, 0)->attrs, "user_agent.original", "slow");

	/* Both problems of both spans in one message. */
	for (size_t i = 0; i < 2; i++) {
		const struct span *s = span_at(h, i);
		char span_hex[17];

		hex_encode(s->span_id, 8, span_hex);
		if (s->start_unix_ns != UNIX_NS(want_start[i]))
			used += (size_t)snprintf(problems + used, sizeof(problems) - used,
						 "\n  %s span starts at T0%+lld, expected T0%+lld",
						 i ? "CLIENT" : "SERVER",
						 (long long)(s->start_unix_ns - UNIX_NS(T0)),
						 (long long)(want_start[i] - T0));
		if (strcmp(span_hex, K_SPAN) != 0)
			used += (size_t)snprintf(problems + used, sizeof(problems) - used,
						 "\n  %s span id %s, expected the kernel's " K_SPAN,
						 i ? "CLIENT" : "SERVER", span_hex);
	}
	if (used)
		fail_msg("request head split across two syscalls:%s", problems);
	assert_ids(span_at(h, 0), K_TRACE, K_SPAN, NO_PARENT);
	assert_times(span_at(h, 0), T0 + 100, T0 + 400);
	assert_times(span_at(h, 1), T0 + 1100 - SYSCALL_NS, T0 + 1400);
}

int main(void)
{
#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    TEST(test_pipelining_one_piece),
	    TEST(test_pipelining_responses_in_separate_writes),
	    TEST(test_keep_alive),
	    TEST(test_interim_1xx_then_final),
	    TEST(test_head_response),
	    TEST(test_body_past_capture),
	    TEST(test_chunked_across_pieces),
	    TEST(test_unknown_framing_ended_by_next_request),
	    TEST(test_unknown_framing_end_time),
	    TEST(test_request_head_split_across_reads),
	};
#undef TEST

	return cmocka_run_group_tests(tests, NULL, NULL);
}
