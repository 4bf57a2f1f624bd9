// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_http2_stream_join.c - same-node joining (--propagation tuple): a SERVER
 * stream without a traceparent is the child of the CLIENT stream of the same
 * connection and stream id, whichever end is processed first; the header
 * wins; the connection is named as the kernel's HTTP/1 join names it (network
 * namespace left out, IPv4 equal to its IPv4-mapped IPv6 form); the join
 * table's bound.
 * The fixture: support/http2_harness.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/http2_harness.h"

struct exchange {
	struct wire req, resp;
};

static void build_exchange(struct fixture *f, struct exchange *x, uint32_t id, const char *tp)
{
	memset(x, 0, sizeof(*x));
	if (id == 1)
		add_preface(&x->req);
	add_request(f, &x->req, id, tp);
	add_response(f, &x->resp, id, "0");
}

/* Client writes the request, server reads it and answers, client reads the
 * answer: the ring order of the four events is `order` (c: client, s:
 * server; request before response on each end). */
static void run_exchange(struct fixture *f, const struct exchange *x, const char *order, uint64_t t)
{
	int client_step = 0, server_step = 0;

	for (const char *o = order; *o; o++, t += MS) {
		/* Each end's first event is the request, its second the response. */
		bool client = *o == 'c';
		int step = client ? client_step++ : server_step++;
		const struct wire *w = step == 0 ? &x->req : &x->resp;
		bool egress = client ? step == 0 : step == 1;

		deliver(f, client ? &f->client : &f->server, egress, w, t - MS / 2, t);
	}
}

/* Stream 1 seen by the SERVER only, answered at T0 + 3 ms. */
static void server_end_only(struct fixture *f, struct exchange *x)
{
	build_exchange(f, x, 1, NULL);
	deliver(f, &f->server, false, &x->req, T0, T0 + MS);
	deliver(f, &f->server, true, &x->resp, T0 + 2 * MS, T0 + 3 * MS);
}

static void test_join_in_every_order(void **state)
{
	/* c c s s cannot be (the client reads what the server wrote), but any
	 * other interleaving can reach the ring. */
	static const char *const orders[] = {"cssc", "scsc", "sscc", "cscs", "sccs"};
	struct fixture *f = *state;

	for (size_t i = 0; i < ARRAY_SIZE(orders); i++) {
		struct exchange x;
		struct span *srv, *cli;

		build_exchange(f, &x, 1 + 2 * (uint32_t)i, NULL);
		run_exchange(f, &x, orders[i], T0 + i * 100 * MS);
		assert_int_equal(f->cap.count, 2 * (i + 1));
		srv = f->cap.spans[2 * i]->kind == SPAN_KIND_SERVER ? f->cap.spans[2 * i]
								    : f->cap.spans[2 * i + 1];
		cli = f->cap.spans[2 * i]->kind == SPAN_KIND_SERVER ? f->cap.spans[2 * i + 1]
								    : f->cap.spans[2 * i];
		assert_int_equal(srv->kind, SPAN_KIND_SERVER);
		assert_int_equal(cli->kind, SPAN_KIND_CLIENT);
		assert_root(cli);
		assert_child_of(srv, cli);
		assert_int_equal(STAT_GET(&f->stats, h2_streams_joined), i + 1);
	}
	assert_int_equal(STAT_GET(&f->stats, h2_join_unmatched), 0);
}

/* Many streams open at once: each SERVER span is paired with its own
 * CLIENT stream, not a neighbour's. */
