// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_http1_head_scan.c - the word-at-a-time head scan (http1_head_scan.h)
 * and the 8-characters-at-a-time traceparent decoding (w3c_traceparent.h,
 * kspan_words.h), compared with the byte-at-a-time code they replaced
 * (support/http1_head_oracle.h) on many heads: every combination of a set
 * of request lines and field lines, each shifted across the 8 byte
 * positions of a word and cut at every length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "support/http1_head_oracle.h"

#define TP_VALID "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static const char *const request_lines[] = {
    "GET / HTTP/1.1\r\n", "POST /upload?x=1 HTTP/1.0\r\n",
    "GET / HTTP/1.1\n",	  "\nGET / HTTP/1.1\r\n",
    "GET / HTTP/2.0\r\n", "GET /traceparent:x HTTP/1.1\r\n",
};

static const char *const field_lines[] = {
    "Host: example.com\r\n",
    "traceparent: " TP_VALID "\r\n",
    "TraceParent:\t" TP_VALID " \t\r\n",
    "traceparent: 01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x\r\n",
    "traceparent: 00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01\r\n",
    "traceparent: 00-00000000000000000000000000000000-00f067aa0ba902b7-01\r\n",
    "traceparent: ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n",
    "traceparent : x\r\n",
    "x-traceparent: y\r\n",
    "tracestate: a=1, b=2 \r\n",
    "TRACESTATE: k@v=x\r\n",
    "tracestate: =bad\r\n",
    " continued\r\n",
    "Content-Length: 12\r\n",
    "content-length:  7 \r\n",
    "Content-Length: 99999999999\r\n",
    "Transfer-Encoding: chunked\r\n",
    "transfer-encoding\r\n",
    "content-\rlength: 3\r\n",
    "X-Lf-Only: 1\n",
    "\rX\r\n",
    "\r\n",
    "\n",
};

#define N_REQUEST (sizeof(request_lines) / sizeof(request_lines[0]))
#define N_FIELDS  (sizeof(field_lines) / sizeof(field_lines[0]))

/* The head cut at every length, each compared with the oracle. */
static void assert_agrees_at_every_length(const char *head, size_t n)
{
	for (size_t len = 0; len <= n; len++) {
		const char *what = head_scan_differs_from_oracle((const __u8 *)head, (__u32)len);

		if (what)
			fail_msg("%s differs on %zu of %zu bytes of \"%.*s\"", what, len, n, (int)n,
				 head);
	}
}

/* Request line, pad (shifting the rest over a word), two field lines, the
 * blank line and a body that looks like fields. */
static void test_agrees_with_oracle_on_combinations(void **state)
{
	char head[512];

	(void)state;
	for (size_t r = 0; r < N_REQUEST; r++) {
		for (size_t a = 0; a < N_FIELDS; a++) {
			for (size_t b = 0; b < N_FIELDS; b++) {
				for (int pad = 0; pad < 8; pad += 3) {
					int n = snprintf(head, sizeof(head),
							 "%sX-Pad: %.*s\r\n%s%s\r\ntraceparent: "
							 "body\r\ncontent-length: 1\r\n",
							 request_lines[r], pad, "ppppppp",
							 field_lines[a], field_lines[b]);
					assert_true(n > 0 && (size_t)n < sizeof(head));
					assert_agrees_at_every_length(head, (size_t)n);
				}
			}
		}
	}
}

/* Every one-byte edit of a valid head: the scan and the decoder see each
 * byte where the oracle does. */
static void test_agrees_with_oracle_on_single_byte_edits(void **state)
{
	static const char base[] = "GET / HTTP/1.1\r\ntraceparent: " TP_VALID
				   "\r\ntracestate: a=1\r\nContent-Length: 3\r\n\r\nabc";
	static const __u8 edits[] = {0,	  '\r', '\n', ' ', '\t', '-',  ':',
				     'A', 'f',	'g',  '0', 0x80, 0x1a, 0x0d | 0x20};
	char head[sizeof(base)];

	(void)state;
	for (size_t i = 0; i < sizeof(base) - 1; i++) {
		for (size_t e = 0; e < sizeof(edits); e++) {
			memcpy(head, base, sizeof(base));
			head[i] = (char)edits[e];
			assert_agrees_at_every_length(head, sizeof(base) - 1);
		}
	}
}

