// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_http2_frame_parser.c - bytes of one HTTP/2 direction to frames
 * (http2_frame_parser.h, RFC 9113 section 4): frames split anywhere, many
 * frames in one piece, the client preface, bytes the kernel did not copy,
 * and input that is not HTTP/2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http2_detect.h"
#include "protocol/http2_frame_parser.h"
#include "support/http2_test_frames.h"

#define MAX_SEEN 32

struct seen {
	struct http2_frame f[MAX_SEEN];
	uint8_t payload[MAX_SEEN][64];
	int count;
	int lost;
	const char *why;
};

static void on_frame(void *ctx, const struct http2_frame *f)
{
	struct seen *s = ctx;

	assert_true(s->count < MAX_SEEN);
	s->f[s->count] = *f;
	if (f->payload)
		memcpy(s->payload[s->count], f->payload, f->payload_len < 64 ? f->payload_len : 64);
	s->count++;
}

static void on_lost(void *ctx, const char *why)
{
	struct seen *s = ctx;

	s->lost++;
	s->why = why;
}

static const struct http2_frame_callbacks cb = {.on_frame = on_frame, .on_framing_lost = on_lost};

/* A client's first bytes: preface, SETTINGS, HEADERS, DATA (END_STREAM). */
static size_t client_start(uint8_t *buf)
{
	static const uint8_t settings[6] = {0, 4, 0, 0, 0xff, 0xff};
	static const uint8_t block[3] = {0x82, 0x86, 0x84};
	size_t n = HTTP2_PREFACE_LEN;

	memcpy(buf, HTTP2_PREFACE, HTTP2_PREFACE_LEN);
	put_frame(buf, &n, 6, HTTP2_FRAME_SETTINGS, 0, 0, settings);
	put_frame(buf, &n, 3, HTTP2_FRAME_HEADERS, HTTP2_FLAG_END_HEADERS, 1, block);
	put_frame(buf, &n, 20, HTTP2_FRAME_DATA, HTTP2_FLAG_END_STREAM, 1, NULL);
	return n;
}

static void check_client_start(const struct seen *s)
{
	assert_int_equal(s->lost, 0);
	assert_int_equal(s->count, 3);
	assert_int_equal(s->f[0].type, HTTP2_FRAME_SETTINGS);
	assert_int_equal(s->f[0].payload_len, 6);
	assert_int_equal(s->f[1].type, HTTP2_FRAME_HEADERS);
	assert_int_equal(s->f[1].stream_id, 1);
	assert_true(s->f[1].complete);
	assert_memory_equal(s->payload[1], "\x82\x86\x84", 3);
	assert_int_equal(s->f[2].type, HTTP2_FRAME_DATA);
	assert_int_equal(s->f[2].length, 20);
	assert_int_equal(s->f[2].flags, HTTP2_FLAG_END_STREAM);
	assert_null(s->f[2].payload);
}

/* buf[0..n) as one complete piece of a new direction (preface: a client's). */
static void parse_piece(const uint8_t *buf, size_t n, bool preface, struct seen *s)
{
	struct http2_frame_parser p;

	http2_frame_parser_init(&p, preface);
	http2_frame_parser_feed(&p, buf, n, n, &cb, s);
	http2_frame_parser_free(&p);
}

static void test_many_frames_in_one_piece(void **state)
{
	uint8_t buf[256];
	size_t n = client_start(buf);
	struct seen s = {0};

	(void)state;
	parse_piece(buf, n, true, &s);
	check_client_start(&s);
}

/* Every split point, including inside the preface and frame headers. */
static void test_one_byte_pieces(void **state)
{
	uint8_t buf[256];
	size_t n = client_start(buf);
	struct http2_frame_parser p;
	struct seen s = {0};

	(void)state;
	http2_frame_parser_init(&p, true);
	for (size_t i = 0; i < n; i++)
		http2_frame_parser_feed(&p, buf + i, 1, 1, &cb, &s);
	check_client_start(&s);
	http2_frame_parser_free(&p);
}

/* DATA payload the kernel did not copy is skipped; the next frame header
 * after it is found. */