static void test_join_concurrent_streams(void **state)
{
	struct fixture *f = *state;
	struct exchange x[8];
	uint64_t t = T0;

	for (uint32_t i = 0; i < ARRAY_SIZE(x); i++)
		build_exchange(f, &x[i], 1 + 2 * i, NULL);
	/* The server reads every request before the client's writes are seen;
	 * it answers in reverse order. */
	for (size_t i = 0; i < ARRAY_SIZE(x); i++)
		deliver(f, &f->server, false, &x[i].req, t, t + MS), t += MS;
	for (size_t i = 0; i < ARRAY_SIZE(x); i++)
		deliver(f, &f->client, true, &x[i].req, T0 - MS, t), t += MS;
	for (size_t i = ARRAY_SIZE(x); i-- > 0;)
		deliver(f, &f->server, true, &x[i].resp, t, t + MS), t += MS;
	for (size_t i = ARRAY_SIZE(x); i-- > 0;)
		deliver(f, &f->client, false, &x[i].resp, t, t + MS), t += MS;

	assert_int_equal(f->cap.count, 2 * ARRAY_SIZE(x));
	for (size_t i = 0; i < f->cap.count; i++) {
		struct span *srv = f->cap.spans[i], *cli = NULL;
		if (srv->kind != SPAN_KIND_SERVER)
			continue;
		/* Its client: the same request start order (stream id). */
		for (size_t k = 0; k < f->cap.count; k++)
			if (f->cap.spans[k]->kind == SPAN_KIND_CLIENT &&
			    memcmp(f->cap.spans[k]->span_id, srv->parent_span_id, 8) == 0)
				cli = f->cap.spans[k];
		assert_non_null(cli);
		assert_child_of(srv, cli);
		/* Stream k's server span ended at the reversed answer time,
		 * its client span ends in the same reversed order. */
		assert_true(cli->end_unix_ns > srv->end_unix_ns);
		assert_int_equal(cli->end_unix_ns - srv->end_unix_ns,
				 ARRAY_SIZE(x) * MS); /* own stream: fixed distance */
	}
	assert_int_equal(STAT_GET(&f->stats, h2_streams_joined), ARRAY_SIZE(x));
}

static void test_traceparent_of_the_request_wins(void **state)
{
	struct fixture *f = *state;
	struct exchange x;
	struct span *srv, *cli;
	static const uint8_t trace[16] = {0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd,
					  0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c};
	static const uint8_t parent[8] = {0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31};

	build_exchange(f, &x, 1, HEADER_TP);
	run_exchange(f, &x, "scsc", T0);
	srv = only_span_of_kind(f, SPAN_KIND_SERVER, SERVER_PID);
	cli = only_span_of_kind(f, SPAN_KIND_CLIENT, CLIENT_PID);
	assert_memory_equal(srv->trace_id, trace, 16);
	assert_memory_equal(srv->parent_span_id, parent, 8);
	/* The client's own header parents it too: same trace, sibling. */
	assert_memory_equal(cli->trace_id, trace, 16);
	assert_memory_not_equal(srv->parent_span_id, cli->span_id, 8);
	assert_int_equal(STAT_GET(&f->stats, h2_streams_joined), 0);
}

static void test_no_join_without_tuple_propagation(void **state)
{
	static const uint32_t modes[] = {KSPAN_PROPAGATE_HEADERS, 0};
	struct fixture *f = *state;

	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		struct exchange x;

		http2_assembler_finish_all(&f->a);
		http2_assembler_free(&f->a);
		start(f, modes[i]);
		f->client.conn_id++, f->server.conn_id++;
		f->client.seq[0] = f->client.seq[1] = f->server.seq[0] = f->server.seq[1] = 0;
		nghttp2_hd_deflate_del(f->request_hpack);
		nghttp2_hd_deflate_del(f->response_hpack);
		assert_int_equal(nghttp2_hd_deflate_new(&f->request_hpack, 4096), 0);
		assert_int_equal(nghttp2_hd_deflate_new(&f->response_hpack, 4096), 0);
		build_exchange(f, &x, 1, NULL);
		run_exchange(f, &x, "cssc", T0);
		assert_int_equal(f->cap.count, 2 * (i + 1));
		for (size_t k = 2 * i; k < f->cap.count; k++)
			assert_root(f->cap.spans[k]);
	}
	assert_int_equal(STAT_GET(&f->stats, h2_streams_joined), 0);
}

/* A SERVER whose client is not on this node: its span is held for the
 * CLIENT end, then sent as a root, counted. */
static void test_server_without_client_is_sent_after_the_hold(void **state)
{
	struct fixture *f = *state;
	struct exchange x;

	server_end_only(f, &x);
	http2_assembler_tick(&f->a, T0 + 3 * MS + HTTP2_JOIN_SERVER_HOLD_NS - 1);
	assert_int_equal(f->cap.count, 0);
	http2_assembler_tick(&f->a, T0 + 3 * MS + HTTP2_JOIN_SERVER_HOLD_NS);
	assert_int_equal(f->cap.count, 1);
	assert_root(f->cap.spans[0]);
	assert_int_equal(f->cap.spans[0]->end_unix_ns, T0 + 3 * MS);
	assert_int_equal(STAT_GET(&f->stats, h2_join_unmatched), 1);
	/* The late CLIENT end finds nothing to join, and is reported. */
	deliver(f, &f->client, true, &x.req, T0 - MS, T0 + 4000 * MS);
	deliver(f, &f->client, false, &x.resp, T0 + 4000 * MS, T0 + 4001 * MS);
	assert_int_equal(f->cap.count, 2);
	assert_int_equal(STAT_GET(&f->stats, h2_streams_joined), 0);
}

