/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * w3c_traceparent.h - W3C Trace Context Level 1 `traceparent` handling,
 * shared by the BPF programs (which decide a request's context) and the agent
 * (which re-validates everything the kernel sends, and handles requests the
 * kernel did not see whole).
 *
 * https://www.w3.org/TR/trace-context/#traceparent-header
 *   value   = version "-" trace-id "-" parent-id "-" trace-flags
 *   version = 2HEXDIGLC, "ff" is invalid
 *   trace-id = 32HEXDIGLC, not all zero; parent-id = 16HEXDIGLC, not all zero
 *   version 00: exactly 55 characters. A higher version may be longer; the
 *   first 55 characters are parsed as version 00 and, when longer, character
 *   55 must be "-" (section 4.3, "Versioning of traceparent").
 */
#ifndef W3C_TRACEPARENT_H
#define W3C_TRACEPARENT_H

#include "kspan_bytes.h"

#define W3C_TRACEPARENT_LEN 55

struct w3c_trace_context {
	__u8 version;
	__u8 trace_flags;
	__u8 trace_id[16];
	__u8 parent_id[8];
};

/* Decodes `n` bytes (2 hex chars each) from buf[off..] into out[]; returns
 * the OR of all decoded bytes (0 means all zero) or -1 on a non-hex char. */
KSPAN_INLINE int w3c_decode_hex(const __u8 *buf, __u32 off, __u8 *out, __u32 n)
{
	int any = 0;

	KSPAN_NO_UNROLL
	for (__u32 i = 0; i < n && i < 16; i++) {
		int hi = kspan_lower_hex_value(KSPAN_AT(buf, off + 2 * i));
		int lo = kspan_lower_hex_value(KSPAN_AT(buf, off + 2 * i + 1));
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (__u8)(hi << 4 | lo);
		any |= out[i];
	}
	return any;
}

/* Parses the header value at buf[off..off+len) (leading/trailing whitespace
 * already removed). Returns 0 and fills *tc when valid, -1 otherwise. */
KSPAN_INLINE int w3c_traceparent_parse(const __u8 *buf, __u32 off, __u32 len,
				       struct w3c_trace_context *tc)
{
	__u8 version[1];
	int r;

	if (len < W3C_TRACEPARENT_LEN)
		return -1;
	if (w3c_decode_hex(buf, off, version, 1) < 0 || version[0] == 0xff)
		return -1;
	if (version[0] == 0 && len != W3C_TRACEPARENT_LEN)
		return -1;
	if (len > W3C_TRACEPARENT_LEN && KSPAN_AT(buf, off + W3C_TRACEPARENT_LEN) != '-')
		return -1;
	if (KSPAN_AT(buf, off + 2) != '-' || KSPAN_AT(buf, off + 35) != '-' ||
	    KSPAN_AT(buf, off + 52) != '-')
		return -1;
	r = w3c_decode_hex(buf, off + 3, tc->trace_id, 16);
	if (r <= 0)
		return -1;
	r = w3c_decode_hex(buf, off + 36, tc->parent_id, 8);
	if (r <= 0)
		return -1;
	if (w3c_decode_hex(buf, off + 53, &tc->trace_flags, 1) < 0)
		return -1;
	tc->version = version[0];
	return 0;
}

/* Search state for http1_find_header(); one step examines one position. */
struct http1_header_search {
	const __u8 *buf;
	__u32 end;	 /* bytes searched: min(len, limit) */
	__u32 name_len;	 /* <= 15 */
	char name[16];	 /* lowercase; a copy keeps BPF reads of it in bounds */
	__u32 value_off; /* results */
	__u32 value_len;
	int found;
};

/* Position i (>= 1) of the search: 1 to stop (found, or the header block or
 * the buffer ended), 0 to go on. */
KSPAN_INLINE int http1_header_search_step(__u32 i, struct http1_header_search *s)
{
	const __u8 *buf = s->buf;
	__u32 end = s->end, name_len = s->name_len & 15, v, e;

	if (i + name_len + 1 >= end)
		return 1;
	if (KSPAN_AT(buf, i - 1) != '\n')
		return 0;
	if (KSPAN_AT(buf, i) == '\r' || KSPAN_AT(buf, i) == '\n')
		return 1; /* blank line: end of the header block */
	for (__u32 j = 0; j < 16; j++) {
		if (j >= name_len)
			break;
		if (kspan_ascii_lower(KSPAN_AT(buf, i + j)) != (__u8)s->name[j])
			return 0;
	}
	if (KSPAN_AT(buf, i + name_len) != ':')
		return 0;
	v = i + name_len + 1;
	KSPAN_NO_UNROLL
	for (int k = 0; k < 16 && v < end; k++) {
		__u8 c = KSPAN_AT(buf, v);
		if (c != ' ' && c != '\t')
			break;
		v++;
	}
	e = v;
	KSPAN_NO_UNROLL
	for (int k = 0; k < 600 && e < end; k++) {
		__u8 c = KSPAN_AT(buf, e);
		if (c == '\r' || c == '\n')
			break;
		e++;
	}
	if (e >= end)
		return 1; /* the line is cut by the capture: value unknown */
	KSPAN_NO_UNROLL
	for (int k = 0; k < 16 && e > v; k++) {
		__u8 c = KSPAN_AT(buf, e - 1);
		if (c != ' ' && c != '\t')
			break;
		e--;
	}
	s->value_off = v;
	s->value_len = e - v;
	s->found = 1;
	return 1;
}

#ifdef __BPF__
static long http1_header_search_cb(__u32 index, void *ctx)
{
	return http1_header_search_step(index + 1, ctx);
}
#endif

/* Finds header `name` (lowercase, name_len <= 15) in the header block at
 * buf[0..len): a line start followed by the name, case-insensitively, and
 * ':'. On success stores the value's offset and length, trimmed of optional
 * whitespace, and returns 0; returns -1 when absent. Only the first `limit`
 * bytes (at most KSPAN_CTX_SCAN_MAX) are searched. In BPF the scan runs
 * under bpf_loop() (kernel 5.17+), so the verifier checks one step, not
 * every position. */
KSPAN_INLINE int http1_find_header(const __u8 *buf, __u32 len, __u32 limit, const char *name,
				   __u32 name_len, __u32 *value_off, __u32 *value_len)
{
	struct http1_header_search s = {.buf = buf};

	if (limit > KSPAN_CTX_SCAN_MAX)
		limit = KSPAN_CTX_SCAN_MAX;
	s.end = len < limit ? len : limit;
	if (name_len > 15)
		return -1;
	s.name_len = name_len;
	for (__u32 j = 0; j < 15 && j < name_len; j++)
		s.name[j] = name[j];
#ifdef __BPF__
	bpf_loop(KSPAN_CTX_SCAN_MAX, http1_header_search_cb, &s, 0);
#else
	for (__u32 i = 1; i < KSPAN_CTX_SCAN_MAX; i++)
		if (http1_header_search_step(i, &s))
			break;
#endif
	if (!s.found)
		return -1;
	*value_off = s.value_off;
	*value_len = s.value_len;
	return 0;
}

#endif /* W3C_TRACEPARENT_H */