static void test_uncopied_data_payload_is_skipped(void **state)
{
	uint8_t buf[256];
	size_t n = 0, cut;
	struct http2_frame_parser p;
	struct seen s = {0};

	(void)state;
	put_frame(buf, &n, 40, HTTP2_FRAME_DATA, 0, 3, NULL);
	cut = n - 30; /* 30 payload bytes were not copied */
	http2_frame_parser_init(&p, false);
	http2_frame_parser_feed(&p, buf, cut, n, &cb, &s);
	n = 0;
	put_frame(buf, &n, 0, HTTP2_FRAME_HEADERS, HTTP2_FLAG_END_HEADERS | HTTP2_FLAG_END_STREAM,
		  3, NULL);
	http2_frame_parser_feed(&p, buf, n, n, &cb, &s);
	assert_int_equal(s.lost, 0);
	assert_int_equal(s.count, 2);
	assert_int_equal(s.f[0].type, HTTP2_FRAME_DATA);
	assert_int_equal(s.f[1].type, HTTP2_FRAME_HEADERS);
	http2_frame_parser_free(&p);
}

/* Uncopied bytes that would hold a frame header: framing is lost, once. */
static void test_uncopied_frame_header_loses_framing(void **state)
{
	uint8_t buf[256];
	size_t n = 0;
	struct http2_frame_parser p;
	struct seen s = {0};

	(void)state;
	put_frame(buf, &n, 10, HTTP2_FRAME_DATA, 0, 3, NULL);
	http2_frame_parser_init(&p, false);
	http2_frame_parser_feed(&p, buf, 12, n + 50, &cb, &s);
	assert_int_equal(s.lost, 1);
	assert_true(http2_frame_parser_lost(&p));
	http2_frame_parser_feed(&p, buf, n, n, &cb, &s);
	assert_int_equal(s.lost, 1);
	assert_int_equal(s.count, 0);
	http2_frame_parser_free(&p);
}

/* A client's first bytes that are not the preface and SETTINGS. */
static void test_bad_connection_start(void **state)
{
	static const struct {
		const char *what;
		const char *bytes;
		size_t len;
	} bad[] = {
#define BYTES(lit) lit, sizeof(lit) - 1
	    {"garbage after the preface", BYTES(HTTP2_PREFACE "hello, this is not a frame")},
	    {"a broken preface", BYTES("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n")},
	    /* RFC 9113 3.4: the preface is followed by SETTINGS. */
	    {"PING before SETTINGS", BYTES(HTTP2_PREFACE "\0\0\x08\x06\0\0\0\0\0dddddddd")},
#undef BYTES
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct seen s = {0};

		parse_piece((const uint8_t *)bad[i].bytes, bad[i].len, true, &s);
		if (s.lost != 1 || s.count != 0)
			fail_msg("%s: %d losses, %d frames", bad[i].what, s.lost, s.count);
	}
}

/* Frames that break the section 6 rules are not HTTP/2. */
static void test_invalid_frames(void **state)
{
	struct {
		uint32_t len;
		uint8_t type, flags;
		uint32_t stream;
	} bad[] = {
	    {4, HTTP2_FRAME_DATA, 0, 0},		  /* DATA on stream 0 */
	    {3, HTTP2_FRAME_RST_STREAM, 0, 1},		  /* RST_STREAM of 3 bytes */
	    {6, HTTP2_FRAME_SETTINGS, 0, 1},		  /* SETTINGS on a stream */
	    {5, HTTP2_FRAME_SETTINGS, 0, 0},		  /* not a multiple of 6 */
	    {6, HTTP2_FRAME_SETTINGS, HTTP2_FLAG_ACK, 0}, /* ACK with a payload */
	    {7, HTTP2_FRAME_PING, 0, 0},		  /* PING of 7 bytes */
	    {4, HTTP2_FRAME_GOAWAY, 0, 0},		  /* GOAWAY too short */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t buf[64];
		size_t n = 0;
		struct seen s = {0};

		put_frame(buf, &n, bad[i].len, bad[i].type, bad[i].flags, bad[i].stream, NULL);
		parse_piece(buf, n, false, &s);
		assert_int_equal(s.lost, 1);
		assert_int_equal(s.count, 0);
	}
}

/* A header block bigger than what is collected is reported incomplete. */
static void test_oversized_headers_frame(void **state)
{
	static uint8_t buf[H2_COLLECT_MAX + 64];
	size_t n = 0;
	struct seen s = {0};

	(void)state;
	put_frame(buf, &n, H2_COLLECT_MAX + 10, HTTP2_FRAME_HEADERS, HTTP2_FLAG_END_HEADERS, 1,
		  NULL);
	parse_piece(buf, n, false, &s);
	assert_int_equal(s.lost, 0);
	assert_int_equal(s.count, 1);
	assert_false(s.f[0].complete);
	assert_int_equal(s.f[0].payload_len, H2_COLLECT_MAX);
}

