/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * w3c_tracestate.h - W3C Trace Context `tracestate`: the value kspan forwards
 * and reports, decided by the same code in the BPF programs (which insert it
 * into the CLIENT requests of the thread serving the request) and in the
 * agent (span.trace_state), so that both agree on every request.
 *
 * https://www.w3.org/TR/trace-context/ section 3.3, with the key grammar of
 * the current editor's draft (w3c/trace-context#584, which the official test
 * suite follows):
 *   list        = list-member 0*31( OWS "," OWS list-member )
 *   list-member = (key "=" value) / OWS
 *   key         = ( lcalpha / DIGIT ) 0*255( keychar )
 *   keychar     = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"
 *   value       = 0*255(chr) nblk-chr
 *   nblk-chr    = %x21-2B / %x2D-3C / %x3E-7E
 *   chr         = %x20 / nblk-chr
 * Several tracestate fields are one list, in order (section 3.3.1, RFC 9110
 * section 5.3); empty and whitespace-only members are allowed and dropped;
 * trailing spaces of a value are optional whitespace, not part of it (a tab
 * is never part of a value). The key grammar of the 2021 Recommendation
 * (tenant@system, 241 and 14 characters) accepts a subset of these keys.
 *
 * What is forwarded: nothing when any member breaks the grammar or there are
 * more than 32 (section 4.3.1: a vendor that failed to parse tracestate must
 * not propagate invalid entries; a remote client must never make a traced
 * service send a tracestate that a strict parser rejects). Otherwise the
 * non-empty members joined by "," without whitespace; when they exceed
 * KSPAN_TRACESTATE_MAX characters, whole members are dropped from the end
 * (section 3.3.1.5; the advice to drop members longer than 128 characters
 * first is not followed: it needs a second pass). Duplicate keys are
 * forwarded as received: uniqueness is the sender's duty (section 3.3.1.3).
 */
#ifndef W3C_TRACESTATE_H
#define W3C_TRACESTATE_H

#include "kspan_bytes.h"

#define W3C_TRACESTATE_MAX_MEMBERS 32
#define W3C_TRACESTATE_KEY_MAX	   256
#define W3C_TRACESTATE_VALUE_MAX   256

enum w3c_tracestate_phase {
	W3C_TS_BETWEEN = 0, /* before a member: OWS, "," or a key's first character */
	W3C_TS_KEY = 1,
	W3C_TS_VALUE = 2,
};

/*
 * The combined tracestate of one request, fed one field value at a time
 * (w3c_tracestate_field_begin/char/end), then read with
 * w3c_tracestate_result(). Zero-initialised is ready. out[0..out_len) holds
 * the members accepted so far; the current member is written after them at
 * `cursor` and kept when it ends.
 */
struct w3c_tracestate {
	__u32 out_len;	   /* committed bytes of out[] */
	__u32 cursor;	   /* where the current member's next byte goes */
	__u32 key_len;	   /* of the current member */
	__u32 value_len;   /* of the current member, its trailing OWS included */
	__u32 trailing_ws; /* SP/HTAB at the end of the value so far */
	__u32 members;	   /* non-empty members seen */
	__u32 fields;	   /* tracestate fields seen */
	__u8 phase;	   /* enum w3c_tracestate_phase */
	__u8 trailing_tab; /* a tab among trailing_ws: the value must end here */
	__u8 invalid;	   /* the list breaks the grammar: nothing is forwarded */
	__u8 full;	   /* a member did not fit in out[]: it and later ones are dropped */
	char out[KSPAN_TRACESTATE_MAX];
};

KSPAN_INLINE int w3c_tracestate_is_keychar(__u8 c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
	       c == '*' || c == '/' || c == '@';
}

/* nblk-chr: printable ASCII but space, "," and "=". */
KSPAN_INLINE int w3c_tracestate_is_nblk(__u8 c)
{
	return c >= 0x21 && c <= 0x7e && c != ',' && c != '=';
}

/* One byte of the current member into out[], when there is room. */
KSPAN_INLINE void w3c_tracestate__put(struct w3c_tracestate *t, __u8 c)
{
	__u32 at = t->cursor;

	if (!t->full && at < KSPAN_TRACESTATE_MAX)
		t->out[at & (KSPAN_TRACESTATE_MAX - 1)] = (char)c;
	t->cursor = at + 1;
}

