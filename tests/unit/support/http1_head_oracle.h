/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http1_head_oracle.h - the byte-at-a-time head searches that
 * include/http1_head_scan.h replaced in the BPF programs (kspan before
 * issue 13), kept only as the oracle of the unit and fuzz tests, which
 * compare the two on many heads. Host code only; the text is the old
 * one, renamed oracle_*.
 */
#ifndef HTTP1_HEAD_ORACLE_H
#define HTTP1_HEAD_ORACLE_H

#include "http1_request_shape.h"
#include "w3c_traceparent.h"
#include "w3c_tracestate.h"

#include <string.h>

struct oracle_request_shape {
	const __u8 *buf;
	__u32 len;	 /* bytes examined */
	__u32 line_end;	 /* offset just past the request line's CRLF, 0 if unseen */
	__u32 block_end; /* offset just past the blank line, 0 if unseen */
};

/*
 * Two passes, each stopping at its first match, so that no step reads what an
 * earlier step wrote: the 6.1 verifier checks a bpf_loop callback once, with
 * the fields as they were before the loop (fixed in 6.7 by "bpf: verify
 * callbacks as if they are called unknown number of times"), and removes the
 * branches that a field written by an earlier iteration would take.
 *
 * Pass 1, position i (>= 1): the first LF ends the request line. A request
 * line ending in a bare LF is left alone (line_end stays 0): the inserted line
 * must use the request's own line ending, and CRLF is the only one RFC 9112
 * requires recipients to accept everywhere. 1 to stop, 0 to go on.
 */
static inline int oracle_request_line_step(__u32 i, struct oracle_request_shape *s)
{
	const __u8 *buf = s->buf;

	if (i >= s->len)
		return 1;
	if (KSPAN_AT(buf, i) != '\n')
		return 0;
	if (KSPAN_AT(buf, i - 1) == '\r')
		s->line_end = i + 1;
	return 1;
}

/* Pass 2, position i (>= 3): "\n\r\n" ends the blank line that closes the
 * header block (its first LF is the request line's own, or a later one). */
static inline int oracle_request_block_step(__u32 i, struct oracle_request_shape *s)
{
	const __u8 *buf = s->buf;

	if (i >= s->len)
		return 1;
	if (KSPAN_AT(buf, i) != '\n' || KSPAN_AT(buf, i - 1) != '\r' ||
	    KSPAN_AT(buf, i - 2) != '\n')
		return 0;
	s->block_end = i + 1;
	return 1;
}

/* Scans buf[0..min(len, KSPAN_CTX_SCAN_MAX)). */
static inline void oracle_request_shape_scan(const __u8 *buf, __u32 len,
					     struct oracle_request_shape *s)
{
	s->buf = buf;
	s->len = len < KSPAN_CTX_SCAN_MAX ? len : KSPAN_CTX_SCAN_MAX;
	s->line_end = 0;
	s->block_end = 0;
	for (__u32 i = 1; i < KSPAN_CTX_SCAN_MAX; i++)
		if (oracle_request_line_step(i, s))
			break;
	for (__u32 i = 3; s->line_end && i < KSPAN_CTX_SCAN_MAX; i++)
		if (oracle_request_block_step(i, s))
			break;
}

/* One pass of the framing field search: the first line at or after `from`
 * (and before `end`, the header block's end) that names Content-Length or
 * Transfer-Encoding. */
struct oracle_field_search {
	const __u8 *buf;
	__u32 from;  /* first position examined (>= 1) */
	__u32 end;   /* block_end */
	__u32 at;    /* result: offset just past the field name's ':' */
	__u32 which; /* result: HTTP1_FIELD_*, 0 when none */
};

/* Position i of the search: 1 to stop (found, or the block ended), 0 to go on. */
static inline int oracle_field_search_step(__u32 i, struct oracle_field_search *s)
{
	const __u8 *buf = s->buf;

	if (i + 15 > s->end)
		return 1; /* no room left for "content-length:" and a value */
	if (KSPAN_AT(buf, i - 1) != '\n')
		return 0;
	if (http1_name_at(buf, i, "content-length:", 15)) {
		s->at = i + 15;
		s->which = HTTP1_FIELD_CONTENT_LENGTH;
		return 1;
	}
	if (i + 18 <= s->end && http1_name_at(buf, i, "transfer-encoding:", 18)) {
		s->at = i + 18;
		s->which = HTTP1_FIELD_TRANSFER_ENCODING;
		return 1;
	}
	return 0;
}