/* A large frame's buffer is given back once the frame was handled; small
 * ones keep theirs for the next frame. */
static void test_large_collect_buffer_is_given_back(void **state)
{
	static uint8_t buf[H2_COLLECT_MAX + 64];
	struct http2_frame_parser p;
	size_t n = 0;
	struct seen s = {0};

	(void)state;
	put_frame(buf, &n, 8 * 1024, HTTP2_FRAME_HEADERS, HTTP2_FLAG_END_HEADERS, 1, NULL);
	http2_frame_parser_init(&p, false);
	http2_frame_parser_feed(&p, buf, n, n, &cb, &s);
	assert_int_equal(s.count, 1);
	assert_true(s.f[0].complete);
	assert_null(p.collect);
	assert_int_equal(p.collect_cap, 0);
	n = 0;
	put_frame(buf, &n, 100, HTTP2_FRAME_HEADERS, HTTP2_FLAG_END_HEADERS, 3, NULL);
	http2_frame_parser_feed(&p, buf, n, n, &cb, &s);
	assert_int_equal(s.count, 2);
	assert_non_null(p.collect);
	assert_int_equal(p.collect_cap, 100);
	http2_frame_parser_free(&p);
}

/* Unknown frame types are skipped (RFC 9113 5.5). */
static void test_extension_frame_ignored(void **state)
{
	uint8_t buf[64];
	size_t n = 0;
	struct seen s = {0};

	(void)state;
	put_frame(buf, &n, 5, 0xfa, 0, 0, NULL);
	put_frame(buf, &n, 0, HTTP2_FRAME_HEADERS, HTTP2_FLAG_END_HEADERS, 5, NULL);
	parse_piece(buf, n, false, &s);
	assert_int_equal(s.lost, 0);
	assert_int_equal(s.count, 2);
	assert_int_equal(s.f[0].type, 0xfa);
	assert_int_equal(s.f[1].stream_id, 5);
}

/* Adopted connections: which first bytes are taken for HTTP/2 (RFC 9113
 * 6.2 HEADERS frame, HPACK indexed first field). */
static void test_headers_frame_detection(void **state)
{
	/* 13-byte block, END_HEADERS|END_STREAM, stream 5, first field 0x83 */
	uint8_t ok[16] = {0, 0, 13, 1, 0x05, 0, 0, 0, 5, 0x83, 0x86};
	/* One byte changed: whether the frame is still taken for HTTP/2. */
	static const struct {
		size_t at;
		uint8_t value;
		bool taken;
		const char *what;
	} changes[] = {
	    {3, 0, false, "DATA"},
	    {4, 0x01, false, "no END_HEADERS"},
	    {4, 0x2d, false, "PADDED and PRIORITY"},
	    {8, 4, false, "even stream (server push)"},
	    {5, 0x80, false, "reserved bit"},
	    {9, 0x40, false, "a literal first: not how requests and responses start"},
	    {0, 1, false, "65549 bytes: beyond the default maximum frame size"},
	    {9, 0x3f, true, "a dynamic table size update first"},
	};

	(void)state;
	assert_true(http2_is_headers_frame_start(ok, sizeof(ok)));
	assert_false(http2_is_headers_frame_start(ok, 9)); /* too short to tell */
	for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		uint8_t b[16];

		memcpy(b, ok, sizeof(b));
		b[changes[i].at] = changes[i].value;
		if (!!http2_is_headers_frame_start(b, sizeof(b)) != changes[i].taken)
			fail_msg("%s: taken for HTTP/2 is not %d", changes[i].what,
				 changes[i].taken);
	}
	assert_false(http2_is_headers_frame_start((const uint8_t *)"GET / HTTP/1.1\r\n", 16));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_many_frames_in_one_piece),
	    cmocka_unit_test(test_one_byte_pieces),
	    cmocka_unit_test(test_uncopied_data_payload_is_skipped),
	    cmocka_unit_test(test_uncopied_frame_header_loses_framing),
	    cmocka_unit_test(test_bad_connection_start),
	    cmocka_unit_test(test_invalid_frames),
	    cmocka_unit_test(test_oversized_headers_frame),
	    cmocka_unit_test(test_large_collect_buffer_is_given_back),
	    cmocka_unit_test(test_extension_frame_ignored),
	    cmocka_unit_test(test_headers_frame_detection),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
