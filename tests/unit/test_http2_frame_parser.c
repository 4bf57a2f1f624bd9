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
#include "http2_frame_parser.h"
#include "http2_test_frames.h"

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
	put_frame(buf, &n, 6, H2_SETTINGS, 0, 0, settings);
	put_frame(buf, &n, 3, H2_HEADERS, H2_FLAG_END_HEADERS, 1, block);
	put_frame(buf, &n, 20, H2_DATA, H2_FLAG_END_STREAM, 1, NULL);
	return n;
}

static void check_client_start(const struct seen *s)
{
	assert_int_equal(s->lost, 0);
	assert_int_equal(s->count, 3);
	assert_int_equal(s->f[0].type, H2_SETTINGS);
	assert_int_equal(s->f[0].payload_len, 6);
	assert_int_equal(s->f[1].type, H2_HEADERS);
	assert_int_equal(s->f[1].stream_id, 1);
	assert_true(s->f[1].complete);
	assert_memory_equal(s->payload[1], "\x82\x86\x84", 3);
	assert_int_equal(s->f[2].type, H2_DATA);
	assert_int_equal(s->f[2].length, 20);
	assert_int_equal(s->f[2].flags, H2_FLAG_END_STREAM);
	assert_null(s->f[2].payload);
}

static void test_many_frames_in_one_piece(void **state)
{
	uint8_t buf[256];
	size_t n = client_start(buf);
	struct http2_frame_parser p;
	struct seen s = {0};

	(void)state;
	http2_frame_parser_init(&p, true);
	http2_frame_parser_feed(&p, buf, n, n, &cb, &s);
	check_client_start(&s);
	http2_frame_parser_free(&p);
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
	put_frame(buf, &n, 40, H2_DATA, 0, 3, NULL);
	cut = n - 30; /* 30 payload bytes were not copied */
	http2_frame_parser_init(&p, false);
	http2_frame_parser_feed(&p, buf, cut, n, &cb, &s);
	n = 0;
	put_frame(buf, &n, 0, H2_HEADERS, H2_FLAG_END_HEADERS | H2_FLAG_END_STREAM, 3, NULL);
	http2_frame_parser_feed(&p, buf, n, n, &cb, &s);
	assert_int_equal(s.lost, 0);
	assert_int_equal(s.count, 2);
	assert_int_equal(s.f[0].type, H2_DATA);
	assert_int_equal(s.f[1].type, H2_HEADERS);
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
	put_frame(buf, &n, 10, H2_DATA, 0, 3, NULL);
	http2_frame_parser_init(&p, false);
	http2_frame_parser_feed(&p, buf, 12, n + 50, &cb, &s);
	assert_int_equal(s.lost, 1);
	assert_true(http2_frame_parser_lost(&p));
	http2_frame_parser_feed(&p, buf, n, n, &cb, &s);
	assert_int_equal(s.lost, 1);
	assert_int_equal(s.count, 0);
	http2_frame_parser_free(&p);
}

static void test_garbage_after_preface(void **state)
{
	uint8_t buf[64];
	struct http2_frame_parser p;
	struct seen s = {0};

	(void)state;
	memcpy(buf, HTTP2_PREFACE, HTTP2_PREFACE_LEN);
	memcpy(buf + HTTP2_PREFACE_LEN, "hello, this is not a frame", 26);
	http2_frame_parser_init(&p, true);
	http2_frame_parser_feed(&p, buf, HTTP2_PREFACE_LEN + 26, HTTP2_PREFACE_LEN + 26, &cb, &s);
	assert_int_equal(s.lost, 1);
	assert_int_equal(s.count, 0);
	http2_frame_parser_free(&p);
}

static void test_broken_preface(void **state)
{
	const char *bad = "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n";
	struct http2_frame_parser p;
	struct seen s = {0};

	(void)state;
	http2_frame_parser_init(&p, true);
	http2_frame_parser_feed(&p, (const uint8_t *)bad, strlen(bad), strlen(bad), &cb, &s);
	assert_int_equal(s.lost, 1);
	http2_frame_parser_free(&p);
}

/* Frames that break the section 6 rules are not HTTP/2. */
static void test_invalid_frames(void **state)
{
	struct {
		uint32_t len;
		uint8_t type, flags;
		uint32_t stream;
	} bad[] = {
	    {4, H2_DATA, 0, 0},		      /* DATA on stream 0 */
	    {3, H2_RST_STREAM, 0, 1},	      /* RST_STREAM of 3 bytes */
	    {6, H2_SETTINGS, 0, 1},	      /* SETTINGS on a stream */
	    {5, H2_SETTINGS, 0, 0},	      /* not a multiple of 6 */
	    {6, H2_SETTINGS, H2_FLAG_ACK, 0}, /* ACK with a payload */
	    {7, H2_PING, 0, 0},		      /* PING of 7 bytes */
	    {4, H2_GOAWAY, 0, 0},	      /* GOAWAY too short */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t buf[64];
		size_t n = 0;
		struct http2_frame_parser p;
		struct seen s = {0};

		put_frame(buf, &n, bad[i].len, bad[i].type, bad[i].flags, bad[i].stream, NULL);
		http2_frame_parser_init(&p, false);
		http2_frame_parser_feed(&p, buf, n, n, &cb, &s);
		assert_int_equal(s.lost, 1);
		assert_int_equal(s.count, 0);
		http2_frame_parser_free(&p);
	}
}