static inline void oracle_field_search_run(struct oracle_field_search *s)
{
	s->at = 0;
	s->which = 0;
	for (__u32 i = s->from; i < s->from + KSPAN_CTX_SCAN_MAX; i++)
		if (oracle_field_search_step(i, s))
			break;
}

/*
 * The framing of a request whose head `shape` scanned. Returns 0 with f
 * filled; -1 when the request line does not end in HTTP/1.0 or HTTP/1.1 (not
 * a request kspan may edit); -2 when the head is not whole in the bytes
 * scanned (its length is unknown).
 */
static inline int oracle_request_frame_of(const struct oracle_request_shape *shape,
					  struct http1_request_frame *f)
{
	struct oracle_field_search s = {.buf = shape->buf, .from = 1, .end = shape->block_end};
	__u32 first;

	f->head_len = shape->block_end;
	f->body_len = 0;
	f->body = HTTP1_BODY_UNFRAMED;
	if (!shape->line_end)
		return -2;
	if (!http1_request_line_is_http1x(shape->buf, shape->line_end))
		return -1;
	if (!shape->block_end)
		return -2;
	s.from = shape->line_end;
	oracle_field_search_run(&s);
	if (!s.which) {
		f->body = HTTP1_BODY_LENGTH; /* neither field: no body (section 6.3, 6.) */
		return 0;
	}
	if (s.which != HTTP1_FIELD_CONTENT_LENGTH)
		return 0; /* Transfer-Encoding: unframed */
	first = s.at;
	if (http1_content_length_value(shape->buf, first, shape->block_end, &f->body_len))
		return 0;
	/* Any second Content-Length or a Transfer-Encoding after it. */
	s.from = first;
	oracle_field_search_run(&s);
	if (s.which)
		return 0;
	f->body = HTTP1_BODY_LENGTH;
	return 0;
}

/* Decodes `n` bytes (2 hex chars each) from buf[off..] into out[]; returns
 * the OR of all decoded bytes (0 means all zero) or -1 on a non-hex char. */
static inline int oracle_decode_hex(const __u8 *buf, __u32 off, __u8 *out, __u32 n)
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
static inline int oracle_traceparent_parse(const __u8 *buf, __u32 off, __u32 len,
					   struct w3c_trace_context *tc)
{
	__u8 version[1];
	int r;

	if (len < W3C_TRACEPARENT_LEN)
		return -1;
	if (oracle_decode_hex(buf, off, version, 1) < 0 || version[0] == 0xff)
		return -1;
	if (version[0] == 0 && len != W3C_TRACEPARENT_LEN)
		return -1;
	if (len > W3C_TRACEPARENT_LEN && KSPAN_AT(buf, off + W3C_TRACEPARENT_LEN) != '-')
		return -1;
	if (KSPAN_AT(buf, off + 2) != '-' || KSPAN_AT(buf, off + 35) != '-' ||
	    KSPAN_AT(buf, off + 52) != '-')
		return -1;
	r = oracle_decode_hex(buf, off + 3, tc->trace_id, 16);
	if (r <= 0)
		return -1;
	r = oracle_decode_hex(buf, off + 36, tc->parent_id, 8);
	if (r <= 0)
		return -1;
	if (oracle_decode_hex(buf, off + 53, &tc->trace_flags, 1) < 0)
		return -1;
	tc->version = version[0];
	return 0;
}

/* Search state for oracle_find_header(); one step examines one position. */
struct oracle_header_search {
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
static inline int oracle_header_search_step(__u32 i, struct oracle_header_search *s)
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

/* Finds header `name` (lowercase, name_len <= 15) in the header block at
 * buf[0..len): a line start followed by the name, case-insensitively, and
 * ':'. On success stores the value's offset and length, trimmed of optional
 * whitespace, and returns 0; returns -1 when absent. Only the first `limit`
 * bytes (at most KSPAN_CTX_SCAN_MAX) are searched. In BPF the scan runs
 * under bpf_loop() (kernel 5.17+), so the verifier checks one step, not
 * every position. */
static inline int oracle_find_header(const __u8 *buf, __u32 len, __u32 limit, const char *name,
				     __u32 name_len, __u32 *value_off, __u32 *value_len)
{
	struct oracle_header_search s = {.buf = buf};

	if (limit > KSPAN_CTX_SCAN_MAX)
		limit = KSPAN_CTX_SCAN_MAX;
	s.end = len < limit ? len : limit;
	if (name_len > 15)
		return -1;
	s.name_len = name_len;
	for (__u32 j = 0; j < 15 && j < name_len; j++)
		s.name[j] = name[j];
	for (__u32 i = 1; i < KSPAN_CTX_SCAN_MAX; i++)
		if (oracle_header_search_step(i, &s))
			break;
	if (!s.found)
		return -1;
	*value_off = s.value_off;
	*value_len = s.value_len;
	return 0;
}

/* The old one-pass trace field scan, from the first byte. */
static inline void oracle_trace_fields_scan(const __u8 *buf, __u32 len, __u32 limit,
					    struct http1_trace_fields *f)
{
	__u32 end;

