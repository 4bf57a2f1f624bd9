// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_traceparent.c - libFuzzer target for the decision code shared with
 * the BPF programs: w3c_traceparent.h, w3c_tracestate.h (checked against a
 * plain reading of W3C section 3.3, and its HTTP/1 head scan against the
 * agent's head parser), http1_detect.h, http1_head_scan.h (the request
 * framing, against RFC 9112's rules) and hpack_traceparent.h (checked
 * against nghttp2's HPACK decoder).
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
#include "http1_head_scan.h"
#include "protocol/http1_head.h"
#include "w3c_traceparent.h"
#include "w3c_tracestate.h"

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
	struct http1_head_scan h;
	__u32 line;

	http1_head_scan_run(data, len, &h);
	line = name_len == 11 ? h.traceparent_line : h.tracestate_line;
	if (!line || http1_head_field_value(data, &h, line, name_len, &off, &value_len) != 0)
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
	struct http1_head_scan shape;
	struct http1_request_frame f;
	int rc;

	http1_head_scan_run(data, len, &shape);
	rc = http1_request_frame_of_scan(data, &shape, &f);
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

/* --- tracestate ------------------------------------------------------------ */

/* A second reading of W3C Trace Context section 3.3, written for clarity
 * rather than for the verifier: split each field at commas, trim OWS, split
 * each member at its first "=". Returns the forwarded length in out, or 0. */
struct ref_list {
	char out[KSPAN_TRACESTATE_MAX];
	size_t len, members;
	bool invalid, full;
};

static bool ref_key_ok(const uint8_t *k, size_t n)
{
	if (n == 0 || n > 256 || !((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= '0' && k[0] <= '9')))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') ||
		      strchr("_-*/@", k[i]) != NULL) ||
		    k[i] == 0)
			return false;
	return true;
}

static bool ref_value_ok(const uint8_t *v, size_t n)
{
	if (n == 0 || n > 256 || v[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if (v[i] < 0x20 || v[i] > 0x7e || v[i] == ',' || v[i] == '=')
			return false;
	return true;
}

static void ref_member(struct ref_list *l, const uint8_t *m, size_t n)
{
	const uint8_t *eq;

	while (n && (m[0] == ' ' || m[0] == '\t')) {
		m++;
		n--;
	}
	while (n && (m[n - 1] == ' ' || m[n - 1] == '\t'))
		n--;
	if (n == 0)
		return;
	eq = memchr(m, '=', n);
	if (!eq || !ref_key_ok(m, (size_t)(eq - m)) ||
	    !ref_value_ok(eq + 1, n - (size_t)(eq - m) - 1) || ++l->members > 32) {
		l->invalid = true;
		return;
	}
	if (l->full || l->len + (l->len ? 1 : 0) + n > KSPAN_TRACESTATE_MAX) {
		l->full = true;
		return;
	}
	if (l->len)
		l->out[l->len++] = ',';
	memcpy(l->out + l->len, m, n);
	l->len += n;
}

static void ref_field(struct ref_list *l, const uint8_t *f, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i == n || f[i] == ',') {
			ref_member(l, f + start, i - start);
			start = i + 1;
		}
	}
}

/* Every member of a forwarded list passes the reference reading. */
static void check_forwardable(const char *out, size_t n)
{
	struct ref_list l = {0};

	check(n <= KSPAN_TRACESTATE_MAX);
	if (n == 0)
		return;
	check(out[0] != ',' && out[n - 1] != ',');
	ref_field(&l, (const uint8_t *)out, n);
	check(!l.invalid && !l.full && l.len == n && memcmp(l.out, out, n) == 0);
}

/* The input as tracestate fields, one per line. */
static void check_tracestate_fields(const uint8_t *data, __u32 len)
{
	static struct w3c_tracestate t;
	static struct ref_list l;
	__u32 start = 0, n;

	memset(&t, 0, sizeof(t));
	memset(&l, 0, sizeof(l));
	for (__u32 i = 0; i <= len; i++) {
		if (i < len && data[i] != '\n')
			continue;
		w3c_tracestate_field_begin(&t);
		for (__u32 j = start; j < i; j++)
			w3c_tracestate_field_char(&t, data[j]);
		w3c_tracestate_field_end(&t);
		ref_field(&l, data + start, i - start);
		start = i + 1;
	}
	n = w3c_tracestate_result(&t);
	check(n == (l.invalid ? 0 : l.len));
	check(memcmp(t.out, l.out, n) == 0);
	check_forwardable(t.out, n);
}

/* The kernel's head scan and the agent's head parser agree on a head that
 * ends within the scan window. */
static void check_trace_fields_scan(const uint8_t *data, __u32 len)
{
	static struct http1_trace_fields f;
	static struct http1_head_parse hp;
	__u32 n;

	http1_trace_fields_scan_from(data, len, KSPAN_CTX_SCAN_MAX, 1, &f);
	n = w3c_tracestate_result(&f.tracestate);
	check_forwardable(f.tracestate.out, n);
	if (!f.block_end)
		return;
	http1_head_parse((const char *)data, len, true, &hp);
	if (!hp.start_ok)
		return;
	check(hp.head.traceparent_fields == f.traceparent_lines);
	check(w3c_tracestate_result(&hp.head.tracestate) == n);
	check(memcmp(hp.head.tracestate.out, f.tracestate.out, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	__u32 len = size > 2 * KSPAN_CAPTURE_MAX ? 2 * KSPAN_CAPTURE_MAX : (__u32)size;

	check_traceparent(data, 0, len);
	check_find_header(data, len, "traceparent");
	check_find_header(data, len, "tracestate");
	check_tracestate_fields(data, len);
	check_trace_fields_scan(data, len);
	check_hpack_scan(data, len < KSPAN_CAPTURE_MAX ? len : KSPAN_CAPTURE_MAX);
	check_request_frame(data, len);
	for (__u32 off = 0; off < 4 && off < len; off++) {
		check_request_start(data, off, len);
		check_response_start(data, off, len);
	}
	return 0;
}