/* The current member ends (at "," or the end of its field). */
KSPAN_INLINE void w3c_tracestate__member_end(struct w3c_tracestate *t)
{
	__u32 value = t->value_len - t->trailing_ws, end = t->cursor - t->trailing_ws;

	t->phase = W3C_TS_BETWEEN;
	if (value == 0 || value > W3C_TRACESTATE_VALUE_MAX) {
		t->invalid = 1;
		return;
	}
	if (++t->members > W3C_TRACESTATE_MAX_MEMBERS) {
		t->invalid = 1;
		return;
	}
	if (t->full || end > KSPAN_TRACESTATE_MAX) {
		t->full = 1; /* dropped, and every later member with it */
		return;
	}
	t->out_len = end;
}

KSPAN_INLINE void w3c_tracestate_field_begin(struct w3c_tracestate *t)
{
	t->fields++;
	t->phase = W3C_TS_BETWEEN;
}

/* The next byte of the current field's value. */
KSPAN_INLINE void w3c_tracestate_field_char(struct w3c_tracestate *t, __u8 c)
{
	if (t->invalid)
		return;
	if (t->phase == W3C_TS_BETWEEN) {
		if (c == ' ' || c == '\t' || c == ',')
			return; /* OWS, or an empty member */
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
			t->invalid = 1;
			return;
		}
		t->phase = W3C_TS_KEY;
		t->cursor = t->out_len;
		t->key_len = 1;
		if (t->out_len)
			w3c_tracestate__put(t, ',');
		w3c_tracestate__put(t, c);
		return;
	}
	if (t->phase == W3C_TS_KEY) {
		if (c == '=') {
			t->phase = W3C_TS_VALUE;
			t->value_len = 0;
			t->trailing_ws = 0;
			t->trailing_tab = 0;
			w3c_tracestate__put(t, c);
			return;
		}
		if (!w3c_tracestate_is_keychar(c) || ++t->key_len > W3C_TRACESTATE_KEY_MAX) {
			t->invalid = 1;
			return;
		}
		w3c_tracestate__put(t, c);
		return;
	}
	/* W3C_TS_VALUE */
	if (c == ',') {
		w3c_tracestate__member_end(t);
		return;
	}
	if (c == ' ' || c == '\t') {
		t->trailing_ws++;
		t->trailing_tab |= c == '\t';
	} else if (w3c_tracestate_is_nblk(c) && !t->trailing_tab) {
		t->trailing_ws = 0;
	} else {
		t->invalid = 1; /* "=", a control byte, or a tab inside the value */
		return;
	}
	t->value_len++;
	w3c_tracestate__put(t, c);
}

/* The current field ended: its last member ends with it. */
KSPAN_INLINE void w3c_tracestate_field_end(struct w3c_tracestate *t)
{
	if (t->invalid)
		return;
	if (t->phase == W3C_TS_KEY)
		t->invalid = 1; /* a key without "=" */
	else if (t->phase == W3C_TS_VALUE)
		w3c_tracestate__member_end(t);
}

/* What to forward: the length of out[] (0: nothing, also when the list
 * was empty), once the last field ended. */
KSPAN_INLINE __u32 w3c_tracestate_result(const struct w3c_tracestate *t)
{
	if (t->invalid || t->phase != W3C_TS_BETWEEN || t->out_len > KSPAN_TRACESTATE_MAX)
		return 0;
	return t->out_len;
}

/*
 * The trace context fields of an HTTP/1.x request head, found in one pass
 * over buf[0..end) by http1_trace_fields_scan(): how many traceparent field
 * lines there are (W3C section 3.2: more than one makes the traceparent
 * invalid), and the combined tracestate of every tracestate line. A
 * tracestate line cut by `end`, or continued by an obsolete line folding
 * (RFC 9112 section 5.2), makes the tracestate invalid: its value is not
 * known. Lines after `end` are not seen.
 */
struct http1_trace_fields {
	__u32 traceparent_lines;
	__u32 value_from; /* offset of the tracestate value being read */
	__u8 in_value;	  /* reading a tracestate line's value */
	__u8 after_ts;	  /* the previous line was a tracestate line */
	__u8 block_end;	  /* the blank line that ends the head was seen */
	__u8 _pad;
	struct w3c_tracestate tracestate;
};

/* Does the line starting at buf[i] name the field `name` (lowercase, n
 * characters), directly followed by ":"? Field names are case-insensitive
 * and may not be followed by whitespace (RFC 9112 section 5.1). */
KSPAN_INLINE int http1_line_names(const __u8 *buf, __u32 i, __u32 end, const char *name, __u32 n)
{
	if (i + n >= end)
		return 0;
	for (__u32 j = 0; j < n; j++) {
		if (kspan_ascii_lower(KSPAN_AT(buf, i + j)) != (__u8)name[j])
			return 0;
	}
	return KSPAN_AT(buf, i + n) == ':';
}