static void test_finds_every_field(void **state)
{
	static const char head[] =
	    "GET /a HTTP/1.1\r\ntraceparent: " TP_VALID
	    "\r\nHost: h\r\ntracestate: k=v\r\nContent-Length: 5\r\n\r\nhello";
	struct http1_head_scan h;
	struct http1_request_frame f;
	__u32 off, len;

	(void)state;
	http1_head_scan_run((const __u8 *)head, sizeof(head) - 1, &h);
	assert_int_equal(h.line_end, 17);
	assert_int_equal(h.traceparent_line, 17);
	assert_int_equal(h.traceparent_lines, 1);
	assert_string_equal(head + h.tracestate_line, strstr(head, "tracestate"));
	assert_int_equal(h.framing_lines, 1);
	assert_int_equal(h.framing_which, HTTP1_FIELD_CONTENT_LENGTH);
	assert_int_equal(h.block_end, sizeof(head) - 1 - 5);
	assert_int_equal(h.incomplete, 0);
	assert_int_equal(
	    http1_head_field_value((const __u8 *)head, &h, h.traceparent_line, 11, &off, &len), 0);
	assert_int_equal(len, W3C_TRACEPARENT_LEN);
	assert_memory_equal(head + off, TP_VALID, len);
	assert_int_equal(http1_request_frame_of_scan((const __u8 *)head, &h, &f), 0);
	assert_int_equal(f.body, HTTP1_BODY_LENGTH);
	assert_int_equal(f.body_len, 5);
}

/* More lines than the scan's steps: it says so, and decides nothing from
 * what it did not see (no block end: no insertion). */
static void test_too_many_lines_is_incomplete(void **state)
{
	char head[2 * KSPAN_CTX_SCAN_MAX];
	size_t n = 0;
	struct http1_head_scan h;

	(void)state;
	n += (size_t)snprintf(head, sizeof(head), "GET / HTTP/1.1\r\n");
	/* 3-byte lines: every word holds LFs, so the steps go to lines only. */
	for (int i = 0; i < HTTP1_HEAD_SCAN_STEPS + 10; i++) {
		memcpy(head + n, "a:\n", 3);
		n += 3;
	}
	memcpy(head + n, "\r\n", 2);
	n += 2;
	http1_head_scan_run((const __u8 *)head, (__u32)n, &h);
	assert_int_equal(h.incomplete, 1);
	assert_int_equal(h.block_end, 0);
	/* HTTP1_HEAD_SCAN_LINES lines fit. */
	n = (size_t)snprintf(head, sizeof(head), "GET / HTTP/1.1\r\n");
	for (int i = 0; i < HTTP1_HEAD_SCAN_LINES - 2; i++) {
		memcpy(head + n, "a:\r\n", 4);
		n += 4;
	}
	memcpy(head + n, "\r\n", 2);
	n += 2;
	http1_head_scan_run((const __u8 *)head, (__u32)n, &h);
	assert_int_equal(h.incomplete, 0);
	assert_int_equal(h.block_end, n);
}

/* The word decoder against the byte decoder, for every byte value at every
 * position of a valid id. */
static void test_hex_decode_matches_oracle(void **state)
{
	static const char base[] = TP_VALID;
	char v[sizeof(base)];

	(void)state;
	for (size_t i = 0; i < W3C_TRACEPARENT_LEN; i++) {
		for (int c = 0; c < 256; c++) {
			struct w3c_trace_context a = {0}, b = {0};
			int ra, rb;

			memcpy(v, base, sizeof(base));
			v[i] = (char)c;
			ra = oracle_traceparent_parse((const __u8 *)v, 0, W3C_TRACEPARENT_LEN, &a);
			rb = w3c_traceparent_parse((const __u8 *)v, 0, W3C_TRACEPARENT_LEN, &b);
			assert_int_equal(ra, rb);
			if (ra == 0)
				assert_memory_equal(&a, &b, sizeof(a));
		}
	}
}

static void test_word_helpers(void **state)
{
	__u64 bad = 0;

	(void)state;
	assert_int_equal(kspan_hex8_decode(0x3736353433323130ull /* "01234567" */, &bad),
			 0x67452301u);
	assert_int_equal(bad, 0);
	kspan_hex8_decode(0x3736353433323140ull /* "@1234567" */, &bad);
	assert_true(bad != 0);
	for (int n = 0; n <= 9; n++)
		assert_int_equal(kspan_first_bytes((__u64)n),
				 n >= 8 ? ~0ull : (1ull << (8 * n)) - 1);
	for (int k = 0; k < 8; k++)
		assert_int_equal(
		    kspan_lowest_marked_byte(0x80ull << (8 * k) | 0x8000000000000000ull), k);
	assert_int_equal(kspan_bytes_equal(0x0a0b0a0c0d0a0a0bull, '\n'), 0x8000800000808000ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_agrees_with_oracle_on_combinations),
	    cmocka_unit_test(test_agrees_with_oracle_on_single_byte_edits),
	    cmocka_unit_test(test_finds_every_field),
	    cmocka_unit_test(test_too_many_lines_is_incomplete),
	    cmocka_unit_test(test_hex_decode_matches_oracle),
	    cmocka_unit_test(test_word_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