static void test_first_frame_after_preface_must_be_settings(void **state)
{
	uint8_t buf[64];
	size_t n = HTTP2_PREFACE_LEN;
	struct http2_frame_parser p;
	struct seen s = {0};

	(void)state;
	memcpy(buf, HTTP2_PREFACE, HTTP2_PREFACE_LEN);
	put_frame(buf, &n, 8, H2_PING, 0, 0, NULL);
	http2_frame_parser_init(&p, true);
	http2_frame_parser_feed(&p, buf, n, n, &cb, &s);
	assert_int_equal(s.lost, 1);
	http2_frame_parser_free(&p);
}

/* A header block bigger than what is collected is reported incomplete. */
static void test_oversized_headers_frame(void **state)
{
	static uint8_t buf[H2_COLLECT_MAX + 64];
	size_t n = 0;
	struct http2_frame_parser p;
	struct seen s = {0};

	(void)state;
	put_frame(buf, &n, H2_COLLECT_MAX + 10, H2_HEADERS, H2_FLAG_END_HEADERS, 1, NULL);
	http2_frame_parser_init(&p, false);
	http2_frame_parser_feed(&p, buf, n, n, &cb, &s);
	assert_int_equal(s.lost, 0);
	assert_int_equal(s.count, 1);
	assert_false(s.f[0].complete);
	assert_int_equal(s.f[0].payload_len, H2_COLLECT_MAX);
	http2_frame_parser_free(&p);
}

/* Unknown frame types are skipped (RFC 9113 5.5). */
static void test_extension_frame_ignored(void **state)
{
	uint8_t buf[64];
	size_t n = 0;
	struct http2_frame_parser p;
	struct seen s = {0};

	(void)state;
	put_frame(buf, &n, 5, 0xfa, 0, 0, NULL);
	put_frame(buf, &n, 0, H2_HEADERS, H2_FLAG_END_HEADERS, 5, NULL);
	http2_frame_parser_init(&p, false);
	http2_frame_parser_feed(&p, buf, n, n, &cb, &s);
	assert_int_equal(s.lost, 0);
	assert_int_equal(s.count, 2);
	assert_int_equal(s.f[0].type, 0xfa);
	assert_int_equal(s.f[1].stream_id, 5);
	http2_frame_parser_free(&p);
}

/* Adopted connections: which first bytes are taken for HTTP/2 (RFC 9113
 * 6.2 HEADERS frame, HPACK indexed first field). */
static void test_headers_frame_detection(void **state)
{
	/* 13-byte block, END_HEADERS|END_STREAM, stream 5, first field 0x83 */
	uint8_t ok[16] = {0, 0, 13, 1, 0x05, 0, 0, 0, 5, 0x83, 0x86};
	uint8_t b[16];

	(void)state;
	assert_true(http2_is_headers_frame_start(ok, sizeof(ok)));
	assert_false(http2_is_headers_frame_start(ok, 9)); /* too short to tell */
	memcpy(b, ok, sizeof(b));
	b[3] = 0; /* DATA */
	assert_false(http2_is_headers_frame_start(b, sizeof(b)));
	memcpy(b, ok, sizeof(b));
	b[4] = 0x01; /* no END_HEADERS */
	assert_false(http2_is_headers_frame_start(b, sizeof(b)));
	memcpy(b, ok, sizeof(b));
	b[4] = 0x2d; /* PADDED and PRIORITY */
	assert_false(http2_is_headers_frame_start(b, sizeof(b)));
	memcpy(b, ok, sizeof(b));
	b[8] = 4; /* even stream (server push) */
	assert_false(http2_is_headers_frame_start(b, sizeof(b)));
	memcpy(b, ok, sizeof(b));
	b[5] = 0x80; /* reserved bit */
	assert_false(http2_is_headers_frame_start(b, sizeof(b)));
	memcpy(b, ok, sizeof(b));
	b[9] = 0x40; /* a literal first: not how requests and responses start */
	assert_false(http2_is_headers_frame_start(b, sizeof(b)));
	memcpy(b, ok, sizeof(b));
	b[0] = 1; /* 65549 bytes: beyond the default maximum frame size */
	assert_false(http2_is_headers_frame_start(b, sizeof(b)));
	memcpy(b, ok, sizeof(b));
	b[9] = 0x3f; /* a dynamic table size update first */
	assert_true(http2_is_headers_frame_start(b, sizeof(b)));
	assert_false(http2_is_headers_frame_start((const uint8_t *)"GET / HTTP/1.1\r\n", 16));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_many_frames_in_one_piece),
	    cmocka_unit_test(test_one_byte_pieces),
	    cmocka_unit_test(test_uncopied_data_payload_is_skipped),
	    cmocka_unit_test(test_uncopied_frame_header_loses_framing),
	    cmocka_unit_test(test_garbage_after_preface),
	    cmocka_unit_test(test_broken_preface),
	    cmocka_unit_test(test_invalid_frames),
	    cmocka_unit_test(test_first_frame_after_preface_must_be_settings),
	    cmocka_unit_test(test_oversized_headers_frame),
	    cmocka_unit_test(test_extension_frame_ignored),
	    cmocka_unit_test(test_headers_frame_detection),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
