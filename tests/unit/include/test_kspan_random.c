// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_kspan_random.c - the id generator the BPF programs run
 * (kspan_random.h): splitmix64 as published (the outputs of Vigna's
 * splitmix64.c for two seeds), a state that moves by the odd increment, and
 * outputs that differ from step to step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kspan_random.h"

static void test_reference_outputs_seed_0(void **state)
{
	__u64 s = 0;

	(void)state;
	assert_int_equal(kspan_splitmix64_next(&s), 0xe220a8397b1dcdafull);
	assert_int_equal(kspan_splitmix64_next(&s), 0x6e789e6aa1b965f4ull);
	assert_int_equal(kspan_splitmix64_next(&s), 0x06c45d188009454full);
}

static void test_reference_outputs_seed_1234567(void **state)
{
	static const __u64 want[] = {6457827717110365317ull, 3203168211198807973ull,
				     9817491932198370423ull, 4593380528125082431ull,
				     16408922859458223821ull};
	__u64 s = 1234567;

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(kspan_splitmix64_next(&s), want[i]);
}

static void test_state_moves_by_gamma(void **state)
{
	__u64 s = 42;

	(void)state;
	kspan_splitmix64_next(&s);
	assert_int_equal(s, 42 + KSPAN_SPLITMIX64_GAMMA);
	assert_int_equal(KSPAN_SPLITMIX64_GAMMA & 1, 1); /* odd: all 2^64 states */
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/* Ids from one CPU's state: no repeat and no zero in many steps, and each
 * byte takes many values (ids are random-looking in every byte, which the
 * sampler's 56-bit randomness and the W3C zero checks rely on). */
static void test_outputs_distinct_and_spread(void **state)
{
	enum { N = 1 << 16 };
	__u64 *out = malloc(N * sizeof(*out)), s = 0x1234;
	unsigned char seen[8][256] = {{0}};

	(void)state;
	assert_non_null(out);
	for (int i = 0; i < N; i++) {
		out[i] = kspan_splitmix64_next(&s);
		assert_true(out[i] != 0);
		for (int b = 0; b < 8; b++)
			seen[b][(out[i] >> (8 * b)) & 0xff] = 1;
	}
	for (int b = 0; b < 8; b++) {
		int values = 0;

		for (int v = 0; v < 256; v++)
			values += seen[b][v];
		assert_int_equal(values, 256);
	}
	qsort(out, N, sizeof(*out), cmp_u64);
	for (int i = 1; i < N; i++)
		assert_true(out[i] != out[i - 1]);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reference_outputs_seed_0),
	    cmocka_unit_test(test_reference_outputs_seed_1234567),
	    cmocka_unit_test(test_state_moves_by_gamma),
	    cmocka_unit_test(test_outputs_distinct_and_spread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
