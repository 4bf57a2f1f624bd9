// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_http2_bounds.c - what bounds the HTTP/2 assembler's memory: open
 * streams per connection (MAX_OPEN_STREAMS, the new ones refused) and over
 * every connection (max_streams, the least recently active evicted), and
 * connections forgotten (evicted or silent for the forget time) with their
 * open streams dropped, each counted.
 * The fixture: support/http2_harness.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/http2_harness.h"
#include "assembly/http2_connection.h"

/* The assembler again, with a bound on open streams (0: the default) and
 * without same-node joining, which holds SERVER spans for a while. */
static void restart(struct fixture *f, size_t max_streams)
{
	struct http2_assembler_config cfg = {.max_streams = max_streams};

	http2_assembler_free(&f->a);
	assert_int_equal(
	    http2_assembler_init(&f->a, &cfg, &f->procs, &f->pipeline.sink, &f->stats, &f->clock),
	    0);
}

/* Request HEADERS (no END_STREAM: a streaming call) of streams first, first
 * + 2, ... n of them, as the server reads them, many per read. */
static void server_reads_requests(struct fixture *f, uint32_t first, unsigned n, uint64_t at)
{
	nghttp2_nv nv[] = {
	    NV(":method", "POST"),
	    NV(":scheme", "http"),
	    NV(":path", PATH),
	    NV(":authority", "10.0.0.2:50051"),
	    NV("content-type", "application/grpc"),
	};
	struct wire w = {0};

	if (first == 1)
		add_preface(&w);
	for (unsigned i = 0; i < n; i++) {
		if (w.len > sizeof(w.b) - 256) {
			deliver(f, &f->server, false, &w, at, at + 1);
			w.len = 0;
		}
		add_headers(&w, f->request_hpack, first + 2 * i, false, nv, ARRAY_SIZE(nv));
	}
	if (w.len)
		deliver(f, &f->server, false, &w, at, at + 1);
}

/* The server writes stream id's whole response. */
static void server_answers(struct fixture *f, uint32_t id, uint64_t at)
{
	struct wire w = {0};

	add_response(f, &w, id, "0");
	deliver(f, &f->server, true, &w, at, at + 1);
}

static struct h2_conn *server_conn(struct fixture *f)
{
	return (struct h2_conn *)conn_registry_get(&f->a.conns, f->server.conn_id);
}

/* Beyond SETTINGS_MAX_CONCURRENT_STREAMS-like MAX_OPEN_STREAMS on one
 * connection, new streams are not traced (counted); the open ones are kept. */
static void test_streams_per_connection_are_bounded(void **state)
{
	struct fixture *f = *state;

	restart(f, 0);
	server_reads_requests(f, 1, MAX_OPEN_STREAMS + 5, T0);
	assert_int_equal(server_conn(f)->streams.count, MAX_OPEN_STREAMS);
	assert_int_equal(f->a.streams.count, MAX_OPEN_STREAMS);
	assert_int_equal(STAT_GET(&f->stats, h2_streams_dropped), 5);
	assert_int_equal(STAT_GET(&f->stats, h2_streams_evicted), 0);
	server_answers(f, 1, T0 + MS);
	assert_int_equal(f->cap.count, 1);
	assert_int_equal(f->a.streams.count, MAX_OPEN_STREAMS - 1);
}

/* Over every connection, the least recently active stream makes room. */
static void test_total_streams_evict_least_recently_active(void **state)
{
	struct fixture *f = *state;
	struct wire w = {0};

	restart(f, 4);
	server_reads_requests(f, 1, 4, T0); /* streams 1, 3, 5, 7 */
	assert_int_equal(f->a.streams.count, 4);
	/* A DATA frame of stream 1: 3 becomes the least recently active. */
	add_data(&w, 1, false);
	deliver(f, &f->server, false, &w, T0 + MS, T0 + MS + 1);
	server_reads_requests(f, 9, 1, T0 + 2 * MS);
	assert_int_equal(f->a.streams.count, 4);
	assert_int_equal(STAT_GET(&f->stats, h2_streams_evicted), 1);
	assert_null(u64_map_get(&server_conn(f)->streams, 3));
	assert_non_null(u64_map_get(&server_conn(f)->streams, 1));
	/* The evicted stream's response makes no span; the others still do. */
	server_answers(f, 3, T0 + 3 * MS);
	server_answers(f, 1, T0 + 4 * MS);
	assert_int_equal(f->cap.count, 1);
	assert_int_equal(f->a.streams.count, 3);
	/* Early responses (CLIENT) count against the same bound. */
	assert_int_equal(STAT_GET(&f->stats, h2_streams_dropped), 0);
}

