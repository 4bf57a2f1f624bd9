// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_sampler.c - head sampling (sampler.h) as the OpenTelemetry SDK
 * specification defines it: the built-in samplers named by
 * OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG for the ratio, the
 * ParentBased composition, and a TraceIdRatioBased decision that depends on
 * the trace id alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/sampler.h"

static struct sampler sampler_for(const char *name, const char *arg)
{
	struct sampler s;

	if (name)
		assert_int_equal(setenv("OTEL_TRACES_SAMPLER", name, 1), 0);
	else
		assert_int_equal(unsetenv("OTEL_TRACES_SAMPLER"), 0);
	if (arg)
		assert_int_equal(setenv("OTEL_TRACES_SAMPLER_ARG", arg, 1), 0);
	else
		assert_int_equal(unsetenv("OTEL_TRACES_SAMPLER_ARG"), 0);
	/* Garbage first: every field must be set. */
	memset(&s, 0x5a, sizeof(s));
	sampler_from_env(&s);
	return s;
}

static void assert_sampler(const struct sampler *s, enum sampler_root root, bool parent_based,
			   double ratio, const char *description)
{
	assert_int_equal(s->root, root);
	assert_int_equal(s->parent_based, parent_based);
	assert_true(s->ratio == ratio);
	assert_string_equal(s->description, description);
}

static void assert_default(const char *name, const char *arg)
{
	struct sampler s = sampler_for(name, arg);

	if (s.root != SAMPLER_ALWAYS_ON || !s.parent_based)
		fail_msg("OTEL_TRACES_SAMPLER=%s did not fall back to parentbased_always_on",
			 name ? name : "(unset)");
	assert_sampler(&s, SAMPLER_ALWAYS_ON, true, 1.0, "parentbased_always_on");
}

/* A span whose trace id has the given random part (the low 56 bits). */
static void make_span(struct span *sp, uint64_t random56, bool with_parent, uint8_t flags)
{
	memset(sp, 0, sizeof(*sp));
	/* The leading bytes are not part of the decision: make them busy. */
	memset(sp->trace_id, 0xee, 9);
	for (int i = 15; i >= 9; i--) {
		sp->trace_id[i] = (uint8_t)random56;
		random56 >>= 8;
	}
	memset(sp->span_id, 0x11, sizeof(sp->span_id));
	if (with_parent)
		memset(sp->parent_span_id, 0x22, sizeof(sp->parent_span_id));
	sp->trace_flags = flags;
}

/* Decides and checks that the sampled flag says the same. */
static bool decide(const struct sampler *s, struct span *sp)
{
	uint8_t other_bits = sp->trace_flags & ~1u;
	bool sampled = sampler_should_sample(s, sp);

	assert_int_equal(sp->trace_flags & 1, sampled ? 1 : 0);
	assert_int_equal(sp->trace_flags & ~1u, other_bits);
	return sampled;
}

static bool decide_for(const struct sampler *s, uint64_t random56, bool with_parent, uint8_t flags)
{
	struct span sp;

	make_span(&sp, random56, with_parent, flags);
	return decide(s, &sp);
}

/* Fixed ids spread over the 56-bit range: i * (2^56 / 64) + a jitter. */
static uint64_t fixed_id(unsigned i)
{
	return ((uint64_t)i << 50) + (uint64_t)i * 0x9e3779b97f4ull % (1ull << 49);
}

static int clear_env(void **state)
{
	(void)state;
	unsetenv("OTEL_TRACES_SAMPLER");
	unsetenv("OTEL_TRACES_SAMPLER_ARG");
	return 0;
}

/* --- sampler_from_env ------------------------------------------------------------ */

static void test_env_default(void **state)
{
	(void)state;
	assert_default(NULL, NULL);
	assert_default("", NULL);
	assert_default("parentbased_always_on", NULL);
	/* The ratio argument only matters to the ratio samplers. */
	assert_default(NULL, "0.25");
}

