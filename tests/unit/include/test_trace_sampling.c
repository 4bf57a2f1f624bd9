// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_trace_sampling.c - the head sampling decision the kernel and the agent
 * share (trace_sampling.h), as the OpenTelemetry specification defines
 * TraceIdRatioBased: randomness R = the trace id's least-significant 56 bits,
 * rejection threshold T = (1 - ratio) * 2^56, keep when R >= T; and
 * ParentBased over the three roots. The BPF programs compile this very
 * function with the threshold the agent computes (sampler_ratio_threshold),
 * so the last test checks that the two callers answer alike for the same ids.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/sampler.h"
#include "trace_sampling.h"

#define TWO_56 (1ull << 56)

/* A trace id whose last 7 bytes are r; the first 9 are `fill`. */
static void trace_id_with(uint8_t id[16], uint64_t r, uint8_t fill)
{
	memset(id, fill, 9);
	for (int i = 15; i >= 9; i--) {
		id[i] = (uint8_t)r;
		r >>= 8;
	}
}

/* A fixed pseudo-random sequence (splitmix64): the same ids every run. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void random_trace_id(uint64_t *state, uint8_t id[16])
{
	uint64_t a = next_random(state), b = next_random(state);

	memcpy(id, &a, 8);
	memcpy(id + 8, &b, 8);
}

/* R is bytes 9..15, big-endian; bytes 0..8 play no part. */
static void test_randomness_is_low_56_bits(void **state)
{
	uint8_t id[16];

	(void)state;
	trace_id_with(id, 0x0123456789abcdull, 0xff);
	assert_int_equal(kspan_trace_id_randomness(id), 0x0123456789abcdull);
	trace_id_with(id, 0x0123456789abcdull, 0x00);
	assert_int_equal(kspan_trace_id_randomness(id), 0x0123456789abcdull);
	trace_id_with(id, TWO_56 - 1, 0x00);
	assert_int_equal(kspan_trace_id_randomness(id), TWO_56 - 1);
}

/* Thresholds of the specification's examples: 100% -> 0, 50% -> 2^55,
 * 1% -> (1 - 0.01) * 2^56, 0% -> 2^56 (nothing is kept). */
static void test_ratio_thresholds(void **state)
{
	uint64_t one_percent = sampler_ratio_threshold(0.01);
	uint64_t exact = 71337018097548657ull; /* 0.99 * 2^56, rounded */

	(void)state;
	assert_int_equal(sampler_ratio_threshold(1.0), 0);
	assert_int_equal(sampler_ratio_threshold(0.5), 1ull << 55);
	assert_int_equal(sampler_ratio_threshold(0.25), 3ull << 54);
	assert_int_equal(sampler_ratio_threshold(0.0), TWO_56);
	assert_true(one_percent >= exact - 16 && one_percent <= exact + 16);
}

/* Keep when R >= T: the threshold's own value is kept, one below is not;
 * T = 2^56 keeps nothing, T = 0 everything. */
static void test_keep_at_and_above_threshold(void **state)
{
	uint8_t id[16];
	uint64_t t = sampler_ratio_threshold(0.1);

	(void)state;
	trace_id_with(id, t, 0);
	assert_true(kspan_trace_id_ratio_keep(id, t));
	trace_id_with(id, t - 1, 0);
	assert_false(kspan_trace_id_ratio_keep(id, t));
	trace_id_with(id, TWO_56 - 1, 0xff);
	assert_false(kspan_trace_id_ratio_keep(id, TWO_56));
	trace_id_with(id, 0, 0);
	assert_true(kspan_trace_id_ratio_keep(id, 0));
}

/* Consistency (tracestate-probability-sampling.md): a trace kept at p1 is
 * kept at every p2 >= p1; and over many random ids the kept share is the
 * ratio (a fixed sequence: the counts are the same every run). */
static void test_ratio_consistent_and_proportional(void **state)
{
	static const double ratios[] = {0.01, 0.1, 0.25, 0.5, 0.9, 1.0};
	unsigned kept[6] = {0};
	uint64_t seed = 42;
	uint8_t id[16];

	(void)state;
	for (int n = 0; n < 20000; n++) {
		int prev = 0;
		random_trace_id(&seed, id);
		for (int r = 0; r < 6; r++) {
			int keep =
			    kspan_trace_id_ratio_keep(id, sampler_ratio_threshold(ratios[r]));
			if (prev && !keep)
				fail_msg("kept at %g but not at %g", ratios[r - 1], ratios[r]);
			prev = keep;
			kept[r] += (unsigned)keep;
		}
	}
	for (int r = 0; r < 6; r++) {
		double share = kept[r] / 20000.0;
		if (share < ratios[r] - 0.02 || share > ratios[r] + 0.02)
			fail_msg("ratio %g kept %.3f", ratios[r], share);
	}
	assert_int_equal(kept[5], 20000);
}

