// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_histogram.c - explicit buckets as metrics.proto defines them (upper
 * bound inclusive), exemplars per bucket, and the delta of two cumulative
 * histograms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/histogram.h"

#define B semconv_duration_bounds
#define N SEMCONV_DURATION_BOUNDS

static void bucket_upper_bound_is_inclusive(void **state)
{
	(void)state;
	assert_int_equal(histogram_bucket(B, N, 0.0), 0);
	assert_int_equal(histogram_bucket(B, N, 0.005), 0);
	assert_int_equal(histogram_bucket(B, N, 0.0050001), 1);
	assert_int_equal(histogram_bucket(B, N, 0.3), 7); /* (0.25, 0.5] */
	assert_int_equal(histogram_bucket(B, N, 0.5), 7);
	assert_int_equal(histogram_bucket(B, N, 10), 13);
	assert_int_equal(histogram_bucket(B, N, 10.001), 14); /* the overflow bucket */
	for (size_t i = 0; i < N; i++)
		assert_int_equal(histogram_bucket(B, N, B[i]), i);
}

static void semconv_bounds(void **state)
{
	static const double want[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
				      0.5,   0.75, 1,	  2.5,	5,     7.5, 10};
	(void)state;
	assert_int_equal(N, sizeof(want) / sizeof(want[0]));
	assert_memory_equal(B, want, sizeof(want));
}

static void record_counts_sum_min_max(void **state)
{
	struct histogram h = {0};
	(void)state;
	histogram_record(&h, B, N, 0.2, NULL);
	histogram_record(&h, B, N, 0.001, NULL);
	histogram_record(&h, B, N, 30, NULL);
	histogram_record(&h, B, N, 0.2, NULL);
	assert_int_equal(h.count, 4);
	assert_int_equal(h.counts[0], 1);
	assert_int_equal(h.counts[6], 2);
	assert_int_equal(h.counts[14], 1);
	assert_true(h.sum > 30.400 && h.sum < 30.402);
	assert_true(h.min == 0.001);
	assert_true(h.max == 30);
	for (size_t i = 0; i < HISTOGRAM_MAX_BUCKETS; i++)
		assert_int_equal(h.exemplars[i].time_unix_ns, 0);
}

static void latest_exemplar_of_each_bucket(void **state)
{
	struct histogram h = {0};
	struct exemplar a = {.time_unix_ns = 10, .value = 0.2, .span_id = {1}};
	struct exemplar b = {.time_unix_ns = 20, .value = 0.21, .span_id = {2}};
	struct exemplar c = {.time_unix_ns = 30, .value = 3, .span_id = {3}};
	(void)state;
	histogram_record(&h, B, N, a.value, &a);
	histogram_record(&h, B, N, 0.22, NULL); /* not sampled: keeps the last one */
	histogram_record(&h, B, N, b.value, &b);
	histogram_record(&h, B, N, c.value, &c);
	assert_memory_equal(&h.exemplars[6], &b, sizeof(b));
	assert_memory_equal(&h.exemplars[11], &c, sizeof(c));
	assert_int_equal(h.exemplars[0].time_unix_ns, 0);
}

static void delta_of_two_cumulatives(void **state)
{
	struct histogram before = {0}, now, d;
	struct exemplar old = {.time_unix_ns = 5, .value = 0.001};
	struct exemplar fresh = {.time_unix_ns = 50, .value = 0.2};
	(void)state;
	histogram_record(&before, B, N, 0.001, &old);
	histogram_record(&before, B, N, 0.2, NULL);
	now = before;
	histogram_record(&now, B, N, 0.2, &fresh);
	histogram_record(&now, B, N, 0.2, NULL);
	histogram_delta(&now, &before, 40, &d);
	assert_int_equal(d.count, 2);
	assert_true(d.sum > 0.399 && d.sum < 0.401);
	assert_int_equal(d.counts[0], 0);
	assert_int_equal(d.counts[6], 2);
	/* The old exemplar belongs to the previous interval. */
	assert_int_equal(d.exemplars[0].time_unix_ns, 0);
	assert_int_equal(d.exemplars[6].time_unix_ns, 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(bucket_upper_bound_is_inclusive),
	    cmocka_unit_test(semconv_bounds),
	    cmocka_unit_test(record_counts_sum_min_max),
	    cmocka_unit_test(latest_exemplar_of_each_bucket),
	    cmocka_unit_test(delta_of_two_cumulatives),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
