// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for include/hpack_traceparent.h: does an HTTP/2 header block
 * carry its own traceparent (the same code the BPF entry hook runs)? Blocks
 * come from RFC 7541 appendix C and from nghttp2's HPACK encoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <nghttp2/nghttp2.h>

#include "hpack_traceparent.h"

static int scan(const void *block, size_t len)
{
	return hpack_traceparent_scan(block, 0, (__u32)len);
}

#define SCAN(lit) scan((lit), sizeof(lit) - 1)

#define NV(n, v, f)                                                                                \
	{                                                                                          \
		(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, (f)                  \
	}

/* A gRPC request's header block as nghttp2 encodes it, with `extra`. */
static size_t deflate_request(nghttp2_hd_deflater *d, const nghttp2_nv *extra, uint8_t *out,
			      size_t cap)
{
	nghttp2_nv nva[8] = {
	    NV(":method", "POST", 0),
	    NV(":scheme", "http", 0),
	    NV(":path", "/kspan.test.Echo/Unary", 0),
	    NV(":authority", "127.0.0.1:50051", 0),
	    NV("content-type", "application/grpc", 0),
	    NV("te", "trailers", 0),
	};
	size_t n = 6;
	ssize_t len;

	if (extra)
		nva[n++] = *extra;
	len = nghttp2_hd_deflate_hd(d, out, cap, nva, n);
	assert_true(len > 0);
	return (size_t)len;
}

static void test_rfc7541_c3_requests_have_none(void **state)
{
	(void)state;
	/* C.3.1 .. C.3.3: indexed fields and literals with indexed names. */
	assert_int_equal(SCAN("\x82\x86\x84\x41\x0f"
			      "www.example.com"),
			 HPACK_TP_ABSENT);
	assert_int_equal(SCAN("\x82\x86\x84\xbe\x58\x08no-cache"), HPACK_TP_ABSENT);
	assert_int_equal(SCAN("\x82\x87\x85\xbf\x40\x0a"
			      "custom-key\x0c"
			      "custom-value"),
			 HPACK_TP_ABSENT);
	/* C.4.1: the same with Huffman-coded values. */
	assert_int_equal(
	    SCAN("\x82\x86\x84\x41\x8c\xf1\xe3\xc2\xe5\xf2\x3a\x6b\xa0\xab\x90\xf4\xff"),
	    HPACK_TP_ABSENT);
}

static void test_raw_literal_name_in_every_literal_form(void **state)
{
	(void)state;
	/* with incremental indexing, without indexing, never indexed */
	assert_int_equal(SCAN("\x82\x40\x0btraceparent\x01x"), HPACK_TP_PRESENT);
	assert_int_equal(SCAN("\x82\x00\x0btraceparent\x01x"), HPACK_TP_PRESENT);
	assert_int_equal(SCAN("\x82\x10\x0btraceparent\x01x"), HPACK_TP_PRESENT);
	/* after a dynamic table size update */
	assert_int_equal(SCAN("\x3f\xe1\x1f\x00\x0btraceparent\x00"), HPACK_TP_PRESENT);
}

static void test_similar_names_and_values_are_not_it(void **state)
{
	(void)state;
	assert_int_equal(SCAN("\x00\x0atracestate\x01x"), HPACK_TP_ABSENT);
	assert_int_equal(SCAN("\x00\x0ctraceparents\x01x"), HPACK_TP_ABSENT);
	assert_int_equal(SCAN("\x00\x0btraceparenT\x01x"), HPACK_TP_ABSENT);
	/* the value, not the name */
	assert_int_equal(SCAN("\x00\x01x\x0btraceparent"), HPACK_TP_ABSENT);
	/* an indexed name (content-type) with that value */
	assert_int_equal(SCAN("\x0f\x10\x0btraceparent"), HPACK_TP_ABSENT);
}

static void test_nghttp2_huffman_and_never_indexed(void **state)
{
	(void)state;
	nghttp2_nv tp = NV("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
			   NGHTTP2_NV_FLAG_NONE);
	nghttp2_nv other = NV("x-request-id", "1234", NGHTTP2_NV_FLAG_NONE);
	nghttp2_hd_deflater *d;
	uint8_t out[512];
	size_t n;

	/* Huffman coding is shorter for the name: nghttp2 uses it. */
	assert_int_equal(nghttp2_hd_deflate_new(&d, 4096), 0);
	n = deflate_request(d, &tp, out, sizeof(out));
	assert_int_equal(scan(out, n), HPACK_TP_PRESENT);
	assert_non_null(memmem(out, n, "\x4d\x83\x21\x6b\x1d\x85\xa9\x3f", 8));
	nghttp2_hd_deflate_del(d);

	tp.flags = NGHTTP2_NV_FLAG_NO_INDEX;
	assert_int_equal(nghttp2_hd_deflate_new(&d, 4096), 0);
	n = deflate_request(d, &tp, out, sizeof(out));
	assert_int_equal(scan(out, n), HPACK_TP_PRESENT);
	nghttp2_hd_deflate_del(d);

	assert_int_equal(nghttp2_hd_deflate_new(&d, 4096), 0);
	n = deflate_request(d, &other, out, sizeof(out));
	assert_int_equal(scan(out, n), HPACK_TP_ABSENT);
	nghttp2_hd_deflate_del(d);
}

/* The limit the caller must respect: once the encoder put traceparent in
 * its dynamic table, later blocks name it by index, which the scan cannot
 * see. kspan stops injecting on a connection after the first sighting. */
static void test_dynamic_table_reference_is_not_seen(void **state)
{
	(void)state;
	nghttp2_nv tp = NV("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
			   NGHTTP2_NV_FLAG_NONE);
	nghttp2_hd_deflater *d;
	uint8_t out[512];
	size_t n;

	assert_int_equal(nghttp2_hd_deflate_new(&d, 4096), 0);
	n = deflate_request(d, &tp, out, sizeof(out));
	assert_int_equal(scan(out, n), HPACK_TP_PRESENT);
	n = deflate_request(d, &tp, out, sizeof(out));
	assert_int_equal(scan(out, n), HPACK_TP_ABSENT);
	nghttp2_hd_deflate_del(d);
}

static void test_malformed_blocks(void **state)
{
	(void)state;
	assert_int_equal(SCAN("\x80"), HPACK_TP_MALFORMED);		    /* index 0 */
	assert_int_equal(SCAN("\x82\x00\x0btracepar"), HPACK_TP_MALFORMED); /* cut name */
	assert_int_equal(SCAN("\x00\x01x\x05"
			      "ab"),
			 HPACK_TP_MALFORMED);			/* cut value */
	assert_int_equal(SCAN("\x00"), HPACK_TP_MALFORMED);	/* no name */
	assert_int_equal(SCAN("\x40\x7f"), HPACK_TP_MALFORMED); /* unended integer */
	assert_int_equal(SCAN("\xff\xff\xff\xff\xff\x01"), HPACK_TP_MALFORMED); /* > 2^21 */
	assert_int_equal(scan("", 0), HPACK_TP_ABSENT);
}

/* The block after a HEADERS frame's pad length and priority fields, before
 * its padding (RFC 9113 6.2): only buf[start..end) is looked at. */
static void test_block_inside_a_padded_frame_payload(void **state)
{
	(void)state;
	static const char payload[] = "\x02"			     /* pad length */
				      "\x80\x00\x00\x00\x0f"	     /* priority */
				      "\x82\x00\x0btraceparent\x01x" /* block */
				      "\x00\x00";		     /* padding */
	__u32 len = sizeof(payload) - 1;

	assert_int_equal(hpack_traceparent_scan((const __u8 *)payload, 6, len - 2),
			 HPACK_TP_PRESENT);
	/* Cut inside the name: it runs past the block's end. */
	assert_int_equal(hpack_traceparent_scan((const __u8 *)payload, 6, 14), HPACK_TP_MALFORMED);
	assert_int_equal(hpack_traceparent_scan((const __u8 *)payload, 6, 7), HPACK_TP_ABSENT);
	assert_int_equal(hpack_traceparent_scan((const __u8 *)payload, 7, 6), HPACK_TP_MALFORMED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc7541_c3_requests_have_none),
	    cmocka_unit_test(test_raw_literal_name_in_every_literal_form),
	    cmocka_unit_test(test_similar_names_and_values_are_not_it),
	    cmocka_unit_test(test_nghttp2_huffman_and_never_indexed),
	    cmocka_unit_test(test_dynamic_table_reference_is_not_seen),
	    cmocka_unit_test(test_malformed_blocks),
	    cmocka_unit_test(test_block_inside_a_padded_frame_payload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
