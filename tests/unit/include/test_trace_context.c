// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_trace_context.c - the decision code the BPF programs share with the
 * agent: W3C Trace Context `traceparent` parsing (w3c_traceparent.h), header
 * lookup, and HTTP/1.x message start detection (http1_detect.h).
 *
 * https://www.w3.org/TR/trace-context/ (Level 1), section 3.2 for the
 * traceparent fields and section 4.3 for handling versions above 00.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http1_detect.h"
#include "http1_head_scan.h"
#include "w3c_traceparent.h"

#define TRACE_ID  "4bf92f3577b34da6a3ce929d0e0e4736"
#define PARENT_ID "00f067aa0ba902b7"
#define VALID_00  "00-" TRACE_ID "-" PARENT_ID "-01"

static const __u8 *bytes(const char *s)
{
	return (const __u8 *)s;
}

static int parse(const char *value, struct w3c_trace_context *tc)
{
	return w3c_traceparent_parse(bytes(value), 0, (__u32)strlen(value), tc);
}

static void assert_invalid(const char *value)
{
	struct w3c_trace_context tc;

	if (parse(value, &tc) != -1)
		fail_msg("accepted invalid traceparent \"%s\"", value);
}

/* Copies VALID_00 with `c` at position `at`. */
static const char *valid_with(char *buf, size_t at, char c)
{
	strcpy(buf, VALID_00);
	buf[at] = c;
	return buf;
}

/* --- traceparent ------------------------------------------------------------ */

