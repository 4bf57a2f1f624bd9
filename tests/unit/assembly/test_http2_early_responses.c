// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_http2_early_responses.c - HTTP/2 events in the orders the ring buffer
 * delivers them (syscall-exit order): a CLIENT reads a stream's response
 * before the event of the write that sent its request is processed: one span,
 * with the request's start and the response's end; a response whose request
 * never comes is counted.
 * The fixture: support/http2_harness.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/http2_harness.h"

static void test_client_response_before_request(void **state)
{
	struct fixture *f = *state;
	struct wire req = {0}, resp = {0};
	struct span *s;

	add_preface(&req);
	add_request(f, &req, 1, NULL);
	add_response(f, &resp, 1, "5");
	/* The writer entered at T0; its exit reaches the ring after the
	 * reader's, which got the whole response at T0 + 3 ms. */
	deliver(f, &f->client, false, &resp, T0 + 2 * MS, T0 + 3 * MS);
	assert_int_equal(f->cap.count, 0);
	deliver(f, &f->client, true, &req, T0, T0 + 4 * MS);

	assert_int_equal(f->cap.count, 1);
	s = only_span_of_kind(f, SPAN_KIND_CLIENT, CLIENT_PID);
	assert_string_equal(s->name, "kspan.test.Echo/Unary");
	assert_int_equal(s->start_unix_ns, T0);
	assert_int_equal(s->end_unix_ns, T0 + 3 * MS);
	assert_int_equal(int_attr(s, "http.response.status_code"), 200);
	assert_int_equal(int_attr(s, "rpc.grpc.status_code"), 5);
	assert_int_equal(s->status_code, SPAN_STATUS_ERROR); /* client: any non-OK */
	assert_int_equal(STAT_GET(&f->stats, h2_early_responses), 1);
	assert_int_equal(STAT_GET(&f->stats, h2_orphan_responses), 0);
	assert_int_equal(STAT_GET(&f->stats, h2_early_responses_expired), 0);
}

/* The request came first for stream 1, the response first for stream 3:
 * both spans are right and distinct. */
static void test_client_mixed_orders_on_one_connection(void **state)
{
	struct fixture *f = *state;
	struct wire r1 = {0}, r3 = {0}, a1 = {0}, a3 = {0};
	struct span *s1 = NULL, *s3 = NULL;

	add_preface(&r1);
	add_request(f, &r1, 1, NULL);
	add_request(f, &r3, 3, NULL);
	/* Encoded in the order they are read (HPACK state). */
	add_response(f, &a3, 3, "13");
	add_response(f, &a1, 1, "0");
	deliver(f, &f->client, true, &r1, T0, T0 + 1 * MS);
	deliver(f, &f->client, false, &a3, T0 + 5 * MS, T0 + 6 * MS);
	deliver(f, &f->client, true, &r3, T0 + 2 * MS, T0 + 7 * MS);
	deliver(f, &f->client, false, &a1, T0 + 8 * MS, T0 + 9 * MS);

	assert_int_equal(f->cap.count, 2);
	for (size_t i = 0; i < 2; i++) {
		struct span *s = f->cap.spans[i];
		if (int_attr(s, "rpc.grpc.status_code") == 0)
			s1 = s;
		else
			s3 = s;
	}
	assert_non_null(s1);
	assert_non_null(s3);
	assert_int_equal(s1->start_unix_ns, T0);
	assert_int_equal(s1->end_unix_ns, T0 + 9 * MS);
	assert_int_equal(s3->start_unix_ns, T0 + 2 * MS);
	assert_int_equal(s3->end_unix_ns, T0 + 6 * MS);
	assert_int_equal(int_attr(s3, "rpc.grpc.status_code"), 13);
	assert_int_equal(STAT_GET(&f->stats, h2_early_responses), 1);
}

/* The server reset the stream (RST_STREAM REFUSED_STREAM) before the
 * client's request event was processed: the span ends with the reset. */
static void test_client_reset_before_request(void **state)
{
	static const uint8_t refused[4] = {0, 0, 0, 7};
	struct fixture *f = *state;
	struct wire req = {0}, rst = {0};
	struct span *s;
	const struct attribute *type;

	add_preface(&req);
	add_request(f, &req, 1, NULL);
	put_frame(rst.b, &rst.len, sizeof(refused), HTTP2_FRAME_RST_STREAM, 0, 1, refused);
	deliver(f, &f->client, false, &rst, T0 + 1 * MS, T0 + 2 * MS);
	deliver(f, &f->client, true, &req, T0, T0 + 3 * MS);

	s = only_span_of_kind(f, SPAN_KIND_CLIENT, CLIENT_PID);
	assert_int_equal(s->start_unix_ns, T0);
	assert_int_equal(s->end_unix_ns, T0 + 2 * MS);
	assert_int_equal(s->status_code, SPAN_STATUS_ERROR);
	assert_string_equal(s->status_message, "stream reset (RST_STREAM REFUSED_STREAM)");
	type = attribute_list_find(&s->attrs, "error.type");
	assert_non_null(type);
	assert_string_equal(type->str, "rst_stream");
	assert_int_equal(STAT_GET(&f->stats, h2_streams_reset), 1);
	assert_int_equal(STAT_GET(&f->stats, http_unanswered_requests), 1);
}

static void test_early_response_without_request_is_counted(void **state)
{
	struct fixture *f = *state;
	struct wire resp = {0};

	add_response(f, &resp, 1, "0");
	deliver(f, &f->client, false, &resp, T0, T0 + 1 * MS);
	http2_assembler_tick(&f->a, T0 + 2 * MS);
	assert_int_equal(STAT_GET(&f->stats, h2_early_responses_expired), 0);
	http2_assembler_tick(&f->a, T0 + 1 * MS + 5000 * MS);
	assert_int_equal(f->cap.count, 0);
	assert_int_equal(STAT_GET(&f->stats, h2_early_responses), 1);
	assert_int_equal(STAT_GET(&f->stats, h2_early_responses_expired), 1);
}

/* A response for a stream at or below the last request seen is an orphan
 * (its request was not traced), not an early response. */
static void test_response_for_an_old_stream_is_an_orphan(void **state)
{
	struct fixture *f = *state;
	struct wire req = {0}, resp = {0};

	add_preface(&req);
	add_request(f, &req, 3, NULL);
	add_response(f, &resp, 1, "0");
	deliver(f, &f->client, true, &req, T0, T0 + 1 * MS);
	deliver(f, &f->client, false, &resp, T0 + 2 * MS, T0 + 3 * MS);
	/* Two header blocks: the head and the trailers. */
	assert_int_equal(STAT_GET(&f->stats, h2_orphan_responses), 2);
	assert_int_equal(STAT_GET(&f->stats, h2_early_responses), 0);
}

int main(void)
{
#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    TEST(test_client_response_before_request),
	    TEST(test_client_mixed_orders_on_one_connection),
	    TEST(test_client_reset_before_request),
	    TEST(test_early_response_without_request_is_counted),
	    TEST(test_response_for_an_old_stream_is_an_orphan),
	};
#undef TEST

	return cmocka_run_group_tests(tests, NULL, NULL);
}
