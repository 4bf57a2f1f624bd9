/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * kspan_bytes.h - byte access shared by BPF programs and the agent.
 *
 * The decision logic in http1_detect.h and w3c_traceparent.h is compiled
 * twice: for the BPF target (where the verifier must see every index bounded)
 * and for the host (where cmocka tests run the very same code). KSPAN_AT()
 * hides the one difference: in BPF the index is masked into the scratch
 * buffer, whose size is a power of two; on the host callers pass real
 * lengths and every function checks them itself.
 */
#ifndef KSPAN_BYTES_H
#define KSPAN_BYTES_H

#include "kspan_abi.h"

#ifdef __BPF__
#ifndef KSPAN_INLINE
#define KSPAN_INLINE static __always_inline
#endif
/* The BPF scratch buffer is twice the capture size so that any index below
 * 2 * KSPAN_CAPTURE_MAX stays inside it after masking. */
#define KSPAN_SCRATCH_SIZE (2 * KSPAN_CAPTURE_MAX)
#define KSPAN_AT(buf, i)   ((buf)[(i) & (KSPAN_SCRATCH_SIZE - 1)])
#define KSPAN_NO_UNROLL	   _Pragma("clang loop unroll(disable)")
#else
#include <stdint.h>
#ifndef KSPAN_INLINE
#define KSPAN_INLINE static inline __attribute__((always_inline))
#endif
#define KSPAN_AT(buf, i) ((buf)[(i)])
#define KSPAN_NO_UNROLL
#endif

/* ASCII lower-casing without locale tables (none exist in BPF). */
KSPAN_INLINE __u8 kspan_ascii_lower(__u8 c)
{
	return (c >= 'A' && c <= 'Z') ? (__u8)(c + ('a' - 'A')) : c;
}

/* Hex digit value, either case, or -1: every hex decoder of the tree uses
 * this one (chunk sizes, RFC 9112 section 7.1; percent-encoding, RFC 3986
 * section 2.1; W3C Trace Context ids through kspan_lower_hex_value). */
KSPAN_INLINE int kspan_hex_value(__u8 c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = kspan_ascii_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Lowercase hex digit value, or -1. W3C Trace Context 3.2.2: ids are
 * lowercase hex; uppercase makes the header invalid. */
KSPAN_INLINE int kspan_lower_hex_value(__u8 c)
{
	if (c >= 'A' && c <= 'Z')
		return -1;
	return kspan_hex_value(c);
}

/* The lowercase hex digit of v (0..15): the one spelling of hex encoding. */
KSPAN_INLINE char kspan_hex_digit(__u8 v)
{
	return (char)(v < 10 ? '0' + v : 'a' + (v - 10));
}

#endif /* KSPAN_BYTES_H */
