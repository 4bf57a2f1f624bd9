/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http2_harness.h - the fixture of the HTTP/2 assembler tests: a client and
 * a server end of one connection, in two network namespaces, and the bytes
 * on the wire between them. Header blocks are encoded with nghttp2's HPACK
 * deflater, one per direction of the wire, and the same bytes are given to
 * both ends; deliver() hands one syscall's worth to the assembler as the
 * kernel reports it. Include after <cmocka.h>.
 */
#ifndef KSPAN_TEST_HTTP2_HARNESS_H
#define KSPAN_TEST_HTTP2_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
	struct sampler sampler;
	struct http2_assembler a;
	/* The two directions of the wire: requests, responses. */
	nghttp2_hd_deflater *request_hpack, *response_hpack;
	struct end client, server;
};

static const uint8_t client_addr[4] = {10, 0, 0, 1}, server_addr[4] = {10, 0, 0, 2};

static inline void start(struct fixture *f, uint32_t propagation)
{
	struct http2_assembler_config cfg = {.propagation = propagation, .sampler = &f->sampler};

	assert_int_equal(
	    http2_assembler_init(&f->a, &cfg, &f->procs, &f->pipeline.sink, &f->stats, &f->clock),
	    0);
}

static inline int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(process_table_init(&f->procs, "/nonexistent-proc"), 0);
	capture_init(&f->cap);
	pipeline_init(&f->pipeline, &f->stats);
	assert_int_equal(pipeline_add_exporter(&f->pipeline, &f->cap.exporter), 0);
	f->sampler =
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

static inline int teardown(void **state)
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

static inline void add_headers(struct wire *w, nghttp2_hd_deflater *d, uint32_t id, bool end_stream,
			       const nghttp2_nv *nv, size_t n)
{
	uint8_t block[1024];
	ssize_t len = nghttp2_hd_deflate_hd(d, block, sizeof(block), nv, n);

	assert_true(len > 0);
	put_frame(w->b, &w->len, (uint32_t)len, HTTP2_FRAME_HEADERS,
		  HTTP2_FLAG_END_HEADERS | (end_stream ? HTTP2_FLAG_END_STREAM : 0), id, block);
}

static inline void add_data(struct wire *w, uint32_t id, bool end_stream)
{
	static const uint8_t msg[] = {0, 0, 0, 0, 2, 'h', 'i'}; /* a gRPC message */

	put_frame(w->b, &w->len, sizeof(msg), HTTP2_FRAME_DATA,
		  end_stream ? HTTP2_FLAG_END_STREAM : 0, id, msg);
}

/* The client preface and its (empty) SETTINGS, RFC 9113 section 3.4. */
static inline void add_preface(struct wire *w)
{
	memcpy(w->b + w->len, HTTP2_PREFACE, HTTP2_PREFACE_LEN);
	w->len += HTTP2_PREFACE_LEN;
	put_frame(w->b, &w->len, 0, HTTP2_FRAME_SETTINGS, 0, 0, NULL);
}

/* A unary gRPC request on stream id, with traceparent tp when not NULL. */
static inline void add_request(struct fixture *f, struct wire *w, uint32_t id, const char *tp)
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
static inline void add_response(struct fixture *f, struct wire *w, uint32_t id,
				const char *grpc_status)
{
	nghttp2_nv head[] = {NV(":status", "200"), NV("content-type", "application/grpc")};
	nghttp2_nv trailers[] = {NV("grpc-status", grpc_status)};

	add_headers(w, f->response_hpack, id, false, head, ARRAY_SIZE(head));
	add_data(w, id, false);
	add_headers(w, f->response_hpack, id, true, trailers, ARRAY_SIZE(trailers));
}

/* One syscall of end e moving w, from enter to exit (mono ns). */
static inline void deliver(struct fixture *f, struct end *e, bool egress, const struct wire *w,
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

static inline struct span *only_span_of_kind(struct fixture *f, enum span_kind kind, uint32_t pid)
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

static inline int64_t int_attr(const struct span *s, const char *key)
{
	const struct attribute *a = attribute_list_find(&s->attrs, key);

	assert_non_null(a);
	assert_int_equal(a->type, ATTR_INT);
	return a->i;
}

static inline void assert_child_of(const struct span *child, const struct span *parent)
{
	assert_memory_equal(child->trace_id, parent->trace_id, 16);
	assert_memory_equal(child->parent_span_id, parent->span_id, 8);
	assert_int_equal(child->trace_flags, parent->trace_flags);
}

static inline void assert_root(const struct span *s)
{
	assert_true(bytes_all_zero(s->parent_span_id, 8));
}

#endif /* KSPAN_TEST_HTTP2_HARNESS_H */
