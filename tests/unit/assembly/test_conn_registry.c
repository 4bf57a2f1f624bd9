// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_conn_registry.c - the bound on followed connections: one budget over
 * the registries of both protocols, the least recently active connection
 * evicted first, silent ones forgotten after forget_ns, each counted; how
 * every way out (close, process exit, eviction, expiry, shutdown) reaches
 * the owner's end and destroy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "assembly/conn_registry.h"

#define FORGET_NS 1000ull

/* The owner's connection, and what the owner saw. */
struct test_conn {
	struct conn_entry base;
	bool open_request;
};

struct owner {
	unsigned inits, ends, ticks;
	uint64_t last_end[16]; /* end_mono of each end, in order */
	uint64_t ended_ids[16];
};

static unsigned destroyed;

static int t_init(void *o, struct conn_entry *c)
{
	(void)c;
	((struct owner *)o)->inits++;
	return 0;
}

static void t_end(void *o, struct conn_entry *c, uint64_t end_mono)
{
	struct owner *w = o;

	if (w->ends < 16) {
		w->last_end[w->ends] = end_mono;
		w->ended_ids[w->ends] = c->conn_id;
	}
	w->ends++;
}

static void t_tick(void *o, struct conn_entry *c, uint64_t now)
{
	(void)c;
	(void)now;
	((struct owner *)o)->ticks++;
}

static void t_destroy(struct conn_entry *c)
{
	destroyed++;
	free(c);
}

static const struct conn_registry_ops ops = {
    .init = t_init, .end = t_end, .tick = t_tick, .destroy = t_destroy};

static struct conn_entry *open_at(struct conn_registry *r, uint64_t id, uint32_t tgid, uint64_t ts)
{
	struct kspan_data_event ev = {.conn_id = id, .hdr = {.tgid = tgid, .ts_ns = ts}};

	return conn_registry_open(r, &ev);
}

static void test_cap_evicts_least_recently_active(void **state)
{
	struct agent_stats stats = {0};
	struct conn_budget b;
	struct conn_registry r;
	struct owner w = {0};
	struct conn_entry *c1;

	(void)state;
	destroyed = 0;
	conn_budget_init(&b, 3, FORGET_NS, &stats);
	assert_int_equal(conn_registry_init(&r, 4, sizeof(struct test_conn), &ops, &w, &b), 0);
	c1 = open_at(&r, 1, 10, 100);
	open_at(&r, 2, 10, 110);
	open_at(&r, 3, 10, 120);
	/* 1 speaks again: 2 is now the least recently active. */
	conn_registry_touch(&r, c1, 130);
	assert_non_null(open_at(&r, 4, 10, 140));
	assert_int_equal(conn_registry_count(&r), 3);
	assert_null(conn_registry_get(&r, 2));
	assert_non_null(conn_registry_get(&r, 1));
	assert_int_equal(STAT_GET(&stats, conns_evicted), 1);
	/* Evicted: ended as forgotten, not as closed, then freed. */
	assert_int_equal(w.ends, 1);
	assert_int_equal(w.ended_ids[0], 2);
	assert_true(w.last_end[0] == CONN_FORGOTTEN);
	assert_int_equal(destroyed, 1);
	assert_int_equal(b.count, 3);
	/* Next in line: 3, then 1, then 4. */
	open_at(&r, 5, 10, 150);
	open_at(&r, 6, 10, 160);
	assert_null(conn_registry_get(&r, 3));
	assert_null(conn_registry_get(&r, 1));
	assert_non_null(conn_registry_get(&r, 4));
	assert_int_equal(STAT_GET(&stats, conns_evicted), 3);
	conn_registry_free(&r);
	assert_int_equal(destroyed, 6);
	assert_int_equal(b.count, 0);
	assert_null(b.oldest);
	assert_null(b.newest);
}

/* HTTP/1 and HTTP/2 share one bound: a new connection of either protocol
 * evicts the least recently active of both. */
static void test_budget_is_shared_by_registries(void **state)
{
	struct agent_stats stats = {0};
	struct conn_budget b;
	struct conn_registry h1, h2;
	struct owner w1 = {0}, w2 = {0};

	(void)state;
	destroyed = 0;
	conn_budget_init(&b, 2, FORGET_NS, &stats);
	assert_int_equal(conn_registry_init(&h1, 4, sizeof(struct test_conn), &ops, &w1, &b), 0);
	assert_int_equal(conn_registry_init(&h2, 4, sizeof(struct test_conn), &ops, &w2, &b), 0);
	open_at(&h1, 1, 10, 100);
	open_at(&h2, 2, 10, 110);
	open_at(&h2, 3, 10, 120); /* evicts HTTP/1's 1 */
	assert_int_equal(w1.ends, 1);
	assert_int_equal(w1.ended_ids[0], 1);
	assert_int_equal(conn_registry_count(&h1), 0);
	assert_int_equal(conn_registry_count(&h2), 2);
	open_at(&h1, 4, 10, 130); /* evicts HTTP/2's 2 */
	assert_int_equal(w2.ends, 1);
	assert_int_equal(w2.ended_ids[0], 2);
	assert_int_equal(b.count, 2);
	assert_int_equal(STAT_GET(&stats, conns_evicted), 2);
	/* A taken connection (its close) leaves the budget too. */
	t_destroy(conn_registry_take(&h1, 4));
	assert_int_equal(b.count, 1);
	open_at(&h1, 5, 10, 140);
	assert_int_equal(STAT_GET(&stats, conns_evicted), 2);
	conn_registry_free(&h1);
	conn_registry_free(&h2);
	assert_int_equal(b.count, 0);
}

