// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_metric_store.c - metric streams: one per (resource, metric, attribute
 * set), the cardinality limit with its overflow set (metrics/sdk.md), and
 * collection in cumulative and delta temporality from the same store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/metric_store.h"

static struct metric_attrs route(const char *r, int64_t status)
{
	struct metric_attrs a = {0};
	metric_attrs_add_str(&a, "http.route", r);
	metric_attrs_add_int(&a, "http.response.status_code", status);
	return a;
}

static void record(struct metric_store *s, struct resource *res, const char *r, int64_t status,
		   double v, uint64_t now)
{
	struct metric_attrs a = route(r, status);
	assert_int_equal(metric_store_record(s, res, METRIC_HTTP_SERVER_DURATION, &a, v, NULL, now),
			 0);
}

static const struct metric_point *find(const struct metric_snapshot *snap, const char *r,
				       int64_t status)
{
	for (size_t i = 0; i < snap->n; i++) {
		const struct metric_stream *st = snap->points[i].stream;
		if (!st->overflow && st->attrs.n == 2 && !strcmp(st->attrs.a[0].str, r) &&
		    st->attrs.a[1].i == status)
			return &snap->points[i];
	}
	return NULL;
}

static void equal_sets_share_a_stream(void **state)
{
	struct agent_stats stats = {0};
	struct metric_store s;
	struct metric_snapshot snap;
	char path[] = "/users/{id}";
	(void)state;
	assert_int_equal(metric_store_init(&s, 2000, 100, &stats), 0);
	record(&s, NULL, path, 200, 0.1, 110);
	path[1] = 'u'; /* the store copied the string */
	record(&s, NULL, "/users/{id}", 200, 0.2, 120);
	record(&s, NULL, "/users/{id}", 500, 0.3, 130);
	assert_int_equal(metric_store_collect(&s, false, 200, &snap), 0);
	assert_int_equal(snap.n, 2);
	const struct metric_point *ok = find(&snap, "/users/{id}", 200);
	assert_non_null(ok);
	assert_int_equal(ok->h.count, 2);
	assert_int_equal(ok->start_unix_ns, 110);
	assert_int_equal(ok->time_unix_ns, 200);
	assert_int_equal(find(&snap, "/users/{id}", 500)->h.count, 1);
	metric_snapshot_free(&snap);
	metric_store_free(&s);
}

/* metrics/sdk.md: with limit N, N - 1 sets and the overflow set. */
static void cardinality_limit_overflow_set(void **state)
{
	struct agent_stats stats = {0};
	struct metric_store s;
	struct metric_snapshot snap;
	struct resource *a = resource_new(1), *b = resource_new(2);
	(void)state;
	assert_int_equal(metric_store_init(&s, 3, 0, &stats), 0);
	record(&s, a, "/a", 200, 0.1, 1);
	record(&s, a, "/b", 200, 0.1, 1);
	record(&s, a, "/c", 200, 0.1, 1);
	record(&s, a, "/d", 200, 0.1, 1);
	record(&s, a, "/a", 200, 0.1, 1); /* an existing set still counts as itself */
	/* Another process has its own limit. */
	record(&s, b, "/c", 200, 0.1, 1);
	assert_int_equal(stats.metric_measurements_overflowed, 2);
	assert_int_equal(metric_store_collect(&s, false, 2, &snap), 0);
	assert_int_equal(snap.n, 4);
	size_t overflow = 0;
	for (size_t i = 0; i < snap.n; i++) {
		const struct metric_point *p = &snap.points[i];
		if (p->stream->overflow) {
			overflow++;
			assert_ptr_equal(p->stream->resource, a);
			assert_int_equal(p->stream->attrs.n, 0);
			assert_int_equal(p->h.count, 2);
		}
	}
	assert_int_equal(overflow, 1);
	assert_int_equal(find(&snap, "/a", 200)->h.count, 2);
	/* grouped by resource */
	assert_ptr_equal(snap.points[0].stream->resource, snap.points[1].stream->resource);
	metric_snapshot_free(&snap);
	metric_store_free(&s);
	resource_unref(a);
	resource_unref(b);
}