/* A connection silent for the forget time is forgotten with its open
 * streams, dropped and counted, never failed. */
static void test_silent_connection_forgotten_with_its_streams(void **state)
{
	struct fixture *f = *state;

	restart(f, 0);
	server_reads_requests(f, 1, 3, T0);
	http2_assembler_tick(&f->a, T0 + 1 + CONN_FORGET_NS_DEFAULT - 1);
	assert_int_equal(conn_registry_count(&f->a.conns), 1);
	http2_assembler_tick(&f->a, T0 + 1 + CONN_FORGET_NS_DEFAULT);
	assert_int_equal(conn_registry_count(&f->a.conns), 0);
	assert_int_equal(f->a.streams.count, 0);
	assert_int_equal(f->cap.count, 0);
	assert_int_equal(STAT_GET(&f->stats, conns_expired), 1);
	assert_int_equal(STAT_GET(&f->stats, requests_forgotten), 3);
	assert_int_equal(STAT_GET(&f->stats, http_unanswered_requests), 0);
}

/* Beyond the connection bound, the least recently active connection goes,
 * its streams with it. */
static void test_connection_eviction_drops_its_streams(void **state)
{
	struct fixture *f = *state;
	struct wire w = {0};

	restart(f, 0);
	f->a.own_budget.max = 1;
	server_reads_requests(f, 1, 2, T0);
	/* Another connection: its own HPACK state. */
	nghttp2_hd_deflate_del(f->request_hpack);
	assert_int_equal(nghttp2_hd_deflate_new(&f->request_hpack, 4096), 0);
	add_preface(&w);
	add_request(f, &w, 1, NULL);
	deliver(f, &f->client, true, &w, T0 + MS, T0 + MS + 1);
	assert_int_equal(conn_registry_count(&f->a.conns), 1);
	assert_null(server_conn(f));
	assert_int_equal(STAT_GET(&f->stats, conns_evicted), 1);
	assert_int_equal(STAT_GET(&f->stats, requests_forgotten), 2);
	assert_int_equal(f->a.streams.count, 1); /* the client's */
}

/* A connection that once carried a large header block does not keep a
 * buffer that size: a few KiB per direction are what it holds. */
static void test_large_header_block_buffer_is_given_back(void **state)
{
	struct fixture *f = *state;
	static char big[6000];
	uint8_t block[8192];
	struct wire w = {0};
	struct h2_conn *c;
	ssize_t len;

	restart(f, 0);
	memset(big, 'x', sizeof(big) - 1);
	nghttp2_nv nv[] = {
	    NV(":method", "POST"), NV(":scheme", "http"), NV(":path", PATH),
	    NV(":authority", "a"), NV("x-big", big),
	};
	add_preface(&w);
	deliver(f, &f->server, false, &w, T0, T0 + 1);
	/* A HEADERS frame and a CONTINUATION: the block is larger than one
	 * piece of the fixture's wire. */
	len = nghttp2_hd_deflate_hd(f->request_hpack, block, sizeof(block), nv, ARRAY_SIZE(nv));
	assert_true(len > 4096);
	w.len = 0;
	put_frame(w.b, &w.len, 3000, HTTP2_FRAME_HEADERS, 0, 1, block);
	deliver(f, &f->server, false, &w, T0 + 2, T0 + 3);
	w.len = 0;
	put_frame(w.b, &w.len, (uint32_t)len - 3000, HTTP2_FRAME_CONTINUATION,
		  HTTP2_FLAG_END_HEADERS, 1, block + 3000);
	deliver(f, &f->server, false, &w, T0 + 4, T0 + 5);
	c = server_conn(f);
	assert_int_equal(c->streams.count, 1);
	assert_null(c->dir[0].block.buf);
	assert_int_equal(c->dir[0].block.cap, 0);
	assert_true(c->dir[0].frames.collect_cap <= H2_COLLECT_KEEP);
}

int main(void)
{
#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    TEST(test_streams_per_connection_are_bounded),
	    TEST(test_total_streams_evict_least_recently_active),
	    TEST(test_silent_connection_forgotten_with_its_streams),
	    TEST(test_connection_eviction_drops_its_streams),
	    TEST(test_large_header_block_buffer_is_given_back),
	};
#undef TEST
	return cmocka_run_group_tests(tests, NULL, NULL);
}
