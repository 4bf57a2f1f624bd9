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

#include "kspan_words.h"

#define W3C_TRACEPARENT_LEN 55

struct w3c_trace_context {
	__u8 version;
	__u8 trace_flags;
	__u8 trace_id[16];
	__u8 parent_id[8];
};

/* Two hex characters at buf[i] as one byte; *bad as kspan_hex8_decode. The
 * six bytes after them read as '0'. */
KSPAN_INLINE __u8 w3c__hex2(const __u8 *buf, __u32 i, __u32 end, __u64 *bad)
{
	__u64 w = (kspan_load64(buf, i, end) & 0xffffull) | 0x3030303030300000ull;

	return (__u8)kspan_hex8_decode(w, bad);
}

/* n / 2 bytes (n a multiple of 8) from the hex at buf[i] into out[]; returns
 * the OR of the words decoded (0: all zero). */
KSPAN_INLINE __u32 w3c__hex_words(const __u8 *buf, __u32 i, __u32 end, __u8 *out, __u32 n,
				  __u64 *bad)
{
	__u32 any = 0;

	for (__u32 k = 0; k < 4; k++) {
		__u32 v;

		if (k * 8 >= n)
			break;
		v = kspan_hex8_decode(kspan_load64(buf, i + k * 8, end), bad);
		__builtin_memcpy(out + k * 4, &v, 4);
		any |= v;
	}
	return any;
}

/*
 * Parses the header value at buf[off..off+len) (leading/trailing whitespace
 * already removed). Returns 0 and fills *tc when valid, -1 otherwise. The
 * ids are decoded 8 characters at a time (kspan_words.h); every check is
 * gathered into one answer at the end.
 */
KSPAN_INLINE int w3c_traceparent_parse(const __u8 *buf, __u32 off, __u32 len,
				       struct w3c_trace_context *tc)
{
	__u32 end = off + len, trace_any, parent_any;
	__u64 bad = 0;
	__u8 version;

	if (len < W3C_TRACEPARENT_LEN)
		return -1;
	version = w3c__hex2(buf, off, end, &bad);
	/* Version 00 is exactly 55 characters; a higher one may be longer, and
	 * then continues with "-" (section 4.3). */
	if (bad || version == 0xff || (version == 0 && len != W3C_TRACEPARENT_LEN))
		return -1;
	if (len > W3C_TRACEPARENT_LEN && KSPAN_AT(buf, off + W3C_TRACEPARENT_LEN) != '-')
		return -1;
	bad |= (KSPAN_AT(buf, off + 2) ^ '-') | (KSPAN_AT(buf, off + 35) ^ '-') |
	       (KSPAN_AT(buf, off + 52) ^ '-');
	trace_any = w3c__hex_words(buf, off + 3, end, tc->trace_id, 32, &bad);
	parent_any = w3c__hex_words(buf, off + 36, end, tc->parent_id, 16, &bad);
	tc->trace_flags = w3c__hex2(buf, off + 53, end, &bad);
	if (bad || !trace_any || !parent_any)
		return -1;
	tc->version = version;
	return 0;
}

#endif /* W3C_TRACEPARENT_H */
