/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * hpack_traceparent.h - does an HTTP/2 header block name `traceparent`
 * itself? Shared by the BPF programs (which inject kspan's traceparent into
 * outgoing HEADERS frames only when the block carries none) and the unit and
 * fuzz tests, which run this very code.
 *
 * The kernel keeps no HPACK state. It walks the representations of the block
 * (RFC 7541 section 6) without decoding values, and looks for a literal name
 * equal to "traceparent", raw or Huffman-coded (Huffman coding is canonical,
 * Appendix B: one name has one coding, so the bytes can be compared). A name
 * taken from the dynamic table is not seen: it got there as such a literal
 * earlier on the same connection, which is why the caller stops injecting on
 * a connection for good once one was seen. The static table (Appendix A) has
 * no traceparent.
 */
#ifndef HPACK_TRACEPARENT_H
#define HPACK_TRACEPARENT_H

#include "kspan_bytes.h"

/* Results of hpack_traceparent_scan(). */
#define HPACK_TP_ABSENT	   0  /* the block names no traceparent literally */
#define HPACK_TP_PRESENT   1  /* a literal field is named traceparent */
#define HPACK_TP_MALFORMED -1 /* a representation runs past the block, or is invalid */

/* Little-endian 64-bit words of the names compared: "traceparent" raw (its
 * first eight bytes, then "ent") and in the HPACK Huffman code (eight bytes,
 * padded with EOS bits). Words, not strings: BPF programs compare registers
 * rather than read string constants. */
#define HPACK_TP_LE8(a, b, c, d, e, f, g, h)                                                       \
	((__u64)(a) | (__u64)(b) << 8 | (__u64)(c) << 16 | (__u64)(d) << 24 | (__u64)(e) << 32 |   \
	 (__u64)(f) << 40 | (__u64)(g) << 48 | (__u64)(h) << 56)
#define HPACK_TP_RAW_HEAD    HPACK_TP_LE8('t', 'r', 'a', 'c', 'e', 'p', 'a', 'r')
#define HPACK_TP_RAW_TAIL    HPACK_TP_LE8('e', 'n', 't', 0, 0, 0, 0, 0)
#define HPACK_TP_RAW_LEN     11
#define HPACK_TP_HUFFMAN     HPACK_TP_LE8(0x4d, 0x83, 0x21, 0x6b, 0x1d, 0x85, 0xa9, 0x3f)
#define HPACK_TP_HUFFMAN_LEN 8

struct hpack_tp_scan {
	const __u8 *buf;
	__u32 len; /* end of the header block in buf */
	__u32 pos; /* next representation */
	int result;
};

/* An integer with an N-bit prefix (RFC 7541 5.1) at s->pos, whose first byte
 * keeps `mask` as its prefix; advances s->pos. Values beyond 2^21 need more
 * than three continuation bytes: no header block kspan looks at is that
 * large, so they are malformed here. Returns -1 when malformed. */
KSPAN_INLINE long hpack_tp_integer(struct hpack_tp_scan *s, __u8 mask)
{
	__u32 v, shift = 0;

	if (s->pos >= s->len)
		return -1;
	v = KSPAN_AT(s->buf, s->pos) & mask;
	s->pos++;
	if (v < mask)
		return v;
	for (int i = 0; i < 3; i++) {
		__u8 b;

		if (s->pos >= s->len)
			return -1;
		b = KSPAN_AT(s->buf, s->pos);
		s->pos++;
		v += (__u32)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			return v;
	}
	return -1;
}

/* buf[at..at+n), n <= 8, as a little-endian word. */
KSPAN_INLINE __u64 hpack_tp_word(const __u8 *buf, __u32 at, __u32 n)
{
	__u64 v = 0;

	for (__u32 i = 0; i < 8 && i < n; i++)
		v |= (__u64)KSPAN_AT(buf, at + i) << (8 * i);
	return v;
}

/* Skips a string literal (RFC 7541 5.2); with `name` set, reports whether
 * it is "traceparent". Returns -1 when malformed, else 1 for a match. */
KSPAN_INLINE int hpack_tp_string(struct hpack_tp_scan *s, int name)
{
	__u32 start;
	long n;
	int huffman;

	if (s->pos >= s->len)
		return -1;
	huffman = KSPAN_AT(s->buf, s->pos) & 0x80;
	n = hpack_tp_integer(s, 0x7f);
	if (n < 0 || (__u32)n > s->len - s->pos)
		return -1;
	start = s->pos;
	s->pos += (__u32)n;
	if (!name)
		return 0;
	if (huffman)
		return n == HPACK_TP_HUFFMAN_LEN &&
		       hpack_tp_word(s->buf, start, 8) == HPACK_TP_HUFFMAN;
	return n == HPACK_TP_RAW_LEN && hpack_tp_word(s->buf, start, 8) == HPACK_TP_RAW_HEAD &&
	       hpack_tp_word(s->buf, start + 8, 3) == HPACK_TP_RAW_TAIL;
}

/* One representation at s->pos. Returns 1 to stop (s->result is final). */
KSPAN_INLINE int hpack_tp_step(struct hpack_tp_scan *s)
{
	__u8 first, mask;
	long index;
	int r;

	if (s->pos >= s->len)
		return 1; /* s->result stays HPACK_TP_ABSENT */
	first = KSPAN_AT(s->buf, s->pos);
	if (first & 0x80) { /* indexed field (6.1) */
		index = hpack_tp_integer(s, 0x7f);
		if (index <= 0)
			goto malformed; /* index 0 is a decoding error */
		return 0;
	}
	if ((first & 0xe0) == 0x20) { /* dynamic table size update (6.3) */
		if (hpack_tp_integer(s, 0x1f) < 0)
			goto malformed;
		return 0;
	}
	/* Literal with incremental indexing (6.2.1: 01, 6-bit index), without
	 * indexing (6.2.2: 0000) or never indexed (6.2.3: 0001, 4-bit). */
	mask = (first & 0x40) ? 0x3f : 0x0f;
	index = hpack_tp_integer(s, mask);
	if (index < 0)
		goto malformed;
	if (index == 0) {
		r = hpack_tp_string(s, 1);
		if (r < 0)
			goto malformed;
		if (r == 1) {
			s->result = HPACK_TP_PRESENT;
			return 1;
		}
	}
	if (hpack_tp_string(s, 0) < 0)
		goto malformed;
	return 0;
malformed:
	s->result = HPACK_TP_MALFORMED;
	return 1;
}

#ifdef __BPF__
static long hpack_tp_step_cb(__u32 index, void *ctx)
{
	(void)index;
	return hpack_tp_step(ctx);
}
#endif

/* Scans the block buf[start..end), end <= KSPAN_CAPTURE_MAX (every
 * representation takes at least one byte, so that many steps always reach
 * the end). */
KSPAN_INLINE int hpack_traceparent_scan(const __u8 *buf, __u32 start, __u32 end)
{
	struct hpack_tp_scan s = {.buf = buf, .len = end, .pos = start, .result = HPACK_TP_ABSENT};

	if (end > KSPAN_CAPTURE_MAX || start > end)
		return HPACK_TP_MALFORMED;
#ifdef __BPF__
	bpf_loop(KSPAN_CAPTURE_MAX + 1, hpack_tp_step_cb, &s, 0);
#else
	for (__u32 i = 0; i <= KSPAN_CAPTURE_MAX; i++)
		if (hpack_tp_step(&s))
			break;
#endif
	return s.result;
}

#endif /* HPACK_TRACEPARENT_H */