static void test_env_every_sampler(void **state)
{
	struct sampler s;

	(void)state;
	s = sampler_for("always_on", NULL);
	assert_sampler(&s, SAMPLER_ALWAYS_ON, false, 1.0, "always_on");
	s = sampler_for("always_off", "0.5");
	assert_sampler(&s, SAMPLER_ALWAYS_OFF, false, 1.0, "always_off");
	s = sampler_for("traceidratio", "0.25");
	assert_sampler(&s, SAMPLER_TRACE_ID_RATIO, false, 0.25, "traceidratio(0.25)");
	s = sampler_for("traceidratio", NULL);
	assert_sampler(&s, SAMPLER_TRACE_ID_RATIO, false, 1.0, "traceidratio(1)");
	s = sampler_for("parentbased_always_on", NULL);
	assert_sampler(&s, SAMPLER_ALWAYS_ON, true, 1.0, "parentbased_always_on");
	s = sampler_for("parentbased_always_off", NULL);
	assert_sampler(&s, SAMPLER_ALWAYS_OFF, true, 1.0, "parentbased_always_off");
	s = sampler_for("parentbased_traceidratio", "0.5");
	assert_sampler(&s, SAMPLER_TRACE_ID_RATIO, true, 0.5, "parentbased_traceidratio(0.5)");
	s = sampler_for("parentbased_traceidratio", "0");
	assert_sampler(&s, SAMPLER_TRACE_ID_RATIO, true, 0.0, "parentbased_traceidratio(0)");
	s = sampler_for("traceidratio", "1");
	assert_sampler(&s, SAMPLER_TRACE_ID_RATIO, false, 1.0, "traceidratio(1)");
}

static void test_env_invalid_sampler(void **state)
{
	(void)state;
	assert_default("bogus", NULL);
	/* Known to the specification, not built in: the default too. */
	assert_default("jaeger_remote", NULL);
	assert_default("xray", NULL);
	assert_default("always_on ", NULL);
	assert_default("traceidratio0.5", "0.5");
}

static void test_env_invalid_ratio(void **state)
{
	static const char *const bad[] = {"abc", "1.5", "-0.1", "0.5x", "nan", "inf", " "};
	struct sampler s;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = sampler_for("traceidratio", bad[i]);
		if (!(s.ratio == 1.0))
			fail_msg("OTEL_TRACES_SAMPLER_ARG=\"%s\" gave ratio %g, expected 1.0",
				 bad[i], s.ratio);
		assert_sampler(&s, SAMPLER_TRACE_ID_RATIO, false, 1.0, "traceidratio(1)");
		s = sampler_for("parentbased_traceidratio", bad[i]);
		assert_sampler(&s, SAMPLER_TRACE_ID_RATIO, true, 1.0,
			       "parentbased_traceidratio(1)");
	}
	s = sampler_for("traceidratio", "");
	assert_sampler(&s, SAMPLER_TRACE_ID_RATIO, false, 1.0, "traceidratio(1)");
}

/* --- decisions ---------------------------------------------------------------------- */

static void test_parent_based_honours_parent(void **state)
{
	struct sampler on = sampler_for("parentbased_always_on", NULL);
	struct sampler off = sampler_for("parentbased_always_off", NULL);
	struct sampler none = sampler_for("parentbased_traceidratio", "0");

	(void)state;
	/* A parent decides for all three. */
	assert_true(decide_for(&on, 1, true, 0x01));
	assert_false(decide_for(&on, 1, true, 0x00));
	assert_true(decide_for(&off, 1, true, 0x01));
	assert_false(decide_for(&off, 1, true, 0x00));
	assert_true(decide_for(&none, 1, true, 0x01));
	assert_false(decide_for(&none, 1, true, 0x02));
	/* Without one, the root sampler does. */
	assert_true(decide_for(&on, 1, false, 0x00));
	assert_false(decide_for(&off, 1, false, 0x01));
	assert_false(decide_for(&none, 1, false, 0x01));
}

