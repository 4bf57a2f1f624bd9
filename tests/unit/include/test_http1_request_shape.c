// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for include/http1_head_scan.h and http1_request_shape.h: where
 * kspan may insert its traceparent line, and the request's framing (the same
 * code the BPF entry hook runs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http1_head_scan.h"

static struct http1_head_scan scan(const char *text, size_t len)
{
	struct http1_head_scan s;

	http1_head_scan_run((const __u8 *)text, (__u32)len, &s);
	return s;
}

#define SCAN(lit) scan((lit), sizeof(lit) - 1)

static void test_whole_head(void **state)
{
	(void)state;
	struct http1_head_scan s = SCAN("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");

	assert_int_equal(s.line_end, 17);
	assert_int_equal(s.block_end, 28);
}

static void test_no_headers_at_all(void **state)
{
	(void)state;
	struct http1_head_scan s = SCAN("GET / HTTP/1.0\r\n\r\nbody");

	assert_int_equal(s.line_end, 16);
	assert_int_equal(s.block_end, 18);
}

static void test_body_bytes_after_block_are_not_looked_at(void **state)
{
	(void)state;
	struct http1_head_scan s = SCAN("POST / HTTP/1.1\r\nA: b\r\n\r\n\r\n\r\n");

	assert_int_equal(s.block_end, 25);
}

static void test_block_cut_by_the_write(void **state)
{
	(void)state;
	struct http1_head_scan s = SCAN("GET /a HTTP/1.1\r\nHost: x\r\n");

	assert_int_equal(s.line_end, 17);
	assert_int_equal(s.block_end, 0); /* unknown: no insertion */
}

static void test_request_line_cut(void **state)
{
	(void)state;
	struct http1_head_scan s = SCAN("GET /a HTTP/1.1");

	assert_int_equal(s.line_end, 0);
	assert_int_equal(s.block_end, 0);
}

static void test_bare_lf_request_line_is_left_alone(void **state)
{
	(void)state;
	struct http1_head_scan s = SCAN("GET /a HTTP/1.1\nHost: x\n\n");

	assert_int_equal(s.line_end, 0);
	assert_int_equal(s.block_end, 0);
}

