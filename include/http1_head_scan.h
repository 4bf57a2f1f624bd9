/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http1_head_scan.h - one pass over the head of an HTTP/1.x request, 8
 * bytes at a time, that finds everything the kernel decides from it: where
 * the request line and the header block end (where kspan may insert its
 * traceparent, and whether the whole head was seen), the traceparent and
 * tracestate field lines, and the framing fields (Content-Length,
 * Transfer-Encoding) that say where the next request starts. Shared by the
 * BPF programs and the unit and fuzz tests, which compare it with the
 * byte-at-a-time searches it replaced (tests/unit/support/http1_head_oracle.h).
 *
 * How: each word of the head gives a mask of its LF bytes (kspan_words.h);
 * only at the line starts they mark does the scan look at bytes, with one
 * word compare per field name ("tracepar", "tracesta", "content-",
 * "transfer", case-insensitive by OR-ing 0x20 into the letters only) and
 * one for the name's remaining bytes and its ':'. A 110-byte head is 14
 * words and 5 line starts.
 *
 * The 6.1 verifier: the scan is a bounded loop (KSPAN_CTX_SCAN_MAX / 8 = 128
 * words, at most 8 line starts each), not bpf_loop: a bpf_loop callback is
 * checked once, with the state as it was before the loop (fixed in 6.7 by
 * "bpf: verify callbacks as if they are called unknown number of times"), so
 * a stateful pass had to be split into several (see http1_request_shape.h
 * before this file replaced it). A bounded loop is checked iteration by
 * iteration, so its body must not fork the verifier's states: the line
 * start work is branch-free arithmetic, and in BPF the state lives behind a
 * pointer the verifier cannot see into (kspan_head_scan()'s argument), and
 * is reloaded every word (KSPAN_SCAN_RELOAD), so no path knows a field as a
 * constant and none is told apart from another by one.
 *
 * The rules it keeps, each the one the earlier search followed:
 * - line_end: the first LF at offset >= 1 ends the request line; only a
 *   CRLF ending counts (0 otherwise: kspan inserts with the request's own
 *   line ending, and CRLF is the one RFC 9112 section 2.2 requires
 *   recipients to accept).
 * - block_end: just past the first "\n\r\n" after the request line
 *   (0 when line_end is 0, or the block does not end in the bytes scanned).
 * - traceparent_line: the first line that names traceparent before a line
 *   starting with CR or LF, when 13 bytes of it fit in the scan.
 * - traceparent_lines, tracestate_line: counted and found up to the blank
 *   line ("\n" or "\r\n" at a line start), as the tracestate parser reads
 *   the head (w3c_tracestate.h): more than one traceparent line makes the
 *   traceparent invalid (W3C section 3.2).
 * - framing_line, framing_lines: Content-Length or Transfer-Encoding lines
 *   after the request line and before block_end.
 * Field names are followed by ':' directly (RFC 9112 section 5.1).
 */
#ifndef HTTP1_HEAD_SCAN_H
#define HTTP1_HEAD_SCAN_H

#include "http1_request_shape.h"
#include "kspan_words.h"

struct http1_head_scan {
	__u64 lfs;		 /* LFs of the word at `word` not yet looked at (0x80 each) */
	__u32 line_end;		 /* offset just past the request line's CRLF, 0 if unseen */
	__u32 block_end;	 /* offset just past the blank line, 0 if unseen */
	__u32 traceparent_line;	 /* offset of the traceparent line, 0: none */
	__u32 traceparent_lines; /* traceparent lines before the blank line */
	__u32 tracestate_line;	 /* offset of the first tracestate line, 0: none */
	__u32 framing_line;	 /* offset of the first framing field line, 0: none */
	__u32 framing_lines;	 /* framing field lines */
	__u32 framing_which;	 /* HTTP1_FIELD_* of framing_line */
	__u32 tracestate_stop;	 /* just past the first byte of the line after the last
				  * tracestate line, 0: unknown (the list may run to `end`) */
	__u32 incomplete;	 /* more than HTTP1_HEAD_SCAN_LINES lines: the scan stopped */
	/* Progress, kept with the results so that BPF holds all of it where
	 * the verifier does not track values. */
	__u32 line_seen;   /* the first LF at offset >= 1 was seen */
	__u32 after_ts;	   /* the previous line was a tracestate line */
	__u32 search_over; /* a line starting with CR or LF was seen */
	__u32 fields_over; /* the blank line was seen */
	__u32 end;	   /* bytes scanned: min(len, KSPAN_CTX_SCAN_MAX) */
	__u32 word;	   /* offset of the word lfs came from */
	__u32 next;	   /* offset of the next word */
};

/* Steps of the scan: one per LF-free word and one per line, so heads of up
 * to 128 lines in KSPAN_CTX_SCAN_MAX bytes are scanned whole. */
#define HTTP1_HEAD_SCAN_LINES 128
#define HTTP1_HEAD_SCAN_STEPS (KSPAN_CTX_SCAN_MAX / 8 + HTTP1_HEAD_SCAN_LINES)

/* Little-endian words of the names compared, lowercase. */
#define HTTP1_W_TRACEPAR     0x7261706563617274ull /* "tracepar" */
#define HTTP1_W_TRACESTA     0x6174736563617274ull /* "tracesta" */
#define HTTP1_W_ENT_COLON    0x3a746e65ull	   /* "ent:" */
#define HTTP1_W_TE_COLON     0x3a6574ull	   /* "te:" */
#define HTTP1_W_CONTENT_     0x2d746e65746e6f63ull /* "content-" */
#define HTTP1_W_LENGTH_COLON 0x3a6874676e656cull   /* "length:" */
#define HTTP1_W_TRANSFER     0x726566736e617274ull /* "transfer" */
#define HTTP1_W__ENCODIN     0x6e69646f636e652dull /* "-encodin" */
#define HTTP1_W_G_COLON	     0x3a67ull		   /* "g:" */

#ifdef __BPF__
/* Forget what the compiler knows of *h: reload it from memory the verifier
 * does not track (see the file comment). */
#define KSPAN_SCAN_RELOAD() asm volatile("" ::: "memory")
#else
#define KSPAN_SCAN_RELOAD()
#endif

/* The line that starts just past the LF at offset p. */
KSPAN_INLINE void http1_head_scan__line(const __u8 *buf, __u32 p, struct http1_head_scan *h)
{
	__u64 end = h->end, s = (__u64)p + 1;
	__u64 w0 = kspan_load64(buf, (__u32)s, (__u32)end);
	__u64 w8 = kspan_load64(buf, (__u32)s + 8, (__u32)end);
	__u64 w16 = kspan_load64(buf, (__u32)s + 16, (__u32)end);
	__u64 lower = w0 | KSPAN_BYTES_20;
	__u64 in = kspan_lt(s, end), has1 = kspan_lt(s + 1, end);
	__u64 c0 = w0 & 0xff, c1 = (w0 >> 8) & 0xff;
	__u64 lf0 = kspan_eq(c0, '\n') & in, cr0 = kspan_eq(c0, '\r') & in;
	__u64 crlf = cr0 & kspan_eq(c1, '\n') & has1;
	__u64 first_lf = (h->line_seen ^ 1) & kspan_nz(p);
	__u64 prev_cr = kspan_eq(KSPAN_AT(buf, p - (__u32)kspan_nz(p)), '\r');
	__u64 tp, ts, cl, te, framing, open;

	/* The request line: its LF is the first one at offset >= 1. */
	h->line_end += (__u32)(first_lf * prev_cr * (p + 1));
	h->line_seen |= (__u32)first_lf;

	tp = kspan_eq(lower, HTTP1_W_TRACEPAR) &
	     kspan_eq((w8 & 0xffffffffull) | 0x00202020ull, HTTP1_W_ENT_COLON);
	open = h->fields_over ^ 1;
	h->traceparent_lines += (__u32)(tp & kspan_lt(s + 11, end) & open);
	h->traceparent_line += (__u32)(s * (tp & kspan_lt(s + 12, end) & (h->search_over ^ 1) &
					    (kspan_nz(h->traceparent_line) ^ 1)));

	ts = kspan_eq(lower, HTTP1_W_TRACESTA) &
	     kspan_eq((w8 & 0xffffffull) | 0x002020ull, HTTP1_W_TE_COLON) & kspan_lt(s + 10, end) &
	     open;
	h->tracestate_line += (__u32)(s * (ts & (kspan_nz(h->tracestate_line) ^ 1)));
	/* The list's parse may stop one byte into the line after its last
	 * line (that byte tells an obsolete line folding, RFC 9112 section
	 * 5.2); a later tracestate line moves the stop again. */
	h->tracestate_stop += (__u32)((s + 1 - h->tracestate_stop) * (h->after_ts & open & in));
	h->tracestate_stop -= (__u32)(h->tracestate_stop * ts);
	h->after_ts = (__u32)ts;

	/* '-' and ':' are compared exactly: OR-ing 0x20 would also match
	 * CR (0x0d | 0x20 == '-') and 0x1a. */
	cl = kspan_eq(w0 | 0x0020202020202020ull, HTTP1_W_CONTENT_) &
	     kspan_eq((w8 & 0x00ffffffffffffffull) | 0x0000202020202020ull, HTTP1_W_LENGTH_COLON) &
	     kspan_lt(s + 14, end);
	te = kspan_eq(lower, HTTP1_W_TRANSFER) &
	     kspan_eq(w8 | 0x2020202020202000ull, HTTP1_W__ENCODIN) &
	     kspan_eq((w16 & 0xffffull) | 0x0020ull, HTTP1_W_G_COLON) & kspan_lt(s + 17, end);
	framing = (cl | te) & kspan_nz(h->line_end);
	h->framing_which += (__u32)((cl + 2 * te) * (framing & (kspan_nz(h->framing_lines) ^ 1)));
	h->framing_line += (__u32)(s * (framing & (kspan_nz(h->framing_lines) ^ 1)));
	h->framing_lines += (__u32)framing;

	/* "\n\r\n" ends the header block, after the request line. */
	h->block_end += (__u32)((s + 2) * (crlf & kspan_nz(h->line_end)));
	h->search_over |= (__u32)(lf0 | cr0);
	h->fields_over |= (__u32)(lf0 | crlf);
}

/*
 * Scans buf[0..min(len, KSPAN_CTX_SCAN_MAX)) into *h. One loop, each step
 * either takes the next word (when the current one has no LF left) or one
 * line start, so that the verifier walks HTTP1_HEAD_SCAN_STEPS bodies, not
 * words times the 8 line starts a word may hold; every value that differs
 * between steps lives in *h.
 */
KSPAN_INLINE void http1_head_scan_run(const __u8 *buf, __u32 len, struct http1_head_scan *h)
{
	__builtin_memset(h, 0, sizeof(*h));
	h->end = len < KSPAN_CTX_SCAN_MAX ? len : KSPAN_CTX_SCAN_MAX;
	KSPAN_NO_UNROLL
	for (__u32 i = 0; i < HTTP1_HEAD_SCAN_STEPS; i++) {
		__u32 p;

		KSPAN_SCAN_RELOAD();
		if (h->block_end)
			return;
		if (!h->lfs) {
			__u32 at = h->next;

			if (at >= h->end)
				return;
			h->word = at;
			h->next = at + 8;
			h->lfs = kspan_bytes_equal(kspan_load64(buf, at, h->end), '\n') &
				 kspan_first_bytes(h->end - at);
			if (!h->lfs)
				continue;
		}
		p = h->word + kspan_lowest_marked_byte(h->lfs);
		h->lfs &= h->lfs - 1;
		http1_head_scan__line(buf, p, h);
	}
	KSPAN_SCAN_RELOAD();
	if (!h->block_end && (h->lfs || h->next < h->end))
		h->incomplete = 1;
}

/* Where the tracestate list's parse (w3c_tracestate.h) may stop: past it,
 * the head holds nothing that changes the list. */
KSPAN_INLINE __u32 http1_head_tracestate_end(const struct http1_head_scan *h)
{
	__u32 stop = h->tracestate_stop;

	return stop && stop < h->end ? stop : h->end;
}

/*
 * The value of the field whose line starts at `line` (a name of name_len
 * characters, then ':'): leading and trailing spaces and tabs removed (at
 * most 16 each), ended by the first CR or LF, at most 600 bytes. Returns 0
 * with *off and *len, or -1 when no CR or LF ends it inside the scan (the
 * capture cut it: its value is unknown).
 */
KSPAN_INLINE int http1_head_field_value(const __u8 *buf, const struct http1_head_scan *h,
					__u32 line, __u32 name_len, __u32 *off, __u32 *len)
{
	__u32 end = h->end, v = line + name_len + 1, e, stop;

	KSPAN_NO_UNROLL
	for (int k = 0; k < 16 && v < end; k++) {
		__u8 c = KSPAN_AT(buf, v);
		if (!(kspan_eq(c, ' ') | kspan_eq(c, '\t')))
			break;
		v++;
	}
	/* Through memory: in BPF, *off is where the verifier tracks no
	 * value, so the loop's exits above meet again here (file comment). */
	*off = v;
	KSPAN_SCAN_RELOAD();
	v = *off;
	stop = v + 600 < end ? v + 600 : end;
	e = stop;
	KSPAN_NO_UNROLL
	for (__u32 k = 0; k < 600 / 8 + 1; k++) {
		__u32 at = v + k * 8;
		__u64 w, m;

		if (at >= stop)
			break;
		w = kspan_load64(buf, at, end);
		m = (kspan_bytes_equal(w, '\r') | kspan_bytes_equal(w, '\n')) &
		    kspan_first_bytes(stop - at);
		if (m) {
			e = at + kspan_lowest_marked_byte(m);
			break;
		}
	}
	*len = e;
	KSPAN_SCAN_RELOAD();
	e = *len;
	if (e >= end)
		return -1;
	KSPAN_NO_UNROLL
	for (int k = 0; k < 16 && e > v; k++) {
		__u8 c = KSPAN_AT(buf, e - 1);
		if (!(kspan_eq(c, ' ') | kspan_eq(c, '\t')))
			break;
		e--;
	}
	*off = v;
	*len = e - v;
	return 0;
}

/*
 * The framing of the request whose head *h scanned (RFC 9112 section 6.3,
 * http1_request_shape.h). Returns 0 with f filled; -1 when the request line
 * does not end in HTTP/1.0 or HTTP/1.1; -2 when the head is not whole in
 * the bytes scanned.
 */
KSPAN_INLINE int http1_request_frame_of_scan(const __u8 *buf, const struct http1_head_scan *h,
					     struct http1_request_frame *f)
{
	f->head_len = h->block_end;
	f->body_len = 0;
	f->body = HTTP1_BODY_UNFRAMED;
	if (!h->line_end)
		return -2;
	if (!http1_request_line_is_http1x(buf, h->line_end))
		return -1;
	if (!h->block_end)
		return -2;
	if (!h->framing_lines) {
		f->body = HTTP1_BODY_LENGTH; /* neither field: no body (section 6.3, 6.) */
		return 0;
	}
	if (h->framing_which != HTTP1_FIELD_CONTENT_LENGTH)
		return 0; /* Transfer-Encoding: unframed */
	if (http1_content_length_value(buf, h->framing_line + 15, h->block_end, &f->body_len))
		return 0;
	if (h->framing_lines > 1)
		return 0; /* a second Content-Length, or a Transfer-Encoding */
	f->body = HTTP1_BODY_LENGTH;
	return 0;
}

#endif /* HTTP1_HEAD_SCAN_H */
