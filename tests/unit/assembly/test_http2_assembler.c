// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_http2_assembler.c - HTTP/2 events in the orders the ring buffer
 * delivers them (syscall-exit order) to spans:
 *   - a CLIENT reads a stream's response before the event of the write that
 *     sent its request is processed: one span, with the request's start and
 *     the response's end; a response whose request never comes is counted;
 *   - same-node joining (--propagation tuple): a SERVER stream without a
 *     traceparent is the child of the CLIENT stream of the same connection
 *     and stream id, whichever end is processed first; the header wins; the
 *     connection is named as the kernel's HTTP/1 join names it (network
 *     namespace left out, IPv4 equal to its IPv4-mapped IPv6 form).
 * Header blocks are encoded with nghttp2's HPACK deflater, one per direction
 * of the wire, and the same bytes are given to both ends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <nghttp2/nghttp2.h>

#include "http2_detect.h"
#include "protocol/http2_frame_parser.h"
#include "pipeline/pipeline.h"
#include "assembly/http2_assembler.h"
#include "support/http2_test_frames.h"
#include "support/span_capture.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MS	      1000000ull
#define T0	      5000000000ull
#define CLIENT_PID    5151
#define SERVER_PID    4242
#define PATH	      "/kspan.test.Echo/Unary"
#define HEADER_TP     "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

/* One end of a connection as the kernel reports it. */
struct end {
	uint64_t conn_id;
	uint32_t tgid;
	uint8_t role;
	struct kspan_conn_tuple tuple;
	uint16_t seq[2]; /* next DATA event per direction (egress: 1) */
};

struct fixture {
	struct agent_stats stats;
	struct mono_to_unix clock; /* offset 0: unix = mono */
	struct process_table procs;
	struct capture cap;
	struct pipeline pipeline;
	struct http2_assembler a;
	/* The two directions of the wire: requests, responses. */
	nghttp2_hd_deflater *request_hpack, *response_hpack;
	struct end client, server;
};

static const uint8_t client_addr[4] = {10, 0, 0, 1}, server_addr[4] = {10, 0, 0, 2};