static void test_non_parent_based_ignores_parent(void **state)
{
	struct sampler on = sampler_for("always_on", NULL);
	struct sampler off = sampler_for("always_off", NULL);
	struct sampler all = sampler_for("traceidratio", "1.0");

	(void)state;
	assert_true(decide_for(&on, 7, true, 0x00));
	assert_true(decide_for(&on, 7, false, 0x00));
	assert_false(decide_for(&off, 7, true, 0x01));
	assert_false(decide_for(&off, 7, false, 0x01));
	assert_true(decide_for(&all, 7, true, 0x00));
}

/* The decision writes bit 0 and leaves the other W3C flags alone. */
static void test_sampled_flag_set_to_decision(void **state)
{
	struct sampler on = sampler_for("always_on", NULL);
	struct sampler off = sampler_for("always_off", NULL);
	struct span sp;

	(void)state;
	make_span(&sp, 3, false, 0x02);
	assert_true(sampler_should_sample(&on, &sp));
	assert_int_equal(sp.trace_flags, 0x03);
	make_span(&sp, 3, false, 0xff);
	assert_false(sampler_should_sample(&off, &sp));
	assert_int_equal(sp.trace_flags, 0xfe);
}

static void test_ratio_zero_and_one(void **state)
{
	struct sampler zero = sampler_for("traceidratio", "0.0");
	struct sampler one = sampler_for("traceidratio", "1.0");

	(void)state;
	for (unsigned i = 0; i < 64; i++) {
		assert_false(decide_for(&zero, fixed_id(i), false, 0x01));
		assert_true(decide_for(&one, fixed_id(i), false, 0x00));
	}
	assert_false(decide_for(&zero, 0, false, 0x01));
	assert_true(decide_for(&one, (1ull << 56) - 1, false, 0x00));
}

/* 0.5 samples the upper half of the 56-bit random part (R >= T, with
 * T = (1 - 0.5) * 2^56); the same ids give the same answers every run,
 * whatever the other bytes of the trace id. */
static void test_ratio_half_deterministic(void **state)
{
	struct sampler half = sampler_for("traceidratio", "0.5");
	bool first[64];
	unsigned sampled = 0;

	(void)state;
	for (unsigned i = 0; i < 64; i++) {
		first[i] = decide_for(&half, fixed_id(i), false, 0x00);
		assert_int_equal(first[i], i >= 32);
		sampled += first[i];
	}
	assert_int_equal(sampled, 32);
	for (int round = 0; round < 3; round++) {
		for (unsigned i = 0; i < 64; i++) {
			struct span sp;
			make_span(&sp, fixed_id(i), false, 0x01);
			memset(sp.trace_id, round * 0x40, 9);
			assert_int_equal(decide(&half, &sp), first[i]);
		}
	}
	/* The boundary: 2^55 - 1 is below the threshold 2^55, 2^55 is not. */
	assert_false(decide_for(&half, (1ull << 55) - 1, false, 0x00));
	assert_true(decide_for(&half, 1ull << 55, false, 0x00));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_env_default, clear_env),
	    cmocka_unit_test_teardown(test_env_every_sampler, clear_env),
	    cmocka_unit_test_teardown(test_env_invalid_sampler, clear_env),
	    cmocka_unit_test_teardown(test_env_invalid_ratio, clear_env),
	    cmocka_unit_test_teardown(test_parent_based_honours_parent, clear_env),
	    cmocka_unit_test_teardown(test_non_parent_based_ignores_parent, clear_env),
	    cmocka_unit_test_teardown(test_sampled_flag_set_to_decision, clear_env),
	    cmocka_unit_test_teardown(test_ratio_zero_and_one, clear_env),
	    cmocka_unit_test_teardown(test_ratio_half_deterministic, clear_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
