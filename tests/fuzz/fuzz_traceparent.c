// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_traceparent.c - libFuzzer target for the decision code shared with
 * the BPF programs: w3c_traceparent.h, http1_detect.h, http1_request_shape.h
 * and hpack_traceparent.h (checked against nghttp2's HPACK decoder).
 *
 * The input is used as a captured payload. Every accepted result is checked
 * against the rule it claims to satisfy (W3C Trace Context Level 1 section
 * 3.2, RFC 9112 sections 3 and 4), and the sanitizers catch any read past
 * the input.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdio.h>

#include <nghttp2/nghttp2.h>

#include "hpack_traceparent.h"
#include "http1_detect.h"
#include "http1_request_shape.h"
#include "w3c_traceparent.h"

static void check(bool ok)
{
	if (!ok)
		abort();
}

static bool all_zero(const __u8 *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (b[i])
			return false;
	}
	return true;
}

/* The decoded bytes must re-encode to the very characters parsed. */
static void check_hex(const uint8_t *text, const __u8 *bytes, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		check(text[2 * i] == digits[bytes[i] >> 4]);
		check(text[2 * i + 1] == digits[bytes[i] & 15]);
	}
}

static void check_traceparent(const uint8_t *data, __u32 off, __u32 len)
{
	struct w3c_trace_context tc;

	if (w3c_traceparent_parse(data, off, len, &tc) != 0)
		return;
	data += off;
	check(len >= W3C_TRACEPARENT_LEN);
	check(tc.version != 0xff);
	check(tc.version != 0 || len == W3C_TRACEPARENT_LEN);
	check(len == W3C_TRACEPARENT_LEN || data[W3C_TRACEPARENT_LEN] == '-');
	check(data[2] == '-' && data[35] == '-' && data[52] == '-');
	check(!all_zero(tc.trace_id, sizeof(tc.trace_id)));
	check(!all_zero(tc.parent_id, sizeof(tc.parent_id)));
	check_hex(data, &tc.version, 1);
	check_hex(data + 3, tc.trace_id, sizeof(tc.trace_id));
	check_hex(data + 36, tc.parent_id, sizeof(tc.parent_id));
	check_hex(data + 53, &tc.trace_flags, 1);
}

/* Then parses the value found, as the kernel does. */
static void check_find_header(const uint8_t *data, __u32 len, const char *name)
{
	__u32 off = 0, value_len = 0;
	__u32 name_len = (__u32)strlen(name);

	if (http1_find_header(data, len, len, name, name_len, &off, &value_len) != 0)
		return;
	check(off > name_len && off + value_len < len);
	check(data[off - 1] == ':' || data[off - 1] == ' ' || data[off - 1] == '\t');
	for (__u32 i = 0; i < value_len; i++)
		check(data[off + i] != '\r' && data[off + i] != '\n');
	/* The value ends at a line end, or at a blank when trimming gave up
	 * after 16; only values near the 600-byte scan cap end elsewhere. */
	if (value_len < 500)
		check(data[off + value_len] != 0 && strchr("\r\n \t", data[off + value_len]));
	check_traceparent(data, off, value_len);
}

static void check_request_start(const uint8_t *data, __u32 off, __u32 len)
{
	__u32 m = http1_request_method_len(data, off, len);

	if (m == 0)
		return;
	check(m >= 4 && m <= 8 && off + m < len);
	check(data[off + m - 1] == ' ');
	for (__u32 i = 0; i + 1 < m; i++)
		check(data[off + i] >= 'A' && data[off + i] <= 'Z');
}

static void check_response_start(const uint8_t *data, __u32 off, __u32 len)
{
	if (!http1_is_response_start(data, off, len))
		return;
	check(off + 12 <= len && memcmp(data + off, "HTTP/1.", 7) == 0);
	check(data[off + 8] == ' ' && data[off + 9] >= '1' && data[off + 9] <= '5');
	check(data[off + 10] >= '0' && data[off + 10] <= '9');
	check(data[off + 11] >= '0' && data[off + 11] <= '9');
}

