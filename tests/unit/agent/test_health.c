// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_health.c - what /healthz and /readyz answer (agent/health.h) in each
 * phase, with a fresh or a stale main loop, with or without an exporter
 * problem; and pipeline_check, which feeds the exporter part.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agent/health.h"
#include "pipeline/pipeline.h"

#define S  1000000000ull
#define T0 (1000 * S) /* an arbitrary CLOCK_MONOTONIC start */

static struct agent_health *running_health(void)
{
	static struct agent_health h;

	assert_int_equal(health_init(&h, T0), 0);
	health_set_probes_attached(&h, true);
	health_set_phase(&h, AGENT_PHASE_RUNNING);
	health_loop_ran(&h, T0 + S);
	return &h;
}

static void test_starting_is_live_not_ready(void **state)
{
	struct agent_health h;
	char why[256];

	(void)state;
	assert_int_equal(health_init(&h, T0), 0);
	/* Loading the probes takes seconds; the loop has not run yet. */
	assert_true(health_live(&h, T0 + 60 * S, why, sizeof(why)));
	assert_non_null(strstr(why, "starting"));
	assert_false(health_ready(&h, T0 + 60 * S, why, sizeof(why)));
	assert_string_equal(why, "not ready: starting (loading and attaching the probes)");
	/* A start that never ends is not live. */
	assert_false(health_live(&h, T0 + HEALTH_STARTUP_MAX_NS + S, why, sizeof(why)));
	assert_non_null(strstr(why, "not live"));
	health_free(&h);
}

static void test_running_fresh_loop_is_live_and_ready(void **state)
{
	struct agent_health *h = running_health();
	char why[256];

	(void)state;
	assert_true(health_live(h, T0 + S + S / 10, why, sizeof(why)));
	assert_string_equal(why, "live: main loop ran 100 ms ago");
	assert_true(health_ready(h, T0 + S + S / 10, why, sizeof(why)));
	assert_string_equal(why, "ready: probes attached, ring buffer read 100 ms ago");
	/* A clock read that comes before the loop's mark is "0 ms ago". */
	assert_true(health_ready(h, T0, why, sizeof(why)));
	health_free(h);
}

static void test_stale_loop_unready_then_dead(void **state)
{
	struct agent_health *h = running_health();
	char why[256];
	uint64_t loop = T0 + S;

	(void)state;
	assert_true(health_ready(h, loop + HEALTH_READY_LOOP_NS, why, sizeof(why)));
	assert_false(health_ready(h, loop + HEALTH_READY_LOOP_NS + S, why, sizeof(why)));
	assert_string_equal(why,
			    "not ready: the ring buffer was last read 6000 ms ago (limit 5 s)");
	assert_true(health_live(h, loop + HEALTH_LIVE_LOOP_NS, why, sizeof(why)));
	assert_false(health_live(h, loop + HEALTH_LIVE_LOOP_NS + S, why, sizeof(why)));
	assert_string_equal(why, "not live: the main loop last ran 31000 ms ago (limit 30 s)");
	/* The loop runs again: both come back. */
	health_loop_ran(h, loop + 40 * S);
	assert_true(health_live(h, loop + 40 * S, why, sizeof(why)));
	assert_true(health_ready(h, loop + 40 * S, why, sizeof(why)));
	health_free(h);
}

static void test_exporter_problem_unready_still_live(void **state)
{
	struct agent_health *h = running_health();
	char why[256];

	(void)state;
	health_set_exporter_problem(h, "the OTLP sender has been in one request for 30 s");
	assert_false(health_ready(h, T0 + S, why, sizeof(why)));
	assert_string_equal(why, "not ready: the OTLP sender has been in one request for 30 s");
	assert_true(health_live(h, T0 + S, why, sizeof(why)));
	health_set_exporter_problem(h, "");
	assert_true(health_ready(h, T0 + S, why, sizeof(why)));
	health_set_exporter_problem(h, "x");
	health_set_exporter_problem(h, NULL);
	assert_true(health_ready(h, T0 + S, why, sizeof(why)));
	health_free(h);
}

static void test_detached_or_stopping_unready(void **state)
{
	struct agent_health *h = running_health();
	char why[256];

	(void)state;
	health_set_probes_attached(h, false);
	assert_false(health_ready(h, T0 + S, why, sizeof(why)));
	assert_string_equal(why, "not ready: the probes are not attached");
	health_set_probes_attached(h, true);
	health_set_phase(h, AGENT_PHASE_STOPPING);
	assert_false(health_ready(h, T0 + S, why, sizeof(why)));
	assert_string_equal(why, "not ready: stopping");
	/* Flushing spans at exit takes seconds with no loop: still live. */
	assert_true(health_live(h, T0 + 100 * S, why, sizeof(why)));
	health_free(h);
}

static void test_short_buffer_is_cut(void **state)
{
	struct agent_health *h = running_health();
	char why[8];

	(void)state;
	assert_true(health_ready(h, T0 + S, why, sizeof(why)));
	assert_string_equal(why, "ready: ");
	health_free(h);
}

/* ---- pipeline_check: the first exporter with a problem names it ---- */

static int check_ok(struct exporter *e, uint64_t now, char *why, size_t len)
{
	(void)e, (void)now, (void)why, (void)len;
	return 0;
}

static int check_stuck(struct exporter *e, uint64_t now, char *why, size_t len)
{
	snprintf(why, len, "%s stuck at %llu", e->name, (unsigned long long)now);
	return -ETIMEDOUT;
}

static void test_pipeline_check(void **state)
{
	struct exporter quiet = {.name = "quiet"}; /* no check: always fine */
	struct exporter fine = {.name = "fine", .check = check_ok};
	struct exporter stuck = {.name = "stuck", .check = check_stuck};
	struct pipeline p;
	char why[64] = "junk";

	(void)state;
	pipeline_init(&p, NULL);
	assert_int_equal(pipeline_check(&p, 5, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	assert_int_equal(pipeline_add_exporter(&p, &quiet), 0);
	assert_int_equal(pipeline_add_exporter(&p, &fine), 0);
	assert_int_equal(pipeline_check(&p, 5, why, sizeof(why)), 0);
	assert_int_equal(pipeline_add_exporter(&p, &stuck), 0);
	assert_int_equal(pipeline_check(&p, 5, why, sizeof(why)), -ETIMEDOUT);
	assert_string_equal(why, "stuck stuck at 5");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_starting_is_live_not_ready),
	    cmocka_unit_test(test_running_fresh_loop_is_live_and_ready),
	    cmocka_unit_test(test_stale_loop_unready_then_dead),
	    cmocka_unit_test(test_exporter_problem_unready_still_live),
	    cmocka_unit_test(test_detached_or_stopping_unready),
	    cmocka_unit_test(test_short_buffer_is_cut),
	    cmocka_unit_test(test_pipeline_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
