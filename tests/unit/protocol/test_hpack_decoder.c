// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_hpack_decoder.c - header blocks through hpack_decoder.h, with the
 * examples of RFC 7541 Appendix C as input: C.3/C.4 a sequence of requests
 * without and with Huffman coding (the dynamic table grows), C.5/C.6
 * responses with SETTINGS_HEADER_TABLE_SIZE 256 (entries are evicted).
 * Then the partial decoding kspan uses when a direction's start was missed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/hpack_decoder.h"

#define MAX_FIELDS 16

struct decoded {
	char text[MAX_FIELDS][160]; /* "name: value" */
	int count;
};

static void collect(void *ctx, const uint8_t *name, size_t name_len, const uint8_t *value,
		    size_t value_len)
{
	struct decoded *d = ctx;

	assert_true(d->count < MAX_FIELDS);
	snprintf(d->text[d->count++], sizeof(d->text[0]), "%.*s: %.*s", (int)name_len, name,
		 (int)value_len, value);
}

/* Hex with optional spaces, as the RFC prints it, into bytes. */
static size_t unhex(const char *hex, uint8_t *out, size_t size)
{
	size_t n = 0;
	unsigned v;

	while (*hex) {
		if (*hex == ' ') {
			hex++;
			continue;
		}
		assert_true(sscanf(hex, "%2x", &v) == 1);
		assert_true(n < size);
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

static void expect_block(struct hpack_decoder *dec, const char *hex, const char *const *fields,
			 int count)
{
	uint8_t block[512];
	size_t len = unhex(hex, block, sizeof(block));
	struct decoded got = {0};

	assert_int_equal(hpack_decoder_decode(dec, block, len, collect, &got), 0);
	assert_int_equal(got.count, count);
	for (int i = 0; i < count; i++)
		assert_string_equal(got.text[i], fields[i]);
}

/* C.3 and C.4 decode to the same three requests. */
static const char *const req1[] = {":method: GET", ":scheme: http", ":path: /",
				   ":authority: www.example.com"};
static const char *const req2[] = {":method: GET", ":scheme: http", ":path: /",
				   ":authority: www.example.com", "cache-control: no-cache"};
static const char *const req3[] = {":method: GET", ":scheme: https", ":path: /index.html",
				   ":authority: www.example.com", "custom-key: custom-value"};

static void test_c3_requests_without_huffman(void **state)
{
	struct hpack_decoder dec;

	(void)state;
	assert_int_equal(hpack_decoder_init(&dec), 0);
	expect_block(&dec, "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d", req1, 4);
	expect_block(&dec, "8286 84be 5808 6e6f 2d63 6163 6865", req2, 5);
	expect_block(&dec,
		     "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
		     req3, 5);
	hpack_decoder_free(&dec);
}

static void test_c4_requests_with_huffman(void **state)
{
	struct hpack_decoder dec;

	(void)state;
	assert_int_equal(hpack_decoder_init(&dec), 0);
	expect_block(&dec, "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", req1, 4);
	expect_block(&dec, "8286 84be 5886 a8eb 1064 9cbf", req2, 5);
	expect_block(&dec, "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf", req3, 5);
	hpack_decoder_free(&dec);
}

static const char *const resp1[] = {":status: 302", "cache-control: private",
				    "date: Mon, 21 Oct 2013 20:13:21 GMT",
				    "location: https://www.example.com"};
static const char *const resp2[] = {":status: 307", "cache-control: private",
				    "date: Mon, 21 Oct 2013 20:13:21 GMT",
				    "location: https://www.example.com"};
static const char *const resp3[] = {
    ":status: 200",
    "cache-control: private",
    "date: Mon, 21 Oct 2013 20:13:22 GMT",
    "location: https://www.example.com",
    "content-encoding: gzip",
    "set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"};

/* The second response refers to entries the first inserted; the third
 * evicts the oldest ones (the table holds 256 octets): decoding it right
 * needs the eviction done right. The RFC's examples start with a 256-octet
 * table; an encoder whose peer lowered the size must say so first (section
 * 4.2), hence the size update 3fe101 (256) before C.5.1 and C.6.1. */
static void test_c5_responses_without_huffman(void **state)
{
	struct hpack_decoder dec;

	(void)state;
	assert_int_equal(hpack_decoder_init(&dec), 0);
	assert_int_equal(hpack_decoder_set_max_table_size(&dec, 256), 0);
	expect_block(
	    &dec,
	    "3fe101 4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 "
	    "3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 "
	    "7861 6d70 6c65 2e63 6f6d",
	    resp1, 4);
	expect_block(&dec, "4803 3330 37c1 c0bf", resp2, 4);
	expect_block(&dec,
		     "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 "
		     "474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 "
		     "454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 "
		     "6572 7369 6f6e 3d31",
		     resp3, 6);
	hpack_decoder_free(&dec);
}

static void test_c6_responses_with_huffman(void **state)
{
	struct hpack_decoder dec;

	(void)state;
	assert_int_equal(hpack_decoder_init(&dec), 0);
	assert_int_equal(hpack_decoder_set_max_table_size(&dec, 256), 0);
	expect_block(
	    &dec,
	    "3fe101 4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 "
	    "82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
	    resp1, 4);
	expect_block(&dec, "4883 640e ffc1 c0bf", resp2, 4);
	expect_block(&dec,
		     "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b "
		     "d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 "
		     "0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
		     resp3, 6);
	hpack_decoder_free(&dec);
}

/* A block that refers to an entry the table does not have fails, and the
 * decoder stays broken: the next (valid) block is refused too. */
static void test_failure_breaks_the_decoder_for_good(void **state)
{
	struct hpack_decoder dec;
	struct decoded got = {0};
	uint8_t bad[] = {0xbe}; /* dynamic index 62 of an empty table */
	uint8_t good[] = {0x82};

	(void)state;
	assert_int_equal(hpack_decoder_init(&dec), 0);
	assert_int_equal(hpack_decoder_decode(&dec, bad, sizeof(bad), collect, &got), -EPROTO);
	assert_true(dec.broken);
	assert_int_equal(hpack_decoder_decode(&dec, good, sizeof(good), collect, &got), -EPROTO);
	assert_int_equal(got.count, 0);
	hpack_decoder_free(&dec);
}

/* A dynamic table size update to `size` (RFC 7541 6.3, a 5-bit prefix
 * integer, 5.1), then ":method: GET" (static index 2). */
static size_t size_update_then_get(uint32_t size, uint8_t *out)
{
	size_t n = 0;

	out[n++] = 0x3f;
	size -= 31;
	while (size >= 128) {
		out[n++] = (uint8_t)(size % 128 + 128);
		size /= 128;
	}
	out[n++] = (uint8_t)size;
	out[n++] = 0x82;
	return n;
}

/* A peer may allow a 4 GiB table; kspan keeps HPACK_TABLE_MAX at most, and
 * an encoder that would use more breaks the decoder (its blocks are then
 * decoded without the dynamic table) instead of growing kspan. */
static void test_table_size_is_clamped(void **state)
{
	struct hpack_decoder dec;
	struct decoded got = {0};
	uint8_t block[16];
	size_t len;

	(void)state;
	assert_int_equal(hpack_decoder_init(&dec), 0);
	assert_int_equal(hpack_decoder_set_max_table_size(&dec, 0xffffffffu), 0);
	len = size_update_then_get(HPACK_TABLE_MAX, block);
	assert_int_equal(hpack_decoder_decode(&dec, block, len, collect, &got), 0);
	assert_int_equal(got.count, 1);
	assert_string_equal(got.text[0], ":method: GET");
	len = size_update_then_get(HPACK_TABLE_MAX + 1, block);
	assert_int_equal(hpack_decoder_decode(&dec, block, len, collect, &got), -EPROTO);
	assert_true(dec.broken);
	hpack_decoder_free(&dec);
}

/* A block cut inside a field is an error, not a silent partial result. */
static void test_truncated_block_fails(void **state)
{
	struct hpack_decoder dec;
	struct decoded got = {0};
	uint8_t block[64];
	size_t len = unhex("8286 8441 0f77 7777 2e65 7861", block, sizeof(block));

	(void)state;
	assert_int_equal(hpack_decoder_init(&dec), 0);
	assert_int_equal(hpack_decoder_decode(&dec, block, len, collect, &got), -EPROTO);
	hpack_decoder_free(&dec);
}

/*
 * Partial decoding, without the dynamic table, as kspan decodes a direction
 * whose start it missed: what does not depend on the table comes out, the
 * rest is skipped, malformed blocks fail. One scratch decoder serves every
 * case, each decoded twice: it never grows, and it is replaced after a
 * failure, so later blocks still decode.
 */
static const struct static_only_case {
	const char *what, *hex;
	int ret; /* of hpack_decode_static_only() */
	const char *fields[4];
} static_only_cases[] = {
    /* C.3.2: :authority from the table (0xbe) is skipped; cache-control is
     * a literal (inserted, which the scratch decoder forgets). */
    {"dynamic reference",
     "8286 84be 5808 6e6f 2d63 6163 6865",
     1,
     {":method: GET", ":scheme: http", ":path: /", "cache-control: no-cache"}},
    /* C.4.3: Huffman-coded literals and a literal name. */
    {"huffman literals",
     "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
     1,
     {":method: GET", ":scheme: https", ":path: /index.html", "custom-key: custom-value"}},
    /* 0x5c: incremental indexing, static name 28 (content-length), which
     * needs the multi-byte form when re-encoded with a 4-bit prefix. */
    {"large static name index", "5c02 3432", 0, {"content-length: 42"}},
    {"name shorter than its length", "400a 6375", -EPROTO, {NULL}},
    {"integer that never ends", "ffff ffff ff", -EPROTO, {NULL}},
    {"invalid huffman code", "0081 ff01 76", -EPROTO, {NULL}},
    {"a valid block after failures", "82", 0, {":method: GET"}},
};

static void test_static_only(void **state)
{
	struct hpack_decoder scratch;

	(void)state;
	assert_int_equal(hpack_decoder_init(&scratch), 0);
	for (size_t i = 0; i < sizeof(static_only_cases) / sizeof(static_only_cases[0]); i++) {
		const struct static_only_case *c = &static_only_cases[i];
		uint8_t block[128];
		size_t len = unhex(c->hex, block, sizeof(block));

		for (int round = 0; round < 2; round++) {
			struct decoded got = {0};
			int ret = hpack_decode_static_only(&scratch, block, len, collect, &got),
			    want = 0;

			if (ret != c->ret)
				fail_msg("%s (round %d): returned %d, want %d", c->what, round, ret,
					 c->ret);
			if (ret < 0)
				continue;
			while (want < 4 && c->fields[want])
				want++;
			if (got.count != want)
				fail_msg("%s: %d fields, want %d", c->what, got.count, want);
			for (int f = 0; f < want; f++)
				if (strcmp(got.text[f], c->fields[f]))
					fail_msg("%s: field %d is \"%s\", want \"%s\"", c->what, f,
						 got.text[f], c->fields[f]);
		}
	}
	hpack_decoder_free(&scratch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_c3_requests_without_huffman),
	    cmocka_unit_test(test_c4_requests_with_huffman),
	    cmocka_unit_test(test_c5_responses_without_huffman),
	    cmocka_unit_test(test_c6_responses_with_huffman),
	    cmocka_unit_test(test_failure_breaks_the_decoder_for_good),
	    cmocka_unit_test(test_truncated_block_fails),
	    cmocka_unit_test(test_table_size_is_clamped),
	    cmocka_unit_test(test_static_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
