// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for include/http1_request_shape.h: where kspan may insert its
 * traceparent line (the same code the BPF entry hook runs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http1_request_shape.h"

static struct http1_request_shape scan(const char *text, size_t len)
{
	struct http1_request_shape s;

	http1_request_shape_scan((const __u8 *)text, (__u32)len, &s);
	return s;
}

#define SCAN(lit) scan((lit), sizeof(lit) - 1)

static void test_whole_head(void **state)
{
	(void)state;
	struct http1_request_shape s = SCAN("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");

	assert_int_equal(s.line_end, 17);
	assert_int_equal(s.block_end, 28);
}

static void test_no_headers_at_all(void **state)
{
	(void)state;
	struct http1_request_shape s = SCAN("GET / HTTP/1.0\r\n\r\nbody");

	assert_int_equal(s.line_end, 16);
	assert_int_equal(s.block_end, 18);
}

static void test_body_bytes_after_block_are_not_looked_at(void **state)
{
	(void)state;
	struct http1_request_shape s = SCAN("POST / HTTP/1.1\r\nA: b\r\n\r\n\r\n\r\n");

	assert_int_equal(s.block_end, 25);
}

static void test_block_cut_by_the_write(void **state)
{
	(void)state;
	struct http1_request_shape s = SCAN("GET /a HTTP/1.1\r\nHost: x\r\n");

	assert_int_equal(s.line_end, 17);
	assert_int_equal(s.block_end, 0); /* unknown: no insertion */
}

static void test_request_line_cut(void **state)
{
	(void)state;
	struct http1_request_shape s = SCAN("GET /a HTTP/1.1");

	assert_int_equal(s.line_end, 0);
	assert_int_equal(s.block_end, 0);
}

static void test_bare_lf_request_line_is_left_alone(void **state)
{
	(void)state;
	struct http1_request_shape s = SCAN("GET /a HTTP/1.1\nHost: x\n\n");

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
	struct http1_request_shape s = scan(big, sizeof(big));
	assert_int_equal(s.line_end, 16);
	assert_int_equal(s.block_end, 0);
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
