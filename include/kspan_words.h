/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * kspan_words.h - 8 bytes at a time: word loads and per-byte tests inside a
 * 64-bit word (SWAR), shared by the BPF programs and the agent's tests.
 *
 * Both targets are little-endian (x86-64, arm64, and BPF built for them):
 * byte k of a word is the byte at offset k in memory.
 *
 * Branch-free on purpose: BPF has no set-on-condition or conditional move,
 * so every C comparison that yields a value becomes a jump, and every jump
 * inside a bounded loop is a state the verifier explores once per iteration.
 * The comparisons below are arithmetic, and KSPAN_OPAQUE() keeps clang from
 * folding them back into comparisons.
 */
#ifndef KSPAN_WORDS_H
#define KSPAN_WORDS_H

#include "kspan_bytes.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "kspan_words.h assumes little-endian words"
#endif

#define KSPAN_OPAQUE(v) asm volatile("" : "+r"(v))

#define KSPAN_BYTES_01 0x0101010101010101ull
#define KSPAN_BYTES_7F 0x7f7f7f7f7f7f7f7full
#define KSPAN_BYTES_80 0x8080808080808080ull
#define KSPAN_BYTES_20 0x2020202020202020ull

#ifdef __BPF__
/* Word loads index the scratch buffer through this mask: any index below it
 * plus 8 stays inside the buffer (KSPAN_SCRATCH_SIZE, kspan_bytes.h). The
 * callers' offsets are below KSPAN_CTX_SCAN_MAX + 24. Bytes past the captured
 * length are stale: callers mask them out themselves. The load is unaligned:
 * x86-64 and arm64 allow it, and so does the verifier on them
 * (CONFIG_HAVE_EFFICIENT_UNALIGNED_ACCESS). */
#define KSPAN_WORD_INDEX_MASK (KSPAN_SCRATCH_SIZE / 2 - 1)
KSPAN_INLINE __u64 kspan_load64(const __u8 *buf, __u32 i, __u32 end)
{
	(void)end;
	return *(const __u64 *)&buf[i & KSPAN_WORD_INDEX_MASK];
}
#else
#include <string.h>
/* The 8 bytes at buf[i], the ones at or past `end` read as 0. */
KSPAN_INLINE __u64 kspan_load64(const __u8 *buf, __u32 i, __u32 end)
{
	__u64 w = 0;

	if (i + 8 <= end) {
		memcpy(&w, buf + i, 8);
		return w;
	}
	for (__u32 k = 0; i + k < end && k < 8; k++)
		w |= (__u64)buf[i + k] << (8 * k);
	return w;
}
#endif

/* 1 when x != 0, else 0. */
KSPAN_INLINE __u64 kspan_nz(__u64 x)
{
	__u64 neg = -x;

	KSPAN_OPAQUE(neg);
	return (x | neg) >> 63;
}

/* 1 when a == b, else 0. */
KSPAN_INLINE __u64 kspan_eq(__u64 a, __u64 b)
{
	return kspan_nz(a ^ b) ^ 1;
}

/* 1 when a < b, else 0 (both below 2^63). */
KSPAN_INLINE __u64 kspan_lt(__u64 a, __u64 b)
{
	__u64 d = a - b;

	KSPAN_OPAQUE(d);
	return d >> 63;
}

/* 0x80 in every byte of w that is zero, 0 in the others (exact: no false
 * positives from borrows, unlike the shorter (w - 0x01..) & ~w form). */
KSPAN_INLINE __u64 kspan_zero_bytes(__u64 w)
{
	__u64 t = (w & KSPAN_BYTES_7F) + KSPAN_BYTES_7F;

	return ~(t | w | KSPAN_BYTES_7F);
}

/* 0x80 in every byte of w equal to c. */
KSPAN_INLINE __u64 kspan_bytes_equal(__u64 w, __u8 c)
{
	return kspan_zero_bytes(w ^ (KSPAN_BYTES_01 * c));
}

/* A mask of the first n bytes of a word (n >= 8: all of them). */
KSPAN_INLINE __u64 kspan_first_bytes(__u64 n)
{
	__u64 all = kspan_lt(7, n); /* n >= 8 */
	__u64 shift = (n & 7) * 8;

	return ((1ull << shift) - 1) | -all;
}

/* Offset (0..7) of the byte that the lowest 0x80 bit of m marks. */
KSPAN_INLINE __u32 kspan_lowest_marked_byte(__u64 m)
{
	__u64 low = m & -m;

	/* low >> 7 is 1 << 8k; the multiply moves byte 7-k of the constant,
	 * which is k, to the top. */
	return (__u32)(((low >> 7) * 0x0001020304050607ull) >> 56);
}

/*
 * Eight lowercase hex characters (the first one lowest in w) as four bytes
 * (the first one lowest in the result). Adds a nonzero value to *bad when
 * any character is not [0-9a-f] (W3C Trace Context 3.2.2: ids are lowercase
 * hex; uppercase makes the header invalid).
 */
KSPAN_INLINE __u32 kspan_hex8_decode(__u64 w, __u64 *bad)
{
	__u64 high = w | KSPAN_BYTES_80, ascii = w & KSPAN_BYTES_7F;
	/* Per byte, with its top bit as the answer: no borrow crosses bytes
	 * because every minuend byte is at least 0x80 above its subtrahend's
	 * reach. */
	__u64 ge_0 = high - 0x3030303030303030ull;
	__u64 le_9 = 0xb9b9b9b9b9b9b9b9ull - ascii;
	__u64 ge_a = high - 0x6161616161616161ull;
	__u64 le_f = 0xe6e6e6e6e6e6e6e6ull - ascii;
	__u64 ok = ((ge_0 & le_9) | (ge_a & le_f)) & KSPAN_BYTES_80;
	/* '0'-'9' are 0x30-0x39, 'a'-'f' 0x61-0x66: the low nibble, plus 9
	 * when bit 6 is set. */
	__u64 nib = (w & 0x0f0f0f0f0f0f0f0full) + ((w >> 6) & KSPAN_BYTES_01) * 9;
	__u64 y;

	*bad |= (ok ^ KSPAN_BYTES_80) | (w & KSPAN_BYTES_80);
	/* Each 16-bit lane: its first character is the high nibble. */
	y = ((nib & 0x000f000f000f000full) << 4) | ((nib >> 8) & 0x000f000f000f000full);
	y = (y | (y >> 8)) & 0x0000ffff0000ffffull;
	y = (y | (y >> 16)) & 0xffffffffull;
	return (__u32)y;
}

#endif /* KSPAN_WORDS_H */