/* ParentBased follows the parent's flag whatever the root; without a parent,
 * or without ParentBased, the root decides and ignores the flag. */
static void test_sample_parent_based_and_roots(void **state)
{
	uint8_t low[16], high[16];
	uint64_t half = 1ull << 55;

	(void)state;
	trace_id_with(low, 1, 0);
	trace_id_with(high, TWO_56 - 1, 0);
	for (__u8 root = 0; root < 3; root++) {
		assert_int_equal(kspan_sample(root, 1, half, low, 1, 1), 1);
		assert_int_equal(kspan_sample(root, 1, half, high, 1, 0), 0);
		assert_int_equal(kspan_sample(root, 1, half, high, 1, 0xfe), 0);
	}
	assert_int_equal(kspan_sample(KSPAN_SAMPLER_ALWAYS_ON, 1, 0, low, 0, 0), 1);
	assert_int_equal(kspan_sample(KSPAN_SAMPLER_ALWAYS_OFF, 1, 0, high, 0, 1), 0);
	assert_int_equal(kspan_sample(KSPAN_SAMPLER_TRACE_ID_RATIO, 1, half, low, 0, 1), 0);
	assert_int_equal(kspan_sample(KSPAN_SAMPLER_TRACE_ID_RATIO, 1, half, high, 0, 0), 1);
	/* Not parent-based: a parent's -00 or -01 changes nothing. */
	assert_int_equal(kspan_sample(KSPAN_SAMPLER_ALWAYS_ON, 0, 0, low, 1, 0), 1);
	assert_int_equal(kspan_sample(KSPAN_SAMPLER_ALWAYS_OFF, 0, 0, low, 1, 1), 0);
	assert_int_equal(kspan_sample(KSPAN_SAMPLER_TRACE_ID_RATIO, 0, half, low, 1, 1), 0);
	assert_int_equal(kspan_sample(KSPAN_SAMPLER_TRACE_ID_RATIO, 0, half, high, 1, 0), 1);
}

/* The kernel decides a new trace with kspan_sample() over the .rodata the
 * loader writes (root, parent_based, sampler_ratio_threshold(ratio)); the
 * agent decides the same trace's spans with sampler_should_sample(): for
 * every sampler and many ids they must agree, or a trace would be cut. */
static void test_kernel_and_agent_agree(void **state)
{
	static const char *const names[] = {
	    "always_on",
	    "always_off",
	    "traceidratio",
	    "parentbased_always_on",
	    "parentbased_always_off",
	    "parentbased_traceidratio",
	};
	uint64_t seed = 7;

	(void)state;
	assert_int_equal(setenv("OTEL_TRACES_SAMPLER_ARG", "0.3", 1), 0);
	for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
		struct sampler s;
		assert_int_equal(setenv("OTEL_TRACES_SAMPLER", names[n], 1), 0);
		sampler_from_env(&s);
		for (int i = 0; i < 2000; i++) {
			struct span sp;
			bool with_parent = i & 1;
			uint8_t parent_flag = (i >> 1) & 1;
			__u8 kernel;

			memset(&sp, 0, sizeof(sp));
			random_trace_id(&seed, sp.trace_id);
			sp.span_id[7] = 1;
			if (with_parent)
				sp.parent_span_id[7] = 2;
			sp.trace_flags = parent_flag;
			kernel = kspan_sample((__u8)s.root, s.parent_based, s.threshold,
					      sp.trace_id, with_parent, parent_flag);
			assert_int_equal(sampler_should_sample(&s, &sp), kernel);
		}
	}
	unsetenv("OTEL_TRACES_SAMPLER");
	unsetenv("OTEL_TRACES_SAMPLER_ARG");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_randomness_is_low_56_bits),
	    cmocka_unit_test(test_ratio_thresholds),
	    cmocka_unit_test(test_keep_at_and_above_threshold),
	    cmocka_unit_test(test_ratio_consistent_and_proportional),
	    cmocka_unit_test(test_sample_parent_based_and_roots),
	    cmocka_unit_test(test_kernel_and_agent_agree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
