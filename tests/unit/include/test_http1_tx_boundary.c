// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for include/http1_tx_boundary.h: where the requests an HTTP/1
 * client writes begin, write by write (the code the BPF write hooks run). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http1_head_scan.h"
#include "http1_tx_boundary.h"

/* What a write's entry sees in `text`, as the BPF hook computes it. */
static struct h1_tx_write seen(const char *text, int in_sync)
{
	struct http1_head_scan head;
	struct h1_tx_write w = {.in_sync = (__u8)in_sync};
	size_t n = strlen(text);

	w.request_start = n >= 4 && (memcmp(text, "GET ", 4) == 0 || memcmp(text, "POST", 4) == 0);
	if (w.request_start) {
		http1_head_scan_run((const __u8 *)text, (__u32)n, &head);
		w.frame_rc = (__s8)http1_request_frame_of_scan((const __u8 *)text, &head, &w.frame);
	}
	return w;
}

/* One write of `text` (its whole length moves): whether it may be edited,
 * and why the connection stopped (H1_TX_STOP_*). */
static int write_text(struct h1_tx_boundary *b, const char *text, int *why)
{
	struct h1_tx_write w = seen(text, 1);
	int insert, stop;

	stop = h1_tx_enter(b, &w, &insert);
	*why = stop ? stop : h1_tx_exit(b, strlen(text), b->seq + (__u32)strlen(text));
	return insert;
}

#define GET  "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
#define POST "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 28\r\n\r\n"
#define FAKE "GET /x HTTP/1.1\r\nHost: a\r\n\r\n" /* 28 bytes: POST's body */

static void test_keepalive_requests_each_start(void **state)
{
	(void)state;
	struct h1_tx_boundary b = {0};
	int why;

	for (int i = 0; i < 3; i++) {
		assert_int_equal(write_text(&b, GET, &why), 1);
		assert_int_equal(why, H1_TX_STOP_NONE);
		assert_int_equal(b.state, H1_TX_AT_START);
	}
}

static void test_body_that_looks_like_a_request_is_a_body(void **state)
{
	(void)state;
	struct h1_tx_boundary b = {0};
	int why;

	for (int i = 0; i < 3; i++) {
		assert_int_equal(write_text(&b, POST, &why), 1);
		assert_int_equal(b.state, H1_TX_IN_MSG);
		assert_int_equal(b.left, 28);
		assert_int_equal(write_text(&b, FAKE, &why), 0);
		assert_int_equal(why, H1_TX_STOP_NONE);
		assert_int_equal(b.state, H1_TX_AT_START);
	}
}

static void test_head_and_body_in_one_write(void **state)
{
	(void)state;
	struct h1_tx_boundary b = {0};
	int why;

	assert_int_equal(write_text(&b, POST FAKE, &why), 1);
	assert_int_equal(why, H1_TX_STOP_NONE);
	assert_int_equal(b.state, H1_TX_AT_START);
	assert_int_equal(write_text(&b, GET, &why), 1);
}

static void test_body_in_pieces(void **state)
{
	(void)state;
	struct h1_tx_boundary b = {0};
	int why;

	write_text(&b, POST, &why);
	assert_int_equal(write_text(&b, "GET /x HTTP/1.1\r\n", &why), 0);
	assert_int_equal(b.left, 11);
	assert_int_equal(write_text(&b, "Host: a\r\n", &why), 0);
	assert_int_equal(b.left, 2);
	assert_int_equal(write_text(&b, "\r\n", &why), 0);
	assert_int_equal(b.state, H1_TX_AT_START);
	assert_int_equal(why, H1_TX_STOP_NONE);
}

static void test_chunked_body_stops_after_its_head(void **state)
{
	(void)state;
	struct h1_tx_boundary b = {0};
	struct h1_tx_write w = seen("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 1);
	int insert;

	assert_int_equal(h1_tx_enter(&b, &w, &insert), H1_TX_STOP_UNFRAMED);
	assert_int_equal(insert, 1); /* its head starts a real request */
	assert_int_equal(b.state, H1_TX_STOPPED);
	w = seen(GET, 1);
	assert_int_equal(h1_tx_enter(&b, &w, &insert), H1_TX_STOP_NONE); /* counted once */
	assert_int_equal(insert, 0);
	assert_int_equal(h1_tx_exit(&b, 28, 0), H1_TX_STOP_NONE);
}

static void test_two_requests_in_one_write_overrun(void **state)
{
	(void)state;
	struct h1_tx_boundary b = {0};
	int why;

	assert_int_equal(write_text(&b, GET GET, &why), 1);
	assert_int_equal(why, H1_TX_STOP_OVERRUN);
	assert_int_equal(write_text(&b, GET, &why), 0);
}

static void test_unseen_bytes_stop(void **state)
{
	(void)state;
	struct h1_tx_boundary b = {0};
	struct h1_tx_write w = seen(GET, 0);
	int insert, why;

	write_text(&b, GET, &why);
	assert_int_equal(h1_tx_enter(&b, &w, &insert), H1_TX_STOP_UNFOLLOWED);
	assert_int_equal(insert, 0);
	/* A write whose entry was not judged (sendfile at a boundary). */
	b = (struct h1_tx_boundary){0};
	write_text(&b, GET, &why);
	assert_int_equal(h1_tx_exit(&b, 10, 0), H1_TX_STOP_UNFOLLOWED);
}

static void test_first_write_not_followed(void **state)
{
	(void)state;
	struct h1_tx_boundary b = {0};
	struct h1_tx_write w = seen(GET, 0);
	int insert;

	assert_int_equal(h1_tx_enter(&b, &w, &insert), H1_TX_STOP_UNFOLLOWED);
	assert_int_equal(insert, 0);
}

static void test_other_protocols_at_a_boundary(void **state)
{
	(void)state;
	struct h1_tx_boundary b = {0};
	int why;

	assert_int_equal(write_text(&b, "\x16\x03\x01\x02\x00", &why), 0); /* TLS */
	assert_int_equal(why, H1_TX_STOP_NOT_REQUEST);
	b = (struct h1_tx_boundary){0};
	assert_int_equal(write_text(&b, "GET rtsp://a/b RTSP/1.0\r\nCSeq: 1\r\n\r\n", &why), 0);
	assert_int_equal(why, H1_TX_STOP_NOT_REQUEST);
	b = (struct h1_tx_boundary){0};
	write_text(&b, GET, &why);
	assert_int_equal(write_text(&b, "\x81\x05hello", &why), 0); /* after an upgrade */
	assert_int_equal(why, H1_TX_STOP_NOT_REQUEST);
}

static void test_head_cut_by_the_write(void **state)
{
	(void)state;
	struct h1_tx_boundary b = {0};
	int why;

	assert_int_equal(write_text(&b, "GET /a HTTP/1.1\r\nHost:", &why), 0);
	assert_int_equal(why, H1_TX_STOP_HEAD_CUT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keepalive_requests_each_start),
	    cmocka_unit_test(test_body_that_looks_like_a_request_is_a_body),
	    cmocka_unit_test(test_head_and_body_in_one_write),
	    cmocka_unit_test(test_body_in_pieces),
	    cmocka_unit_test(test_chunked_body_stops_after_its_head),
	    cmocka_unit_test(test_two_requests_in_one_write_overrun),
	    cmocka_unit_test(test_unseen_bytes_stop),
	    cmocka_unit_test(test_first_write_not_followed),
	    cmocka_unit_test(test_other_protocols_at_a_boundary),
	    cmocka_unit_test(test_head_cut_by_the_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