/* Position i (>= 1) of the scan: 1 to stop, 0 to go on. Reads the state
 * only through `f`, which the BPF caller keeps in a map (see
 * http1_trace_fields_scan). */
KSPAN_INLINE int http1_trace_fields_step(__u32 i, const __u8 *buf, __u32 end,
					 struct http1_trace_fields *f)
{
	__u8 c;

	if (i >= end) {
		if (f->in_value)
			f->tracestate.invalid = 1; /* cut: the rest of its value is unknown */
		return 1;
	}
	c = KSPAN_AT(buf, i);
	if (KSPAN_AT(buf, i - 1) == '\n') {
		if (c == '\n' || (c == '\r' && i + 1 < end && KSPAN_AT(buf, i + 1) == '\n')) {
			f->block_end = 1; /* the blank line */
			return 1;
		}
		if ((c == ' ' || c == '\t') && f->after_ts) {
			f->tracestate.invalid = 1; /* an obs-fold continues it */
			return 0;
		}
		f->after_ts = 0;
		if (http1_line_names(buf, i, end, "traceparent", 11)) {
			f->traceparent_lines++;
		} else if (http1_line_names(buf, i, end, "tracestate", 10)) {
			f->in_value = 1;
			f->after_ts = 1;
			f->value_from = i + 11;
			w3c_tracestate_field_begin(&f->tracestate);
		}
		return 0;
	}
	if (!f->in_value || i < f->value_from)
		return 0;
	/* CRLF or a bare LF ends the line; a CR alone is a byte of the value
	 * (and breaks its grammar), as the agent's head parser reads it. */
	if (c == '\n' || (c == '\r' && i + 1 < end && KSPAN_AT(buf, i + 1) == '\n')) {
		f->in_value = 0;
		w3c_tracestate_field_end(&f->tracestate);
		return 0;
	}
	w3c_tracestate_field_char(&f->tracestate, c);
	return 0;
}

#ifdef __BPF__
struct http1_trace_fields_loop {
	const __u8 *buf;
	struct http1_trace_fields *f;
	__u32 end;
	__u32 from;
};

static long http1_trace_fields_cb(__u32 index, void *ctx)
{
	struct http1_trace_fields_loop *l = ctx;

	return http1_trace_fields_step(l->from + index, l->buf, l->end, l->f);
}
#endif

/*
 * Scans the head in buf[from..len), at most up to its first `limit` bytes
 * (at most KSPAN_CTX_SCAN_MAX), into *f. `from` is a line start (>= 1): the
 * first tracestate line that http1_head_scan.h found, so that the bytes
 * before it, which hold no tracestate, are not walked one by one again. In
 * BPF, f must point into a map: the 6.1 verifier checks a bpf_loop callback
 * once, with the values the state had before the loop, and removes the
 * branches those values rule out (fixed in 6.7 by "bpf: verify callbacks as
 * if they are called unknown number of times"); a map's contents are never
 * known to it, so every branch of the step stays.
 */
KSPAN_INLINE void http1_trace_fields_scan_from(const __u8 *buf, __u32 len, __u32 limit, __u32 from,
					       struct http1_trace_fields *f)
{
	__u32 end;

	if (limit > KSPAN_CTX_SCAN_MAX)
		limit = KSPAN_CTX_SCAN_MAX;
	end = len < limit ? len : limit;
	if (from < 1)
		from = 1;
	f->traceparent_lines = 0;
	f->value_from = 0;
	f->in_value = 0;
	f->after_ts = 0;
	f->block_end = 0;
	f->tracestate.out_len = 0;
	f->tracestate.cursor = 0;
	f->tracestate.members = 0;
	f->tracestate.fields = 0;
	f->tracestate.phase = W3C_TS_BETWEEN;
	f->tracestate.invalid = 0;
	f->tracestate.full = 0;
#ifdef __BPF__
	{
		struct http1_trace_fields_loop l = {.buf = buf, .f = f, .end = end, .from = from};

		bpf_loop(KSPAN_CTX_SCAN_MAX, http1_trace_fields_cb, &l, 0);
	}
#else
	for (__u32 i = from; i <= KSPAN_CTX_SCAN_MAX; i++)
		if (http1_trace_fields_step(i, buf, end, f))
			break;
#endif
}

#endif /* W3C_TRACESTATE_H */