static void test_traceparent_valid_version_00(void **state)
{
	static const __u8 trace_id[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
					  0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
	static const __u8 parent_id[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
	struct w3c_trace_context tc;

	(void)state;
	assert_int_equal(strlen(VALID_00), W3C_TRACEPARENT_LEN);
	memset(&tc, 0xaa, sizeof(tc));
	assert_int_equal(parse(VALID_00, &tc), 0);
	assert_int_equal(tc.version, 0);
	assert_memory_equal(tc.trace_id, trace_id, sizeof(trace_id));
	assert_memory_equal(tc.parent_id, parent_id, sizeof(parent_id));
	assert_int_equal(tc.trace_flags, 0x01);

	assert_int_equal(parse("00-" TRACE_ID "-" PARENT_ID "-00", &tc), 0);
	assert_int_equal(tc.trace_flags, 0x00);
	/* Flags bits other than "sampled" are kept, not rejected. */
	assert_int_equal(parse("00-" TRACE_ID "-" PARENT_ID "-ff", &tc), 0);
	assert_int_equal(tc.trace_flags, 0xff);
}

/* The value may sit anywhere in a buffer (the kernel parses in place). */
static void test_traceparent_at_an_offset(void **state)
{
	const char *buf = "traceparent: " VALID_00 "\r\n";
	struct w3c_trace_context tc;

	(void)state;
	assert_int_equal(w3c_traceparent_parse(bytes(buf), 13, W3C_TRACEPARENT_LEN, &tc), 0);
	assert_int_equal(tc.trace_flags, 1);
	assert_int_equal(w3c_traceparent_parse(bytes(buf), 12, W3C_TRACEPARENT_LEN, &tc), -1);
}

/* Section 3.2.2: HEXDIGLC, lowercase only. */
static void test_traceparent_uppercase_hex_invalid(void **state)
{
	char buf[64];

	(void)state;
	assert_invalid("00-4BF92F3577B34DA6A3CE929D0E0E4736-" PARENT_ID "-01");
	assert_invalid("00-" TRACE_ID "-00F067AA0BA902B7-01");
	assert_invalid(valid_with(buf, 10, 'A'));
	assert_invalid(valid_with(buf, 40, 'B'));
	assert_invalid(valid_with(buf, 54, 'F'));
	assert_invalid("0A-" TRACE_ID "-" PARENT_ID "-01");
}

static void test_traceparent_version_ff_invalid(void **state)
{
	(void)state;
	assert_invalid("ff-" TRACE_ID "-" PARENT_ID "-01");
	assert_invalid("ff-" TRACE_ID "-" PARENT_ID "-01-extra");
}

static void test_traceparent_zero_ids_invalid(void **state)
{
	struct w3c_trace_context tc;

	(void)state;
	assert_invalid("00-00000000000000000000000000000000-" PARENT_ID "-01");
	assert_invalid("00-" TRACE_ID "-0000000000000000-01");
	/* One non-zero byte anywhere is enough. */
	assert_int_equal(parse("00-00000000000000000000000000000001-0000000000000100-01", &tc), 0);
}

/* Version 00 is exactly 55 characters. */
static void test_traceparent_wrong_length_for_version_00(void **state)
{
	char buf[128];

	(void)state;
	assert_invalid("00-" TRACE_ID "-" PARENT_ID "-0");
	assert_invalid("00-" TRACE_ID "-" PARENT_ID "-01-");
	assert_invalid("00-" TRACE_ID "-" PARENT_ID "-01-what-the-future-will-not-be-like");
	assert_invalid("00-" TRACE_ID "-" PARENT_ID "-011");
	assert_invalid("00-" TRACE_ID "0-" PARENT_ID "-01");
	assert_invalid("00-" TRACE_ID "-" PARENT_ID "0-01");
	assert_invalid("");
	strcpy(buf, VALID_00);
	assert_int_equal(w3c_traceparent_parse(bytes(buf), 0, W3C_TRACEPARENT_LEN - 1,
					       &(struct w3c_trace_context){0}),
			 -1);
}

/* Section 4.3: a higher version is parsed as 00 over its first 55
 * characters, and may go on only after a '-'. */
static void test_traceparent_future_versions(void **state)
{
	struct w3c_trace_context tc;

	(void)state;
	assert_int_equal(parse("cc-" TRACE_ID "-" PARENT_ID "-01-xyz", &tc), 0);
	assert_int_equal(tc.version, 0xcc);
	assert_int_equal(tc.trace_flags, 0x01);
	assert_int_equal(parse("01-" TRACE_ID "-" PARENT_ID "-00", &tc), 0);
	assert_int_equal(tc.version, 0x01);
	assert_invalid("cc-" TRACE_ID "-" PARENT_ID "-01xyz");
	assert_invalid("cc-" TRACE_ID "-" PARENT_ID "-01.xyz");
	assert_invalid("cc-" TRACE_ID "-" PARENT_ID "-0");
}

static void test_traceparent_bad_separators(void **state)
{
	static const size_t dashes[] = {2, 35, 52};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(dashes) / sizeof(dashes[0]); i++) {
		assert_invalid(valid_with(buf, dashes[i], '_'));
		assert_invalid(valid_with(buf, dashes[i], ' '));
		assert_invalid(valid_with(buf, dashes[i], '0'));
	}
	assert_invalid("00_" TRACE_ID "_" PARENT_ID "_01");
}

static void test_traceparent_non_hex_digits(void **state)
{
	char buf[64];

	(void)state;
	assert_invalid("00-" TRACE_ID "-" PARENT_ID "-0g");
	assert_invalid("00-" TRACE_ID "-" PARENT_ID "-zz");
	assert_invalid("00-" TRACE_ID "-" PARENT_ID "- 1");
	assert_invalid("0x-" TRACE_ID "-" PARENT_ID "-01");
	assert_invalid("g0-" TRACE_ID "-" PARENT_ID "-01");
	assert_invalid(valid_with(buf, 3, 'g'));
	assert_invalid(valid_with(buf, 34, '-'));
	assert_invalid(valid_with(buf, 36, 'x'));
	assert_invalid(valid_with(buf, 51, '.'));
}

static void test_byte_helpers(void **state)
{
	(void)state;
	assert_int_equal(kspan_ascii_lower('A'), 'a');
	assert_int_equal(kspan_ascii_lower('Z'), 'z');
	assert_int_equal(kspan_ascii_lower('a'), 'a');
	assert_int_equal(kspan_ascii_lower('@'), '@');
	assert_int_equal(kspan_ascii_lower('['), '[');
	assert_int_equal(kspan_ascii_lower(0xc1), 0xc1);
	assert_int_equal(kspan_lower_hex_value('0'), 0);
	assert_int_equal(kspan_lower_hex_value('9'), 9);
	assert_int_equal(kspan_lower_hex_value('a'), 10);
	assert_int_equal(kspan_lower_hex_value('f'), 15);
	assert_int_equal(kspan_lower_hex_value('A'), -1);
	assert_int_equal(kspan_lower_hex_value('g'), -1);
	assert_int_equal(kspan_lower_hex_value('/'), -1);
	assert_int_equal(kspan_lower_hex_value(':'), -1);
	/* The either-case decoder and the encoder digit it inverts. */
	for (int v = 0; v < 16; v++)
		assert_int_equal(kspan_hex_value((__u8)kspan_hex_digit((__u8)v)), v);
	assert_int_equal(kspan_hex_value('A'), 10);
	assert_int_equal(kspan_hex_value('F'), 15);
	assert_int_equal(kspan_hex_value('G'), -1);
	assert_int_equal(kspan_hex_value('@'), -1);
	assert_int_equal(kspan_hex_value('`'), -1);
}

/* --- header lookup ------------------------------------------------------------ */

/* The lookup the BPF programs make: the head scan's traceparent or first
 * tracestate line over buf[0..min(len, limit)), then its value. */
static int find_header(const __u8 *buf, __u32 len, __u32 limit, const char *name, __u32 name_len,
		       __u32 *off, __u32 *value_len)
{
	struct http1_head_scan h;
	__u32 line = 0;

	http1_head_scan_run(buf, len < limit ? len : limit, &h);
	if (name_len == 11 && memcmp(name, "traceparent", 11) == 0)
		line = h.traceparent_line;
	else if (name_len == 10 && memcmp(name, "tracestate", 10) == 0)
		line = h.tracestate_line;
	else
		fail_msg("the head scan looks for traceparent and tracestate only, not %s", name);
	if (!line)
		return -1;
	return http1_head_field_value(buf, &h, line, name_len, off, value_len);
}

/* Looks `name` up in the whole of `block`; returns the value or NULL. */
static const char *find(const char *block, const char *name, char *out, size_t out_size)
{
	__u32 off = 0, len = 0;
	__u32 block_len = (__u32)strlen(block);

	if (find_header(bytes(block), block_len, block_len, name, (__u32)strlen(name), &off,
			&len) != 0)
		return NULL;
	assert_true(off + len <= block_len);
	assert_true(len < out_size);
	memcpy(out, block + off, len);
	out[len] = '\0';
	return out;
}

static void assert_found(const char *block, const char *name, const char *value)
{
	char out[256];
	const char *got = find(block, name, out, sizeof(out));

	if (!got)
		fail_msg("%s not found in \"%s\"", name, block);
	assert_string_equal(got, value);
}

static void assert_not_found(const char *block, const char *name)
{
	char out[256];
	const char *got = find(block, name, out, sizeof(out));

	if (got)
		fail_msg("%s found as \"%s\" in \"%s\"", name, got, block);
}

static void test_find_header_case_insensitive_and_trimmed(void **state)
{
	(void)state;
	assert_found("GET / HTTP/1.1\r\nHost: x\r\nTraceParent:  value  \r\n\r\n", "traceparent",
		     "value");
	assert_found("GET / HTTP/1.1\r\nTRACEPARENT:\t" VALID_00 "\t\r\n\r\n", "traceparent",
		     VALID_00);
	assert_found("GET / HTTP/1.1\r\ntraceparent:" VALID_00 "\r\n\r\n", "traceparent", VALID_00);
	assert_found("GET / HTTP/1.1\r\ntraceparent: a\r\ntracestate: k=v, l=w \r\n\r\n",
		     "tracestate", "k=v, l=w");
	assert_found("GET / HTTP/1.1\r\ntraceparent: a b c\r\n\r\n", "traceparent", "a b c");
	assert_found("GET / HTTP/1.1\r\ntraceparent:\r\n\r\n", "traceparent", "");
	/* The first of two lines wins. */
	assert_found("GET / HTTP/1.1\r\ntraceparent: one\r\ntraceparent: two\r\n\r\n",
		     "traceparent", "one");
	/* Bare LF line ends (RFC 9112 section 2.2). */
	assert_found("GET / HTTP/1.1\ntraceparent: lf\n\n", "traceparent", "lf");
}

static void test_find_header_only_at_line_starts(void **state)
{
	(void)state;
	assert_not_found("GET /?traceparent: x HTTP/1.1\r\n\r\n", "traceparent");
	assert_not_found("GET / HTTP/1.1\r\nX-Traceparent: x\r\n\r\n", "traceparent");
	assert_not_found("GET / HTTP/1.1\r\nX-Foo: a traceparent: x\r\n\r\n", "traceparent");
	assert_not_found("traceparent: x\r\n\r\n", "traceparent");
	/* The name must be followed by ':' directly. */
	assert_not_found("GET / HTTP/1.1\r\ntraceparentx: x\r\n\r\n", "traceparent");
	assert_not_found("GET / HTTP/1.1\r\ntraceparent : x\r\n\r\n", "traceparent");
	assert_not_found("GET / HTTP/1.1\r\ntracestate: x\r\n\r\n", "traceparent");
}

static void test_find_header_stops_at_blank_line(void **state)
{
	(void)state;
	assert_not_found("POST / HTTP/1.1\r\nHost: h\r\n\r\ntraceparent: in-body\r\n",
			 "traceparent");
	assert_not_found("POST / HTTP/1.1\nHost: h\n\ntraceparent: in-body\n", "traceparent");
	assert_not_found("POST / HTTP/1.1\r\n\r\ntraceparent: in-body\r\n", "traceparent");
}

static void test_find_header_cut_by_the_buffer_end(void **state)
{
	const char *block = "GET / HTTP/1.1\r\ntraceparent: " VALID_00 "\r\n\r\n";
	const char *cut_value = strstr(block, "-01\r\n");
	__u32 off = 0, len = 0, block_len = (__u32)strlen(block);

	(void)state;
	assert_not_found("GET / HTTP/1.1\r\ntraceparent: 00-abc", "traceparent");
	assert_not_found("GET / HTTP/1.1\r\ntraceparent:", "traceparent");
	assert_not_found("GET / HTTP/1.1\r\ntracepar", "traceparent");
	/* The same block, cut by `len` and then by `limit`. */
	assert_int_equal(find_header(bytes(block), (__u32)(cut_value - block), block_len,
				     "traceparent", 11, &off, &len),
			 -1);
	assert_int_equal(find_header(bytes(block), block_len, (__u32)(cut_value - block),
				     "traceparent", 11, &off, &len),
			 -1);
	assert_int_equal(
	    find_header(bytes(block), block_len, block_len, "traceparent", 11, &off, &len), 0);
	assert_int_equal(len, W3C_TRACEPARENT_LEN);
	assert_int_equal(
	    w3c_traceparent_parse(bytes(block), off, len, &(struct w3c_trace_context){0}), 0);
}

/* The kernel looks no further than KSPAN_CTX_SCAN_MAX bytes, whatever the
 * caller's limit. */
static void test_find_header_scan_limit(void **state)
{
	char block[KSPAN_CTX_SCAN_MAX + 256];
	const char *start = "GET / HTTP/1.1\r\nX-Pad: ";
	const char *tail = "\r\ntraceparent: late\r\n\r\n";
	size_t pad_end = KSPAN_CTX_SCAN_MAX - 10;
	__u32 off = 0, len = 0, block_len;

	(void)state;
	memset(block, 'p', sizeof(block));
	memcpy(block, start, strlen(start));
	memcpy(block + pad_end, tail, strlen(tail) + 1);
	block_len = (__u32)strlen(block);
	assert_int_equal(
	    find_header(bytes(block), block_len, block_len, "traceparent", 11, &off, &len), -1);
	/* Moved inside the window, it is found. */
	pad_end = KSPAN_CTX_SCAN_MAX - 200;
	memcpy(block + pad_end, tail, strlen(tail) + 1);
	block_len = (__u32)strlen(block);
	assert_int_equal(
	    find_header(bytes(block), block_len, block_len, "traceparent", 11, &off, &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(block + off, "late", 4);
}

/* --- message start detection ------------------------------------------------------ */

static __u32 method_len(const char *s)
{
	return http1_request_method_len(bytes(s), 0, (__u32)strlen(s));
}

static int response_start(const char *s)
{
	return http1_is_response_start(bytes(s), 0, (__u32)strlen(s));
}

static void test_request_method_len_all_methods(void **state)
{
	(void)state;
	assert_int_equal(method_len("GET / HTTP/1.1\r\n"), 4);
	assert_int_equal(method_len("POST /submit HTTP/1.1\r\n"), 5);
	assert_int_equal(method_len("PUT /x HTTP/1.1\r\n"), 4);
	assert_int_equal(method_len("PATCH /x HTTP/1.1\r\n"), 6);
	assert_int_equal(method_len("HEAD / HTTP/1.1\r\n"), 5);
	assert_int_equal(method_len("DELETE /x HTTP/1.1\r\n"), 7);
	assert_int_equal(method_len("OPTIONS * HTTP/1.1\r\n"), 8);
	assert_int_equal(method_len("OPTIONS /x HTTP/1.1\r\n"), 8);
	assert_int_equal(method_len("CONNECT example.com:443 HTTP/1.1\r\n"), 8);
	assert_int_equal(method_len("TRACE / HTTP/1.1\r\n"), 6);
	/* Absolute form, as sent to proxies. */
	assert_int_equal(method_len("GET http://example.com/ HTTP/1.1\r\n"), 4);
	/* HTTP1_DETECT_MIN bytes are enough. */
	assert_int_equal(method_len("GET / HTT"), 4);
	assert_int_equal(http1_request_method_len(bytes("xxGET / HTTP/1.1"), 2, 16), 4);
}

static void test_request_method_len_near_misses(void **state)
{
	static const char *const misses[] = {
	    "GETX / HTTP/1.1\r\n",
	    "get / HTTP/1.1\r\n",
	    "GET  / HTTP/1.1\r\n",
	    "GET\t/ HTTP/1.1\r\n",
	    "POST x HTTP/1.1\r\n",
	    "PRI * HTTP/2.0\r\n\r\n",
	    "HTTP/1.1 200 OK\r\n",
	    "PROPFIND / HTTP/1.1\r\n",
	    "DELETEX /x HTTP/1.1",
	    "OPTION * HTTP/1.1\r\n",
	    "TRACE* HTTP/1.1\r\n",
	    "\x16\x03\x01\x02\x00\x01\x00\x01\xfc",
	    "HEAD",
	    "GET /",
	    "GET / HT",
	    "",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(misses) / sizeof(misses[0]); i++) {
		if (method_len(misses[i]) != 0)
			fail_msg("\"%s\" taken for a request start", misses[i]);
	}
	/* A buffer shorter than it claims to be is never read past `len`. */
	assert_int_equal(http1_request_method_len(bytes("GET / HTTP/1.1"), 0, 8), 0);
	assert_int_equal(http1_request_method_len(bytes("xGET / HTTP/1.1"), 1, 9), 0);
}

static void test_response_start(void **state)
{
	(void)state;
	assert_true(response_start("HTTP/1.1 200 OK\r\n"));
	assert_true(response_start("HTTP/1.0 404 Not Found\r\n"));
	assert_true(response_start("HTTP/1.1 100 Continue\r\n"));
	assert_true(response_start("HTTP/1.1 101 Switching Protocols\r\n"));
	assert_true(response_start("HTTP/1.1 503 Service Unavailable\r\n"));
	assert_true(response_start("HTTP/1.1 204"));
	assert_true(http1_is_response_start(bytes("..HTTP/1.1 200 OK"), 2, 17));
}

static void test_response_start_near_misses(void **state)
{
	static const char *const misses[] = {
	    "HTTP/2.0 200 OK\r\n",
	    "HTTP/1.1 999 Nope\r\n",
	    "HTTP/1.1 099 Low\r\n",
	    "HTTP/1.2 200 OK\r\n",
	    "HTTP/1.1  200 OK\r\n",
	    "http/1.1 200 OK\r\n",
	    "HTTP/1.1 20",
	    "HTTP/1.1 2xx OK\r\n",
	    "HTTP/1.1 20 OK\r\n",
	    "HTTP/1.1 600 Big\r\n",
	    "HTTP/1.1\t200 OK\r\n",
	    "GET / HTTP/1.1\r\n",
	    "HTTP/1.1",
	    "",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(misses) / sizeof(misses[0]); i++) {
		if (response_start(misses[i]))
			fail_msg("\"%s\" taken for a response start", misses[i]);
	}
	assert_false(http1_is_response_start(bytes("HTTP/1.1 200 OK"), 0, 11));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_traceparent_valid_version_00),
	    cmocka_unit_test(test_traceparent_at_an_offset),
	    cmocka_unit_test(test_traceparent_uppercase_hex_invalid),
	    cmocka_unit_test(test_traceparent_version_ff_invalid),
	    cmocka_unit_test(test_traceparent_zero_ids_invalid),
	    cmocka_unit_test(test_traceparent_wrong_length_for_version_00),
	    cmocka_unit_test(test_traceparent_future_versions),
	    cmocka_unit_test(test_traceparent_bad_separators),
	    cmocka_unit_test(test_traceparent_non_hex_digits),
	    cmocka_unit_test(test_byte_helpers),
	    cmocka_unit_test(test_find_header_case_insensitive_and_trimmed),
	    cmocka_unit_test(test_find_header_only_at_line_starts),
	    cmocka_unit_test(test_find_header_stops_at_blank_line),
	    cmocka_unit_test(test_find_header_cut_by_the_buffer_end),
	    cmocka_unit_test(test_find_header_scan_limit),
	    cmocka_unit_test(test_request_method_len_all_methods),
	    cmocka_unit_test(test_request_method_len_near_misses),
	    cmocka_unit_test(test_response_start),
	    cmocka_unit_test(test_response_start_near_misses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