static void start(struct fixture *f, uint32_t propagation)
{
	assert_int_equal(http2_assembler_init(&f->a, false, propagation, &f->procs,
					      &f->pipeline.sink, &f->stats, &f->clock),
			 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(process_table_init(&f->procs, "/nonexistent-proc"), 0);
	capture_init(&f->cap);
	pipeline_init(&f->pipeline, &f->stats);
	assert_int_equal(pipeline_add_exporter(&f->pipeline, &f->cap.exporter), 0);
	f->pipeline.sampler =
	    (struct sampler){.root = SAMPLER_ALWAYS_ON, .parent_based = true, .ratio = 1.0};
	assert_int_equal(nghttp2_hd_deflate_new(&f->request_hpack, 4096), 0);
	assert_int_equal(nghttp2_hd_deflate_new(&f->response_hpack, 4096), 0);
	/* Client and server in two network namespaces joined by a veth pair. */
	f->client = (struct end){.conn_id = 0xc11e, .tgid = CLIENT_PID, .role = KSPAN_ROLE_CLIENT};
	f->client.tuple = (struct kspan_conn_tuple){
	    .local_port = 40000, .remote_port = 50051, .family = KSPAN_AF_INET, .netns_ino = 111};
	memcpy(f->client.tuple.local_addr, client_addr, 4);
	memcpy(f->client.tuple.remote_addr, server_addr, 4);
	f->server = (struct end){.conn_id = 0x5e7e, .tgid = SERVER_PID, .role = KSPAN_ROLE_SERVER};
	f->server.tuple = (struct kspan_conn_tuple){
	    .local_port = 50051, .remote_port = 40000, .family = KSPAN_AF_INET, .netns_ino = 222};
	memcpy(f->server.tuple.local_addr, server_addr, 4);
	memcpy(f->server.tuple.remote_addr, client_addr, 4);
	start(f, KSPAN_PROPAGATE_TUPLE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	http2_assembler_finish_all(&f->a);
	http2_assembler_free(&f->a);
	pipeline_shutdown(&f->pipeline, 0);
	process_table_free(&f->procs);
	nghttp2_hd_deflate_del(f->request_hpack);
	nghttp2_hd_deflate_del(f->response_hpack);
	free(f);
	return 0;
}

/* --- bytes on the wire --------------------------------------------------- */

struct wire {
	uint8_t b[4096];
	size_t len;
};

#define NV(n, v)                                                                                   \
	{                                                                                          \
		(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE     \
	}

static void add_headers(struct wire *w, nghttp2_hd_deflater *d, uint32_t id, bool end_stream,
			const nghttp2_nv *nv, size_t n)
{
	uint8_t block[1024];
	ssize_t len = nghttp2_hd_deflate_hd(d, block, sizeof(block), nv, n);

	assert_true(len > 0);
	put_frame(w->b, &w->len, (uint32_t)len, H2_HEADERS,
		  H2_FLAG_END_HEADERS | (end_stream ? H2_FLAG_END_STREAM : 0), id, block);
}

static void add_data(struct wire *w, uint32_t id, bool end_stream)
{
	static const uint8_t msg[] = {0, 0, 0, 0, 2, 'h', 'i'}; /* a gRPC message */

	put_frame(w->b, &w->len, sizeof(msg), H2_DATA, end_stream ? H2_FLAG_END_STREAM : 0, id,
		  msg);
}

/* The client preface and its (empty) SETTINGS, RFC 9113 section 3.4. */
static void add_preface(struct wire *w)
{
	memcpy(w->b + w->len, HTTP2_PREFACE, HTTP2_PREFACE_LEN);
	w->len += HTTP2_PREFACE_LEN;
	put_frame(w->b, &w->len, 0, H2_SETTINGS, 0, 0, NULL);
}

/* A unary gRPC request on stream id, with traceparent tp when not NULL. */
static void add_request(struct fixture *f, struct wire *w, uint32_t id, const char *tp)
{
	nghttp2_nv nv[] = {
	    NV(":method", "POST"),
	    NV(":scheme", "http"),
	    NV(":path", PATH),
	    NV(":authority", "10.0.0.2:50051"),
	    NV("content-type", "application/grpc"),
	    NV("traceparent", tp ? tp : ""),
	};

	add_headers(w, f->request_hpack, id, false, nv, ARRAY_SIZE(nv) - (tp ? 0 : 1));
	add_data(w, id, true);
}

/* Its whole response: head, message, trailers with grpc-status. */
static void add_response(struct fixture *f, struct wire *w, uint32_t id, const char *grpc_status)
{
	nghttp2_nv head[] = {NV(":status", "200"), NV("content-type", "application/grpc")};
	nghttp2_nv trailers[] = {NV("grpc-status", grpc_status)};

	add_headers(w, f->response_hpack, id, false, head, ARRAY_SIZE(head));
	add_data(w, id, false);
	add_headers(w, f->response_hpack, id, true, trailers, ARRAY_SIZE(trailers));
}

/* One syscall of end e moving w, from enter to exit (mono ns). */
static void deliver(struct fixture *f, struct end *e, bool egress, const struct wire *w,
		    uint64_t enter, uint64_t exit)
{
	static uint8_t buf[sizeof(struct kspan_data_event) + sizeof(w->b)];
	struct kspan_data_event *ev = (struct kspan_data_event *)buf;

	memset(ev, 0, sizeof(*ev));
	ev->hdr.type = KSPAN_EVENT_DATA;
	ev->hdr.tgid = e->tgid;
	ev->hdr.tid = e->tgid;
	ev->hdr.ts_ns = exit;
	ev->ts_enter_ns = enter;
	ev->conn_id = e->conn_id;
	ev->tuple = e->tuple;
	ev->bytes_total = ev->captured_len = (uint32_t)w->len;
	ev->direction = egress ? KSPAN_DIR_EGRESS : KSPAN_DIR_INGRESS;
	ev->role = e->role;
	ev->protocol = KSPAN_PROTO_HTTP2;
	ev->seq = e->seq[egress]++;
	memcpy(ev + 1, w->b, w->len);
	http2_assembler_on_data(&f->a, ev);
}

/* --- checks -------------------------------------------------------------- */

static struct span *only_span_of_kind(struct fixture *f, enum span_kind kind, uint32_t pid)
{
	struct span *found = NULL;

	for (size_t i = 0; i < f->cap.count; i++) {
		struct span *s = f->cap.spans[i];
		if (s->kind != kind || s->resource->pid != pid)
			continue;
		assert_null(found);
		found = s;
	}
	assert_non_null(found);
	return found;
}

static int64_t int_attr(const struct span *s, const char *key)
{
	const struct attribute *a = attribute_list_find(&s->attrs, key);

	assert_non_null(a);
	assert_int_equal(a->type, ATTR_INT);
	return a->i;
}

static void assert_child_of(const struct span *child, const struct span *parent)
{
	assert_memory_equal(child->trace_id, parent->trace_id, 16);
	assert_memory_equal(child->parent_span_id, parent->span_id, 8);
	assert_int_equal(child->trace_flags, parent->trace_flags);
}

static void assert_root(const struct span *s)
{
	assert_true(bytes_all_zero(s->parent_span_id, 8));
}

/* --- a response read before its request ---------------------------------- */

static void test_client_response_before_request(void **state)
{
	struct fixture *f = *state;
	struct wire req = {0}, resp = {0};
	struct span *s;

	add_preface(&req);
	add_request(f, &req, 1, NULL);
	add_response(f, &resp, 1, "5");
	/* The writer entered at T0; its exit reaches the ring after the
	 * reader's, which got the whole response at T0 + 3 ms. */
	deliver(f, &f->client, false, &resp, T0 + 2 * MS, T0 + 3 * MS);
	assert_int_equal(f->cap.count, 0);
	deliver(f, &f->client, true, &req, T0, T0 + 4 * MS);

	assert_int_equal(f->cap.count, 1);
	s = only_span_of_kind(f, SPAN_KIND_CLIENT, CLIENT_PID);
	assert_string_equal(s->name, "kspan.test.Echo/Unary");
	assert_int_equal(s->start_unix_ns, T0);
	assert_int_equal(s->end_unix_ns, T0 + 3 * MS);
	assert_int_equal(int_attr(s, "http.response.status_code"), 200);
	assert_int_equal(int_attr(s, "rpc.grpc.status_code"), 5);
	assert_int_equal(s->status_code, SPAN_STATUS_ERROR); /* client: any non-OK */
	assert_int_equal(STAT_GET(&f->stats, h2_early_responses), 1);
	assert_int_equal(STAT_GET(&f->stats, h2_orphan_responses), 0);
	assert_int_equal(STAT_GET(&f->stats, h2_early_responses_expired), 0);
}

/* The request came first for stream 1, the response first for stream 3:
 * both spans are right and distinct. */
static void test_client_mixed_orders_on_one_connection(void **state)
{
	struct fixture *f = *state;
	struct wire r1 = {0}, r3 = {0}, a1 = {0}, a3 = {0};
	struct span *s1 = NULL, *s3 = NULL;

	add_preface(&r1);
	add_request(f, &r1, 1, NULL);
	add_request(f, &r3, 3, NULL);
	/* Encoded in the order they are read (HPACK state). */
	add_response(f, &a3, 3, "13");
	add_response(f, &a1, 1, "0");
	deliver(f, &f->client, true, &r1, T0, T0 + 1 * MS);
	deliver(f, &f->client, false, &a3, T0 + 5 * MS, T0 + 6 * MS);
	deliver(f, &f->client, true, &r3, T0 + 2 * MS, T0 + 7 * MS);
	deliver(f, &f->client, false, &a1, T0 + 8 * MS, T0 + 9 * MS);

	assert_int_equal(f->cap.count, 2);
	for (size_t i = 0; i < 2; i++) {
		struct span *s = f->cap.spans[i];
		if (int_attr(s, "rpc.grpc.status_code") == 0)
			s1 = s;
		else
			s3 = s;
	}
	assert_non_null(s1);
	assert_non_null(s3);
	assert_int_equal(s1->start_unix_ns, T0);
	assert_int_equal(s1->end_unix_ns, T0 + 9 * MS);
	assert_int_equal(s3->start_unix_ns, T0 + 2 * MS);
	assert_int_equal(s3->end_unix_ns, T0 + 6 * MS);
	assert_int_equal(int_attr(s3, "rpc.grpc.status_code"), 13);
	assert_int_equal(STAT_GET(&f->stats, h2_early_responses), 1);
}

/* The server reset the stream (RST_STREAM REFUSED_STREAM) before the
 * client's request event was processed: the span ends with the reset. */
static void test_client_reset_before_request(void **state)
{
	static const uint8_t refused[4] = {0, 0, 0, 7};
	struct fixture *f = *state;
	struct wire req = {0}, rst = {0};
	struct span *s;
	const struct attribute *type;

	add_preface(&req);
	add_request(f, &req, 1, NULL);
	put_frame(rst.b, &rst.len, sizeof(refused), H2_RST_STREAM, 0, 1, refused);
	deliver(f, &f->client, false, &rst, T0 + 1 * MS, T0 + 2 * MS);
	deliver(f, &f->client, true, &req, T0, T0 + 3 * MS);

	s = only_span_of_kind(f, SPAN_KIND_CLIENT, CLIENT_PID);
	assert_int_equal(s->start_unix_ns, T0);
	assert_int_equal(s->end_unix_ns, T0 + 2 * MS);
	assert_int_equal(s->status_code, SPAN_STATUS_ERROR);
	assert_string_equal(s->status_message, "stream reset (RST_STREAM REFUSED_STREAM)");
	type = attribute_list_find(&s->attrs, "error.type");
	assert_non_null(type);
	assert_string_equal(type->str, "rst_stream");
	assert_int_equal(STAT_GET(&f->stats, h2_streams_reset), 1);
	assert_int_equal(STAT_GET(&f->stats, http_unanswered_requests), 1);
}

static void test_early_response_without_request_is_counted(void **state)
{
	struct fixture *f = *state;
	struct wire resp = {0};

	add_response(f, &resp, 1, "0");
	deliver(f, &f->client, false, &resp, T0, T0 + 1 * MS);
	http2_assembler_tick(&f->a, T0 + 2 * MS);
	assert_int_equal(STAT_GET(&f->stats, h2_early_responses_expired), 0);
	http2_assembler_tick(&f->a, T0 + 1 * MS + 5000 * MS);
	assert_int_equal(f->cap.count, 0);
	assert_int_equal(STAT_GET(&f->stats, h2_early_responses), 1);
	assert_int_equal(STAT_GET(&f->stats, h2_early_responses_expired), 1);
}

/* A response for a stream at or below the last request seen is an orphan
 * (its request was not traced), not an early response. */
static void test_response_for_an_old_stream_is_an_orphan(void **state)
{
	struct fixture *f = *state;
	struct wire req = {0}, resp = {0};

	add_preface(&req);
	add_request(f, &req, 3, NULL);
	add_response(f, &resp, 1, "0");
	deliver(f, &f->client, true, &req, T0, T0 + 1 * MS);
	deliver(f, &f->client, false, &resp, T0 + 2 * MS, T0 + 3 * MS);
	/* Two header blocks: the head and the trailers. */
	assert_int_equal(STAT_GET(&f->stats, h2_orphan_responses), 2);
	assert_int_equal(STAT_GET(&f->stats, h2_early_responses), 0);
}

/* --- same-node joining ---------------------------------------------------- */

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

/* Stream 1 seen by the SERVER only, answered at T0 + 3 ms. */
static void server_end_only(struct fixture *f, struct exchange *x)
{
	build_exchange(f, x, 1, NULL);
	deliver(f, &f->server, false, &x->req, T0, T0 + MS);
	deliver(f, &f->server, true, &x->resp, T0 + 2 * MS, T0 + 3 * MS);
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

/* --- the join table's bound ----------------------------------------------- */

static void test_join_table_full_evicts_the_oldest(void **state)
{
	struct fixture *f = *state;
	struct http2_stream_join j;
	struct h2_stream_name n[3];
	struct span *client = span_new(), *server = span_new();

	assert_int_equal(http2_stream_join_init(&j, 2, &f->pipeline.sink, &f->stats), 0);
	span_random_id(client->trace_id, 16);
	span_random_id(client->span_id, 8);
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
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_client_response_before_request, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_mixed_orders_on_one_connection, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_client_reset_before_request, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_early_response_without_request_is_counted, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_response_for_an_old_stream_is_an_orphan, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_join_in_every_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_join_concurrent_streams, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_traceparent_of_the_request_wins, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_join_without_tuple_propagation, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_server_without_client_is_sent_after_the_hold,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_finish_all_sends_held_server_spans, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_join_across_address_families, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_join_across_connections, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_join_table_full_evicts_the_oldest, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
