// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_http2_stream_contexts.c - the kernel-decided HTTP/2 stream contexts
 * waiting for their span: taken once, kept only while some wait, bounded in
 * connections (the least recently active forgets first, counted), expired
 * after HTTP2_STREAM_CONTEXT_TTL_NS, forgotten with the connection or its
 * process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "assembly/http2_stream_contexts.h"

static struct kspan_h2_stream_event ctx(uint64_t conn, uint32_t tgid, uint32_t stream, uint64_t ts)
{
	struct kspan_h2_stream_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.hdr.type = KSPAN_EVENT_H2_STREAM_CTX;
	ev.hdr.tgid = tgid;
	ev.hdr.ts_ns = ts;
	ev.conn_id = conn;
	ev.stream_id = stream;
	ev.ctx.flags = KSPAN_CTX_F_VALID;
	ev.ctx.span_id[0] = (uint8_t)stream;
	return ev;
}

static void put(struct http2_stream_contexts *t, uint64_t conn, uint32_t tgid, uint32_t stream,
		uint64_t ts)
{
	struct kspan_h2_stream_event ev = ctx(conn, tgid, stream, ts);

	http2_stream_contexts_put(t, &ev);
}

static bool take(struct http2_stream_contexts *t, uint64_t conn, uint32_t stream)
{
	struct kspan_h2_stream_event out;

	if (!http2_stream_contexts_take(t, conn, stream, &out))
		return false;
	assert_int_equal(out.ctx.span_id[0], (uint8_t)stream);
	return true;
}

/* Taken once; a connection whose contexts were all taken holds nothing. */
static void test_taken_once_then_nothing_kept(void **state)
{
	struct agent_stats stats = {0};
	struct http2_stream_contexts t;

	(void)state;
	assert_int_equal(http2_stream_contexts_init(&t, 0, &stats), 0);
	put(&t, 1, 10, 1, 100);
	put(&t, 1, 10, 3, 100);
	assert_int_equal(http2_stream_contexts_conns(&t), 1);
	assert_true(take(&t, 1, 3));
	assert_false(take(&t, 1, 3));
	assert_int_equal(http2_stream_contexts_conns(&t), 1);
	assert_true(take(&t, 1, 1));
	assert_int_equal(http2_stream_contexts_conns(&t), 0);
	assert_false(take(&t, 1, 1));
	http2_stream_contexts_free(&t);
}

/* At most max_conns connections have contexts waiting: a new one makes
 * the least recently active forget its own, counted. */
static void test_connections_bounded_least_recently_active_first(void **state)
{
	struct agent_stats stats = {0};
	struct http2_stream_contexts t;

	(void)state;
	assert_int_equal(http2_stream_contexts_init(&t, 2, &stats), 0);
	put(&t, 1, 10, 1, 100);
	put(&t, 1, 10, 3, 101);
	put(&t, 2, 10, 1, 102);
	put(&t, 1, 10, 5, 103); /* 1 is active again: 2 is the oldest */
	put(&t, 3, 10, 1, 104);
	assert_int_equal(http2_stream_contexts_conns(&t), 2);
	assert_int_equal(STAT_GET(&stats, h2_stream_contexts_evicted), 1);
	assert_false(take(&t, 2, 1));
	assert_true(take(&t, 1, 3));
	assert_true(take(&t, 3, 1));
	/* 1 still has 1 and 5 waiting: evicting it counts both. */
	put(&t, 4, 10, 1, 105);
	put(&t, 5, 10, 1, 106);
	assert_int_equal(STAT_GET(&stats, h2_stream_contexts_evicted), 3);
	assert_false(take(&t, 1, 5));
	/* A flood of connections stays within the bound. */
	for (uint64_t c = 100; c < 5000; c++) {
		put(&t, c, 10, 1, 200 + c);
		assert_true(http2_stream_contexts_conns(&t) <= 2);
	}
	http2_stream_contexts_free(&t);
}

/* A context its span never took (its block did not decode) goes after the
 * TTL; the connection's latest context restarts the wait. */
static void test_stale_contexts_expire(void **state)
{
	struct agent_stats stats = {0};
	struct http2_stream_contexts t;
	const uint64_t ttl = HTTP2_STREAM_CONTEXT_TTL_NS;

	(void)state;
	assert_int_equal(http2_stream_contexts_init(&t, 0, &stats), 0);
	put(&t, 1, 10, 1, 1000);
	put(&t, 2, 10, 1, 1000);
	put(&t, 2, 10, 3, 5000);
	http2_stream_contexts_tick(&t, 1000 + ttl - 1);
	assert_int_equal(http2_stream_contexts_conns(&t), 2);
	http2_stream_contexts_tick(&t, 1000 + ttl);
	assert_int_equal(http2_stream_contexts_conns(&t), 1);
	assert_true(take(&t, 2, 1));
	http2_stream_contexts_tick(&t, 5000 + ttl);
	assert_int_equal(http2_stream_contexts_conns(&t), 0);
	/* Expiry is not eviction: nothing was pushed out by others. */
	assert_int_equal(STAT_GET(&stats, h2_stream_contexts_evicted), 0);
	http2_stream_contexts_free(&t);
}

static void test_forgotten_with_connection_or_process(void **state)
{
	struct agent_stats stats = {0};
	struct http2_stream_contexts t;

	(void)state;
	assert_int_equal(http2_stream_contexts_init(&t, 0, &stats), 0);
	put(&t, 1, 10, 1, 100);
	put(&t, 2, 11, 1, 100);
	put(&t, 3, 10, 1, 100);
	put(&t, 4, 12, 1, 100);
	http2_stream_contexts_forget_conn(&t, 4);
	http2_stream_contexts_forget_process(&t, 10);
	assert_int_equal(http2_stream_contexts_conns(&t), 1);
	assert_true(take(&t, 2, 1));
	/* Stream id 0 is never a request stream (and marks a free slot). */
	put(&t, 5, 10, 0, 100);
	assert_int_equal(http2_stream_contexts_conns(&t), 0);
	http2_stream_contexts_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_taken_once_then_nothing_kept),
	    cmocka_unit_test(test_connections_bounded_least_recently_active_first),
	    cmocka_unit_test(test_stale_contexts_expire),
	    cmocka_unit_test(test_forgotten_with_connection_or_process),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
