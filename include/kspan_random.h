/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * kspan_random.h - the generator of the ids kspan makes in the kernel (trace,
 * span and connection ids): splitmix64 (Steele, Lea, Flood, "Fast Splittable
 * Pseudorandom Number Generators", OOPSLA 2014; the mixing constants are
 * Vigna's "variant 13" in his splitmix64.c), shared with the agent's tests.
 *
 * Why not bpf_get_prandom_u32() per 32 bits: it runs the kernel's
 * prandom_u32_state (four Tausworthe components) behind a helper call, and
 * a request's ids took six calls of it. One step here gives 64 bits with
 * an add, two shifts-and-multiplies and a shift. The state is seeded from
 * bpf_get_prandom_u32() (the same generator's output), so the ids are as
 * random-looking and as predictable as before: W3C Trace Context asks for
 * random-looking ids, not secret ones.
 *
 * The state walks all 2^64 values (the increment is odd) and the mixer is a
 * bijection: no output repeats within the period; zero comes once in it,
 * which callers treat as they always did (ids are never left all zero).
 */
#ifndef KSPAN_RANDOM_H
#define KSPAN_RANDOM_H

#include "kspan_bytes.h"

/* 2^64 / golden ratio, odd. */
#define KSPAN_SPLITMIX64_GAMMA 0x9e3779b97f4a7c15ull

KSPAN_INLINE __u64 kspan_splitmix64_mix(__u64 z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The next 64 bits of the generator whose state is *state. */
KSPAN_INLINE __u64 kspan_splitmix64_next(__u64 *state)
{
	*state += KSPAN_SPLITMIX64_GAMMA;
	return kspan_splitmix64_mix(*state);
}

#endif /* KSPAN_RANDOM_H */