/* A request's framing (where kspan may insert, and where the next request
 * starts): what it accepts must be what RFC 9112 says, as far as its rules go. */
static void check_request_frame(const uint8_t *data, __u32 len)
{
	struct http1_request_shape shape;
	struct http1_request_frame f;
	int rc;

	http1_request_shape_scan(data, len, &shape);
	rc = http1_request_frame_of(&shape, &f);
	check(rc == 0 || rc == -1 || rc == -2);
	if (rc)
		return;
	check(shape.line_end >= 14 && shape.line_end < shape.block_end && shape.block_end <= len);
	check(f.head_len == shape.block_end);
	check(memcmp(data + shape.line_end - 11, " HTTP/1.", 8) == 0);
	check(data[shape.line_end - 3] == '0' || data[shape.line_end - 3] == '1');
	check(memcmp(data + shape.block_end - 3, "\n\r\n", 3) == 0);
	check(f.body == HTTP1_BODY_LENGTH || f.body == HTTP1_BODY_UNFRAMED);
	if (f.body == HTTP1_BODY_LENGTH && f.body_len) {
		/* Then the head names Content-Length with exactly that value. */
		char want[16];
		int n = snprintf(want, sizeof(want), "%u", f.body_len);
		bool found = false;

		for (__u32 i = shape.line_end; !found && i + 15 + (__u32)n <= shape.block_end;
		     i++) {
			__u32 v = i + 15;

			if (strncasecmp((const char *)data + i, "content-length:", 15) != 0)
				continue;
			while (v < shape.block_end &&
			       (data[v] == ' ' || data[v] == '\t' || data[v] == '0'))
				v++;
			found = v + (__u32)n <= shape.block_end &&
				memcmp(data + v, want, (size_t)n) == 0;
		}
		check(found);
	}
}

/* The input as an HTTP/2 header block. With a fresh HPACK state, a field
 * named traceparent can only come from a literal name (the dynamic table
 * starts empty): whenever nghttp2 decodes one, the scan must have found it. */
static void check_hpack_scan(const uint8_t *data, __u32 len)
{
	int scanned = hpack_traceparent_scan(data, 0, len);
	nghttp2_hd_inflater *inf;
	const uint8_t *in = data;
	size_t left = len;
	bool named = false;

	check(scanned == HPACK_TP_ABSENT || scanned == HPACK_TP_PRESENT ||
	      scanned == HPACK_TP_MALFORMED);
	if (nghttp2_hd_inflate_new(&inf) != 0)
		return;
	for (;;) {
		nghttp2_nv nv;
		int flags = 0;
		ssize_t n = nghttp2_hd_inflate_hd2(inf, &nv, &flags, in, left, 1);

		if (n < 0)
			break;
		in += n;
		left -= (size_t)n;
		if (flags & NGHTTP2_HD_INFLATE_EMIT)
			named |= nv.namelen == 11 && memcmp(nv.name, "traceparent", 11) == 0;
		if (flags & NGHTTP2_HD_INFLATE_FINAL) {
			if (named)
				check(scanned == HPACK_TP_PRESENT);
			break;
		}
		if (n == 0 && !(flags & NGHTTP2_HD_INFLATE_EMIT))
			break;
	}
	nghttp2_hd_inflate_del(inf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	__u32 len = size > 2 * KSPAN_CAPTURE_MAX ? 2 * KSPAN_CAPTURE_MAX : (__u32)size;

	check_traceparent(data, 0, len);
	check_find_header(data, len, "traceparent");
	check_find_header(data, len, "tracestate");
	check_hpack_scan(data, len < KSPAN_CAPTURE_MAX ? len : KSPAN_CAPTURE_MAX);
	check_request_frame(data, len);
	for (__u32 off = 0; off < 4 && off < len; off++) {
		check_request_start(data, off, len);
		check_response_start(data, off, len);
	}
	return 0;
}