/* A connection silent for forget_ns is forgotten, requests open or not (its
 * close was lost); one that spoke since is kept. */
static void test_silent_connections_expire(void **state)
{
	struct agent_stats stats = {0};
	struct conn_budget b;
	struct conn_registry r;
	struct owner w = {0};
	struct conn_entry *c2;

	(void)state;
	destroyed = 0;
	conn_budget_init(&b, 100, FORGET_NS, &stats);
	assert_int_equal(conn_registry_init(&r, 4, sizeof(struct test_conn), &ops, &w, &b), 0);
	open_at(&r, 1, 10, 100);
	c2 = open_at(&r, 2, 10, 100);
	conn_registry_touch(&r, c2, 600);
	conn_registry_tick(&r, 100 + FORGET_NS - 1);
	assert_int_equal(conn_registry_count(&r), 2);
	assert_int_equal(w.ticks, 2);
	conn_registry_tick(&r, 100 + FORGET_NS);
	assert_int_equal(conn_registry_count(&r), 1);
	assert_int_equal(w.ends, 1);
	assert_true(w.last_end[0] == CONN_FORGOTTEN);
	assert_int_equal(STAT_GET(&stats, conns_expired), 1);
	conn_registry_tick(&r, 600 + FORGET_NS);
	assert_int_equal(conn_registry_count(&r), 0);
	assert_int_equal(STAT_GET(&stats, conns_expired), 2);
	assert_int_equal(destroyed, 2);
	assert_int_equal(b.count, 0);
	assert_int_equal(STAT_GET(&stats, conns_evicted), 0);
	conn_registry_free(&r);
}

/* Process exit and shutdown end connections with their own end times and
 * keep the budget's count right. */
static void test_process_exit_and_shutdown_release_budget(void **state)
{
	struct agent_stats stats = {0};
	struct conn_budget b;
	struct conn_registry r;
	struct owner w = {0};

	(void)state;
	destroyed = 0;
	conn_budget_init(&b, 0, 0, &stats);
	assert_int_equal(b.max, CONN_MAX_DEFAULT);
	assert_true(b.forget_ns == CONN_FORGET_NS_DEFAULT);
	assert_int_equal(conn_registry_init(&r, 4, sizeof(struct test_conn), &ops, &w, &b), 0);
	open_at(&r, 1, 10, 100);
	open_at(&r, 2, 11, 100);
	open_at(&r, 3, 10, 100);
	conn_registry_end_process(&r, 10, 500);
	assert_int_equal(conn_registry_count(&r), 1);
	assert_int_equal(b.count, 1);
	assert_int_equal(w.ends, 2);
	assert_true(w.last_end[0] == 500 && w.last_end[1] == 500);
	conn_registry_shutdown(&r);
	assert_int_equal(w.ends, 3);
	assert_true(w.last_end[2] == CONN_SHUTDOWN);
	assert_int_equal(b.count, 0);
	assert_null(b.oldest);
	assert_int_equal(destroyed, 3);
	conn_registry_free(&r);
}

/* A flood of connections whose close never comes stays within the bound. */
static void test_flood_stays_bounded(void **state)
{
	struct agent_stats stats = {0};
	struct conn_budget b;
	struct conn_registry r;
	struct owner w = {0};

	(void)state;
	destroyed = 0;
	conn_budget_init(&b, 64, FORGET_NS, &stats);
	assert_int_equal(conn_registry_init(&r, 4, sizeof(struct test_conn), &ops, &w, &b), 0);
	for (uint64_t id = 1; id <= 10000; id++) {
		assert_non_null(open_at(&r, id, 10, id));
		assert_true(conn_registry_count(&r) <= 64);
	}
	assert_int_equal(STAT_GET(&stats, conns_evicted), 10000 - 64);
	/* The newest 64 are the ones kept. */
	for (uint64_t id = 10000 - 63; id <= 10000; id++)
		assert_non_null(conn_registry_get(&r, id));
	conn_registry_free(&r);
	assert_int_equal(destroyed, 10000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cap_evicts_least_recently_active),
	    cmocka_unit_test(test_budget_is_shared_by_registries),
	    cmocka_unit_test(test_silent_connections_expire),
	    cmocka_unit_test(test_process_exit_and_shutdown_release_budget),
	    cmocka_unit_test(test_flood_stays_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