static void test_block_beyond_scan_window(void **state)
{
	(void)state;
	char big[KSPAN_CTX_SCAN_MAX + 64];
	size_t n = 0;

	n += (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nX: ");
	memset(big + n, 'a', sizeof(big) - n);
	memcpy(big + sizeof(big) - 4, "\r\n\r\n", 4);
	struct http1_head_scan s = scan(big, sizeof(big));
	assert_int_equal(s.line_end, 16);
	assert_int_equal(s.block_end, 0);
}

static struct http1_request_frame frame(const char *text, size_t len, int *rc)
{
	struct http1_head_scan s;
	struct http1_request_frame f;

	http1_head_scan_run((const __u8 *)text, (__u32)len, &s);
	*rc = http1_request_frame_of_scan((const __u8 *)text, &s, &f);
	return f;
}

#define FRAME(lit, rc) frame((lit), sizeof(lit) - 1, (rc))

static void test_frame_no_body(void **state)
{
	(void)state;
	int rc;
	struct http1_request_frame f = FRAME("GET /a HTTP/1.1\r\nHost: x\r\n\r\n", &rc);

	assert_int_equal(rc, 0);
	assert_int_equal(f.head_len, 28);
	assert_int_equal(f.body, HTTP1_BODY_LENGTH);
	assert_int_equal(f.body_len, 0);
}

static void test_frame_content_length(void **state)
{
	(void)state;
	int rc;
	struct http1_request_frame f =
	    FRAME("POST /a HTTP/1.0\r\nHost: x\r\nContent-Length:  4096 \r\nA: b\r\n\r\nxx", &rc);

	assert_int_equal(rc, 0);
	assert_int_equal(f.head_len, 59);
	assert_int_equal(f.body, HTTP1_BODY_LENGTH);
	assert_int_equal(f.body_len, 4096);
}

static void test_frame_content_length_any_case(void **state)
{
	(void)state;
	int rc;
	struct http1_request_frame f = FRAME("PUT / HTTP/1.1\r\ncOnTeNt-LeNgTh: 0\r\n\r\n", &rc);

	assert_int_equal(rc, 0);
	assert_int_equal(f.body, HTTP1_BODY_LENGTH);
	assert_int_equal(f.body_len, 0);
}

static void test_frame_largest_length(void **state)
{
	(void)state;
	int rc;
	struct http1_request_frame f =
	    FRAME("PUT / HTTP/1.1\r\nContent-Length: 4294967295\r\n\r\n", &rc);

	assert_int_equal(f.body, HTTP1_BODY_LENGTH);
	assert_int_equal(f.body_len, 4294967295u);
	f = FRAME("PUT / HTTP/1.1\r\nContent-Length: 4294967296\r\n\r\n", &rc);
	assert_int_equal(f.body, HTTP1_BODY_UNFRAMED);
	f = FRAME("PUT / HTTP/1.1\r\nContent-Length: 00000000001\r\n\r\n", &rc);
	assert_int_equal(f.body, HTTP1_BODY_UNFRAMED); /* more than 10 digits */
}

static void test_frame_chunked_is_unframed(void **state)
{
	(void)state;
	int rc;
	struct http1_request_frame f =
	    FRAME("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", &rc);

	assert_int_equal(rc, 0);
	assert_int_equal(f.body, HTTP1_BODY_UNFRAMED);
}

static void test_frame_length_and_encoding_is_unframed(void **state)
{
	(void)state;
	int rc;
	struct http1_request_frame f = FRAME(
	    "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", &rc);

	assert_int_equal(f.body, HTTP1_BODY_UNFRAMED);
	f = FRAME("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n", &rc);
	assert_int_equal(f.body, HTTP1_BODY_UNFRAMED);
}

static void test_frame_two_lengths_are_unframed(void **state)
{
	(void)state;
	int rc;
	struct http1_request_frame f =
	    FRAME("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", &rc);

	assert_int_equal(f.body, HTTP1_BODY_UNFRAMED);
}

static void test_frame_bad_lengths_are_unframed(void **state)
{
	(void)state;
	int rc;
	struct http1_request_frame f =
	    FRAME("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", &rc);

	assert_int_equal(f.body, HTTP1_BODY_UNFRAMED);
	f = FRAME("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", &rc);
	assert_int_equal(f.body, HTTP1_BODY_UNFRAMED);
	f = FRAME("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", &rc);
	assert_int_equal(f.body, HTTP1_BODY_UNFRAMED);
	f = FRAME("POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", &rc);
	assert_int_equal(f.body, HTTP1_BODY_UNFRAMED);
}

static void test_frame_similar_names_are_not_framing(void **state)
{
	(void)state;
	int rc;
	struct http1_request_frame f = FRAME("GET / HTTP/1.1\r\nX-Content-Length: 7\r\n"
					     "Content-Lengths: 9\r\nTransfer-Encodings: x\r\n\r\n",
					     &rc);

	assert_int_equal(rc, 0);
	assert_int_equal(f.body, HTTP1_BODY_LENGTH);
	assert_int_equal(f.body_len, 0);
}

static void test_frame_field_in_body_is_not_looked_at(void **state)
{
	(void)state;
	int rc;
	struct http1_request_frame f =
	    FRAME("GET / HTTP/1.1\r\nHost: a\r\n\r\nContent-Length: 7\r\n\r\n", &rc);

	assert_int_equal(f.body, HTTP1_BODY_LENGTH);
	assert_int_equal(f.body_len, 0);
}

static void test_frame_only_http_1x(void **state)
{
	(void)state;
	int rc;

	FRAME("OPTIONS rtsp://a/b RTSP/1.0\r\nCSeq: 1\r\n\r\n", &rc);
	assert_int_equal(rc, -1);
	FRAME("GET / HTTP/2.0\r\nHost: a\r\n\r\n", &rc);
	assert_int_equal(rc, -1);
	FRAME("GET / HTTP/1.2\r\nHost: a\r\n\r\n", &rc);
	assert_int_equal(rc, -1);
	FRAME("GET / http/1.1\r\nHost: a\r\n\r\n", &rc);
	assert_int_equal(rc, -1);
	FRAME("GET /HTTP/1.1\r\nHost: a\r\n\r\n", &rc);
	assert_int_equal(rc, -1); /* no space before the version */
	FRAME("GET / HTTP/1.0\r\n\r\n", &rc);
	assert_int_equal(rc, 0);
}

static void test_frame_needs_the_whole_head(void **state)
{
	(void)state;
	int rc;

	FRAME("GET / HTTP/1.1\r\nHost: a\r\n", &rc);
	assert_int_equal(rc, -2);
	FRAME("GET / HTTP/1.1", &rc);
	assert_int_equal(rc, -2);
	FRAME("GET / RTSP/1.0\r\nHost: a\r\n", &rc);
	assert_int_equal(rc, -1); /* the request line is enough to say no */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_whole_head),
	    cmocka_unit_test(test_no_headers_at_all),
	    cmocka_unit_test(test_body_bytes_after_block_are_not_looked_at),
	    cmocka_unit_test(test_block_cut_by_the_write),
	    cmocka_unit_test(test_request_line_cut),
	    cmocka_unit_test(test_bare_lf_request_line_is_left_alone),
	    cmocka_unit_test(test_block_beyond_scan_window),
	    cmocka_unit_test(test_frame_no_body),
	    cmocka_unit_test(test_frame_content_length),
	    cmocka_unit_test(test_frame_content_length_any_case),
	    cmocka_unit_test(test_frame_largest_length),
	    cmocka_unit_test(test_frame_chunked_is_unframed),
	    cmocka_unit_test(test_frame_length_and_encoding_is_unframed),
	    cmocka_unit_test(test_frame_two_lengths_are_unframed),
	    cmocka_unit_test(test_frame_bad_lengths_are_unframed),
	    cmocka_unit_test(test_frame_similar_names_are_not_framing),
	    cmocka_unit_test(test_frame_field_in_body_is_not_looked_at),
	    cmocka_unit_test(test_frame_only_http_1x),
	    cmocka_unit_test(test_frame_needs_the_whole_head),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