/* Shutdown sends held SERVER spans as they are. */
static void test_finish_all_sends_held_server_spans(void **state)
{
	struct fixture *f = *state;
	struct exchange x;

	server_end_only(f, &x);
	assert_int_equal(f->cap.count, 0);
	http2_assembler_finish_all(&f->a);
	assert_int_equal(f->cap.count, 1);
	assert_int_equal(STAT_GET(&f->stats, h2_join_unmatched), 1);
}

/* The SERVER sees its client through a dual-stack socket (::ffff:10.0.0.1)
 * and lives in another network namespace: still the same connection. */
static void test_join_across_address_families(void **state)
{
	struct fixture *f = *state;
	struct kspan_conn_tuple *t = &f->server.tuple;
	struct exchange x;

	t->family = KSPAN_AF_INET6;
	memset(t->local_addr, 0, 16);
	memset(t->remote_addr, 0, 16);
	t->local_addr[10] = t->local_addr[11] = t->remote_addr[10] = t->remote_addr[11] = 0xff;
	memcpy(t->local_addr + 12, server_addr, 4);
	memcpy(t->remote_addr + 12, client_addr, 4);
	build_exchange(f, &x, 1, NULL);
	run_exchange(f, &x, "scsc", T0);
	assert_child_of(only_span_of_kind(f, SPAN_KIND_SERVER, SERVER_PID),
			only_span_of_kind(f, SPAN_KIND_CLIENT, CLIENT_PID));
}

/* Another connection (other client port) with the same stream id is not
 * joined. */
static void test_no_join_across_connections(void **state)
{
	struct fixture *f = *state;
	struct exchange x;

	f->server.tuple.remote_port = 40001;
	build_exchange(f, &x, 1, NULL);
	run_exchange(f, &x, "cssc", T0);
	http2_assembler_tick(&f->a, T0 + 10000 * MS);
	assert_int_equal(f->cap.count, 2);
	assert_root(f->cap.spans[0]);
	assert_root(f->cap.spans[1]);
	assert_int_equal(STAT_GET(&f->stats, h2_join_unmatched), 1);
}

static void test_join_table_full_evicts_the_oldest(void **state)
{
	struct fixture *f = *state;
	struct http2_stream_join j;
	struct h2_stream_name n[3];
	struct span *client = span_new(), *server = span_new();

	assert_int_equal(http2_stream_join_init(&j, 2, &f->pipeline.sink, &f->stats), 0);
	span_random_id(client->trace_id, 16);
	span_random_id(client->span_id, 8);
	server->trace_flags = 1; /* sampled, as span assembly decides before the join */
	for (uint32_t i = 0; i < 3; i++)
		h2_stream_name_init(&n[i], &f->client.tuple, 1, 1 + 2 * i);
	http2_stream_join_client(&j, &n[0], client, T0);
	http2_stream_join_client(&j, &n[1], client, T0);
	http2_stream_join_client(&j, &n[2], client, T0); /* n[0] goes */
	assert_int_equal(STAT_GET(&f->stats, h2_join_table_full), 1);
	h2_stream_name_init(&n[0], &f->server.tuple, 0, 1);
	http2_stream_join_server_end(&j, &n[0], span_ref(server), T0); /* n[1] goes */
	assert_int_equal(f->cap.count, 0);
	http2_stream_join_flush(&j);
	assert_int_equal(f->cap.count, 1);
	assert_root(f->cap.spans[0]);
	assert_int_equal(STAT_GET(&f->stats, h2_join_unmatched), 1);
	http2_stream_join_free(&j);
	span_unref(client);
	span_unref(server);
}

int main(void)
{
#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    TEST(test_join_in_every_order),
	    TEST(test_join_concurrent_streams),
	    TEST(test_traceparent_of_the_request_wins),
	    TEST(test_no_join_without_tuple_propagation),
	    TEST(test_server_without_client_is_sent_after_the_hold),
	    TEST(test_finish_all_sends_held_server_spans),
	    TEST(test_join_across_address_families),
	    TEST(test_no_join_across_connections),
	    TEST(test_join_table_full_evicts_the_oldest),
	};
#undef TEST

	return cmocka_run_group_tests(tests, NULL, NULL);
}