static void delta_and_cumulative_from_one_store(void **state)
{
	struct agent_stats stats = {0};
	struct metric_store s;
	struct metric_snapshot d1, d2, d3, c;
	(void)state;
	assert_int_equal(metric_store_init(&s, 2000, 0, &stats), 0);
	record(&s, NULL, "/a", 200, 0.1, 10);
	record(&s, NULL, "/b", 200, 0.1, 20);
	assert_int_equal(metric_store_collect(&s, true, 100, &d1), 0);
	record(&s, NULL, "/a", 200, 0.1, 110);
	record(&s, NULL, "/a", 200, 0.1, 120);
	assert_int_equal(metric_store_collect(&s, false, 150, &c), 0);
	assert_int_equal(metric_store_collect(&s, true, 200, &d2), 0);
	assert_int_equal(metric_store_collect(&s, true, 300, &d3), 0);

	assert_true(d1.delta);
	assert_int_equal(d1.n, 2);
	assert_int_equal(find(&d1, "/a", 200)->h.count, 1);
	assert_int_equal(find(&d1, "/a", 200)->start_unix_ns, 10);
	/* only what changed, since the previous delta collection */
	assert_int_equal(d2.n, 1);
	assert_int_equal(find(&d2, "/a", 200)->h.count, 2);
	assert_int_equal(find(&d2, "/a", 200)->start_unix_ns, 100);
	assert_int_equal(find(&d2, "/a", 200)->time_unix_ns, 200);
	assert_int_equal(d3.n, 0);
	/* a cumulative reader (Prometheus) in between saw everything */
	assert_false(c.delta);
	assert_int_equal(find(&c, "/a", 200)->h.count, 3);
	assert_int_equal(find(&c, "/a", 200)->start_unix_ns, 10);
	assert_int_equal(find(&c, "/b", 200)->h.count, 1);
	metric_snapshot_free(&d1);
	metric_snapshot_free(&d2);
	metric_snapshot_free(&d3);
	metric_snapshot_free(&c);
	metric_store_free(&s);
}

static void counters_count_one_per_record(void **state)
{
	struct agent_stats stats = {0};
	struct metric_store s;
	struct metric_snapshot snap;
	struct metric_attrs a = {0};
	(void)state;
	metric_attrs_add_str(&a, "client", "curl");
	metric_attrs_add_str(&a, "server", "python3");
	assert_int_equal(metric_store_init(&s, 2000, 0, &stats), 0);
	for (int i = 0; i < 3; i++)
		metric_store_record(&s, NULL, METRIC_SERVICE_GRAPH_REQUESTS, &a, 7.0, NULL, 1);
	assert_int_equal(metric_store_collect(&s, false, 2, &snap), 0);
	assert_int_equal(snap.n, 1);
	assert_int_equal(snap.points[0].h.count, 3);
	assert_true(snap.points[0].h.sum == 0);
	metric_snapshot_free(&snap);
	metric_store_free(&s);
}

/* Idle streams go (and free their place under the limit), not while a
 * snapshot points at them, nor before a delta reader has seen their last
 * measurements. */
static void idle_streams_removed(void **state)
{
	struct agent_stats stats = {0};
	struct metric_store s;
	struct metric_snapshot snap;
	struct resource *r = resource_new(9);
	(void)state;
	assert_int_equal(metric_store_init(&s, 3, 0, &stats), 0);
	record(&s, r, "/a", 200, 0.1, 100);
	record(&s, r, "/b", 200, 0.1, 500);
	assert_int_equal(stats.metric_sets, 2);
	assert_int_equal(metric_store_collect(&s, false, 600, &snap), 0);
	metric_store_remove_idle(&s, 1000, 600);
	assert_int_equal(stats.metric_sets, 2); /* a snapshot is alive */
	metric_snapshot_free(&snap);
	metric_store_remove_idle(&s, 1000, 600);
	assert_int_equal(stats.metric_sets, 1);
	assert_int_equal(stats.metric_sets_idle_removed, 1);
	/* /a's place is free again: /c is a set of its own, not the overflow */
	record(&s, r, "/c", 200, 0.1, 1001);
	assert_int_equal(stats.metric_measurements_overflowed, 0);
	/* a delta reader that has not seen /c keeps it */
	assert_int_equal(metric_store_collect(&s, true, 1002, &snap), 0);
	metric_snapshot_free(&snap);
	record(&s, r, "/c", 200, 0.1, 1003);
	metric_store_remove_idle(&s, 5000, 600);
	assert_int_equal(stats.metric_sets, 1);
	assert_int_equal(metric_store_collect(&s, true, 5001, &snap), 0);
	assert_int_equal(snap.n, 1);
	metric_snapshot_free(&snap);
	metric_store_remove_idle(&s, 5002, 600);
	assert_int_equal(stats.metric_sets, 0);
	metric_store_free(&s);
	resource_unref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(equal_sets_share_a_stream),
	    cmocka_unit_test(cardinality_limit_overflow_set),
	    cmocka_unit_test(delta_and_cumulative_from_one_store),
	    cmocka_unit_test(counters_count_one_per_record),
	    cmocka_unit_test(idle_streams_removed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