	if (limit > KSPAN_CTX_SCAN_MAX)
		limit = KSPAN_CTX_SCAN_MAX;
	end = len < limit ? len : limit;
	memset(f, 0, sizeof(*f));
	for (__u32 i = 1; i <= KSPAN_CTX_SCAN_MAX; i++)
		if (http1_trace_fields_step(i, buf, end, f))
			break;
}

#include "http1_head_scan.h"

/*
 * Do the head scan and the decisions made from it agree with the oracle on
 * buf[0..len)? Returns NULL, or what differs. A head of more than
 * HTTP1_HEAD_SCAN_LINES lines in the scanned bytes is not compared: the scan
 * stops there by design (h.incomplete), the oracle does not.
 */
static inline const char *head_scan_differs_from_oracle(const __u8 *buf, __u32 len)
{
	static struct http1_trace_fields old_fields, new_fields;
	struct oracle_request_shape shape;
	struct http1_request_frame old_frame = {0}, new_frame = {0};
	struct w3c_trace_context old_tc = {0}, new_tc = {0};
	struct http1_head_scan h;
	__u32 old_off = 0, old_len = 0, new_off = 0, new_len = 0, old_ts, new_ts = 0;
	int old_rc, new_rc;

	http1_head_scan_run(buf, len, &h);
	if (h.incomplete)
		return NULL;
	oracle_request_shape_scan(buf, len, &shape);
	if (shape.line_end != h.line_end)
		return "line_end";
	if (shape.block_end != h.block_end)
		return "block_end";
	old_rc = oracle_request_frame_of(&shape, &old_frame);
	new_rc = http1_request_frame_of_scan(buf, &h, &new_frame);
	if (old_rc != new_rc)
		return "frame rc";
	if (memcmp(&old_frame, &new_frame, sizeof(old_frame)) != 0)
		return "frame";

	old_rc =
	    oracle_find_header(buf, len, KSPAN_CTX_SCAN_MAX, "traceparent", 11, &old_off, &old_len);
	new_rc = h.traceparent_line
		     ? http1_head_field_value(buf, &h, h.traceparent_line, 11, &new_off, &new_len)
		     : -1;
	if (old_rc != new_rc)
		return "traceparent found";
	if (old_rc == 0 && (old_off != new_off || old_len != new_len))
		return "traceparent value";
	if (old_rc == 0) {
		old_rc = oracle_traceparent_parse(buf, old_off, old_len, &old_tc);
		new_rc = w3c_traceparent_parse(buf, new_off, new_len, &new_tc);
		if (old_rc != new_rc)
			return "traceparent parse";
		if (old_rc == 0 && memcmp(&old_tc, &new_tc, sizeof(old_tc)) != 0)
			return "traceparent ids";
	}

	oracle_trace_fields_scan(buf, len, KSPAN_CTX_SCAN_MAX, &old_fields);
	if (old_fields.traceparent_lines != h.traceparent_lines)
		return "traceparent lines";
	old_ts = w3c_tracestate_result(&old_fields.tracestate);
	if (h.tracestate_line) {
		http1_trace_fields_scan_from(buf, http1_head_tracestate_end(&h), KSPAN_CTX_SCAN_MAX,
					     h.tracestate_line, &new_fields);
		new_ts = w3c_tracestate_result(&new_fields.tracestate);
	}
	if (old_ts != new_ts)
		return "tracestate length";
	if (old_ts && memcmp(old_fields.tracestate.out, new_fields.tracestate.out, old_ts) != 0)
		return "tracestate value";
	return NULL;
}

#endif /* HTTP1_HEAD_ORACLE_H */
