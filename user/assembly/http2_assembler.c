// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* http2_assembler.c - HTTP/2 streams to spans. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assembly/grpc_semconv.h"
#include "http2_detect.h"
#include "protocol/http2_frame_parser.h"
#include "assembly/http2_assembler.h"
#include "assembly/http_naming.h"
#include "lib/log.h"
#include "lib/net_address.h"
#include "w3c_traceparent.h"

/* A connection silent this long, with no open stream, is forgotten (its
 * close was lost). */
#define CONN_FORGET_NS (15ull * 60 * 1000000000ull)
/* Attributes a stream's span carries at most. */
#define SPAN_H2_ATTRS 26
/* Open streams per connection at most (SETTINGS_MAX_CONCURRENT_STREAMS is
 * commonly 100..1000). */
#define MAX_OPEN_STREAMS 4096
/* A header block larger than this is not decoded (and breaks HPACK). */
#define HEADER_BLOCK_MAX (256 * 1024)
/* A response read before its request was processed waits this long for it
 * (the writer's syscall exit is late by a scheduling delay, not more). */
#define EARLY_RESPONSE_WAIT_NS (5ull * 1000000000)

/* The fields of one header block that spans use, copied out of the
 * decoder's buffers. */
struct h2_fields {
	char method[24], scheme[16], authority[256], path[2048], content_type[128];
	char user_agent[512], traceparent[64], tracestate[512];
	int status;	 /* :status, 0 when absent */
	int grpc_status; /* -1 when absent */
	bool has_method; /* a request's pseudo-headers */
};

/*
 * What a CLIENT stream's response showed before the request that opened it
 * was processed: the reader thread's syscall can exit (and reach the ring)
 * before the writer's. Kept until the request comes, then applied in order.
 */
struct h2_early_response {
	uint64_t since_mono; /* when the first of it was read */
	int status;	     /* :status of the final head, 0 when none */
	bool grpc_content;   /* its content-type was application/grpc* */
	bool partial;	     /* a block was decoded without the dynamic table */
	bool ended;	     /* END_STREAM or a failure was seen, at end_mono */
	uint64_t end_mono;
	const char *error_type; /* the failure, when ended by one */
	char message[64];
};

struct h2_stream {
	uint32_t id;
	struct span *span; /* NULL while only its early response is known */
	struct h2_early_response *early;
	bool grpc;
	bool response_started; /* the final (non-1xx) response head arrived */
	bool join_parent;      /* SERVER without a traceparent: same-node join */
	int grpc_status;       /* -1 until known */
};

/* The header block being gathered in one direction (HEADERS or
 * PUSH_PROMISE, then CONTINUATION frames until END_HEADERS). */
struct h2_block {
	uint8_t *buf;
	size_t len, cap;
	uint32_t stream_id;
	bool active, end_stream, push, too_big;
};

struct h2_direction {
	struct http2_frame_parser frames;
	struct hpack_decoder hpack;
	struct h2_block block;
	/* SETTINGS_HEADER_TABLE_SIZE values the peer announced for this
	 * direction's encoder, applied in order as the encoder acknowledges
	 * them (SETTINGS ACK travels in this direction, in step with the
	 * header blocks it governs; RFC 9113 6.5.3). */
	uint32_t pending[8]; /* oldest first; SIZE_UNCHANGED: no table size */
	unsigned pending_count;
	uint16_t next_seq;
	bool seen;	    /* an event of this direction arrived */
	bool full_decoding; /* its HPACK state is known from the start */
};

struct h2_conn {
	uint64_t conn_id;
	uint32_t tgid;
	uint8_t role;
	struct kspan_conn_tuple tuple;
	struct h2_direction dir[2]; /* [0] ingress, [1] egress */
	struct u64_map streams;	    /* stream id -> struct h2_stream * */
	uint32_t last_request_stream;
	unsigned early_count; /* streams with span == NULL */
	bool dead;	      /* framing lost: nothing more is followed */
	uint64_t last_event_mono;
	/* Valid while a piece is being fed. */
	struct http2_assembler *a;
	const struct kspan_data_event *ev;
	int cur;
};

/* --- streams ----------------------------------------------------------- */

static bool is_server(const struct h2_conn *c)
{
	return c->role == KSPAN_ROLE_SERVER;
}

/* Requests travel in the direction the server reads. */
static bool is_request_dir(const struct h2_conn *c, int dir)
{
	return (dir == 0) == is_server(c);
}

static void stream_free(struct h2_stream *st)
{
	if (st->span)
		span_unref(st->span);
	free(st->early);
	free(st);
}

/* The stream's name as both ends of a same-node connection give it. */
static void stream_name(const struct h2_conn *c, uint32_t id, struct h2_stream_name *n)
{
	h2_stream_name_init(n, &c->tuple, !is_server(c), id);
}

/* The CLIENT span's context is decided: it parents the SERVER end if that
 * is on this node. Call again whenever the context changes. */
static void publish_client_context(struct h2_conn *c, const struct h2_stream *st)
{
	struct h2_stream_name n;

	if (is_server(c) || !(c->a->propagation & KSPAN_PROPAGATE_TUPLE))
		return;
	stream_name(c, st->id, &n);
	http2_stream_join_client(&c->a->join, &n, st->span, c->ev->hdr.ts_ns);
}

/* The response ended before the request was processed: remembered. */
static void early_end(struct h2_conn *c, struct h2_stream *st, uint64_t end_mono,
		      const char *error_type, const char *message)
{
	struct h2_early_response *e = st->early;

	(void)c;
	if (e->ended)
		return;
	e->ended = true;
	e->end_mono = end_mono;
	e->error_type = error_type;
	if (message)
		snprintf(e->message, sizeof(e->message), "%s", message);
}

static void finish_stream(struct h2_conn *c, struct h2_stream *st, uint64_t end_mono)
{
	struct span *s = st->span;
	uint64_t end;
	bool server = is_server(c);

	if (!s) {
		early_end(c, st, end_mono, NULL, NULL);
		return;
	}
	end = mono_to_unix_ns(c->a->clock, end_mono);
	u64_map_remove(&c->streams, st->id);
	st->span = NULL;
	s->end_unix_ns = end > s->start_unix_ns ? end : s->start_unix_ns;
	if (st->grpc && st->grpc_status >= 0) {
		attribute_list_add_int(&s->attrs, "rpc.grpc.status_code", st->grpc_status);
		if (grpc_status_is_error(st->grpc_status, server)) {
			const char *name = grpc_status_name(st->grpc_status);
			s->status_code = SPAN_STATUS_ERROR;
			attribute_list_add_str(&s->attrs, "error.type", name ? name : "_OTHER");
		}
	}
	if (st->join_parent) {
		struct h2_stream_name n;
		stream_name(c, st->id, &n);
		stream_free(st);
		http2_stream_join_server_end(&c->a->join, &n, s, end_mono);
		return;
	}
	stream_free(st);
	span_sink_submit(c->a->out, s);
}

/* The stream ended without its response: status ERROR with the reason. */
static void fail_stream(struct h2_conn *c, struct h2_stream *st, uint64_t end_mono,
			const char *error_type, const char *message)
{
	if (!st->span) {
		early_end(c, st, end_mono, error_type, message);
		return;
	}
	if (!st->response_started)
		STAT_INC(c->a->stats, http_unanswered_requests);
	if (st->grpc_status < 0 || !st->grpc) {
		st->span->status_code = SPAN_STATUS_ERROR;
		span_set_status_message(st->span, message);
		attribute_list_add_str(&st->span->attrs, "error.type", error_type);
	}
	finish_stream(c, st, end_mono);
}

struct stream_list {
	struct h2_stream **items;
	size_t count, cap;
	uint32_t above;
};

static int collect_stream_above(uint64_t key, void *value, void *arg)
{
	struct stream_list *l = arg;

	if (key > l->above && l->count < l->cap)
		l->items[l->count++] = value;
	return 0;
}

/* Ends every open stream with an id above `above` with an error. Streams
 * are collected first: finishing one removes it from the map. */
static void fail_streams(struct h2_conn *c, uint64_t end, uint32_t above, const char *error_type,
			 const char *message)
{
	struct stream_list l = {.cap = c->streams.count, .above = above};

	if (!l.cap)
		return;
	l.items = calloc(l.cap, sizeof(*l.items));
	if (!l.items)
		return;
	u64_map_visit(&c->streams, collect_stream_above, &l);
	for (size_t i = 0; i < l.count; i++)
		fail_stream(c, l.items[i], end, error_type, message);
	free(l.items);
}

static int drop_stream_entry(uint64_t key, void *value, void *arg)
{
	(void)key;
	(void)arg;
	stream_free(value);
	return 1;
}

/* --- attributes -------------------------------------------------------- */

static void add_request_attributes(struct h2_conn *c, struct h2_stream *st,
				   const struct h2_fields *f, bool partial)
{
	struct span *s = st->span;
	struct attribute_list *a = &s->attrs;
	char peer[INET6_ADDRSTRLEN], local[INET6_ADDRSTRLEN], host[256], route[512], query[1024];
	char name[600];
	const char *path = NULL, *q = NULL, *svc, *mth;
	size_t path_len = 0, q_len = 0, svc_len, mth_len;
	bool server = is_server(c);
	unsigned host_port = 0, port;

	net_format_addr(c->tuple.family, c->tuple.remote_addr, peer, sizeof(peer));
	net_format_addr(c->tuple.family, c->tuple.local_addr, local, sizeof(local));
	host[0] = 0;
	if (f->authority[0])
		net_split_host_port(f->authority, strlen(f->authority), host, sizeof(host),
				    &host_port);
	if (!host[0])
		snprintf(host, sizeof(host), "%s", server ? local : peer);
	port = host_port ? host_port : (server ? c->tuple.local_port : c->tuple.remote_port);
	if (f->path[0]) {
		http_split_target(f->path, strlen(f->path), &path, &path_len, &q, &q_len);
		if (q) {
			if (c->a->capture_query)
				snprintf(query, sizeof(query), "%.*s", (int)q_len, q);
			else
				http_query_redact(q, q_len, query, sizeof(query));
		}
	}

	st->grpc = grpc_is_content_type(f->content_type, strlen(f->content_type));
	if (st->grpc && path &&
	    grpc_split_path(path, path_len, &svc, &svc_len, &mth, &mth_len) == 0) {
		snprintf(name, sizeof(name), "%.*s", (int)path_len - 1, path + 1);
		attribute_list_add_str(a, "rpc.system", "grpc");
		attribute_list_add_strn(a, "rpc.service", svc, svc_len);
		attribute_list_add_strn(a, "rpc.method", mth, mth_len);
	} else if (f->method[0] && path) {
		http_path_template(path, path_len, route, sizeof(route));
		snprintf(name, sizeof(name), "%s %s", f->method, route);
	} else {
		/* HTTP semantic conventions: "{method}", or "HTTP" when the
		 * method is unknown too. */
		snprintf(name, sizeof(name), "%s", f->method[0] ? f->method : "HTTP");
	}
	span_set_name(s, name);
	if (st->grpc && !attribute_list_find(a, "rpc.system"))
		attribute_list_add_str(a, "rpc.system", "grpc");
	if (f->method[0])
		attribute_list_add_str(a, "http.request.method", f->method);
	if (f->scheme[0])
		attribute_list_add_str(a, "url.scheme", f->scheme);
	if (path) {
		attribute_list_add_strn(a, "url.path", path, path_len);
		if (q)
			attribute_list_add_str(a, "url.query", query);
	}
	if (!server && path && f->scheme[0]) {
		char full[2600];
		bool v6 = strchr(host, ':') != NULL;
		snprintf(full, sizeof(full), "%s://%s%s%s:%u%.*s%s%s", f->scheme, v6 ? "[" : "",
			 host, v6 ? "]" : "", port, (int)path_len, path, q ? "?" : "",
			 q ? query : "");
		attribute_list_add_str(a, "url.full", full);
	}
	attribute_list_add_str(a, "server.address", host);
	attribute_list_add_int(a, "server.port", port);
	if (server)
		attribute_list_add_str(a, "client.address", peer);
	attribute_list_add_str(a, "network.peer.address", peer);
	attribute_list_add_int(a, "network.peer.port", c->tuple.remote_port);
	attribute_list_add_str(a, "network.protocol.name", "http");
	attribute_list_add_str(a, "network.protocol.version", "2");
	attribute_list_add_str(a, "network.transport", "tcp");
	attribute_list_add_str(a, "network.type",
			       net_addr_is_v4(c->tuple.family, c->tuple.remote_addr) ? "ipv4"
										     : "ipv6");
	if (f->user_agent[0])
		attribute_list_add_str(a, "user_agent.original", f->user_agent);
	if (partial)
		attribute_list_add_bool(a, "kspan.http2.headers_partial", true);
}

/* An incoming traceparent parents the span (W3C Trace Context); otherwise
 * it starts a trace (a SERVER span may still join its CLIENT's when it ends,
 * http2_stream_join.h). Decided when the stream's request headers are seen;
 * true when the request carried a valid traceparent. */
static bool decide_context(struct span *s, const struct h2_fields *f)
{
	struct w3c_trace_context tc;
	size_t n = strlen(f->traceparent);

	span_random_id(s->span_id, 8);
	if (n && w3c_traceparent_parse((const __u8 *)f->traceparent, 0, (__u32)n, &tc) == 0) {
		memcpy(s->trace_id, tc.trace_id, 16);
		memcpy(s->parent_span_id, tc.parent_id, 8);
		s->trace_flags = tc.trace_flags & 1;
		if (f->tracestate[0])
			span_set_trace_state(s, f->tracestate, strlen(f->tracestate));
		return true;
	}
	span_random_id(s->trace_id, 16);
	s->trace_flags = 1;
	return false;
}

/* A CLIENT stream whose request names no traceparent takes the context the
 * kernel decided at its write's entry: the one it injected into the HEADERS
 * frame, and whose parent is the request the writing thread served. */
static void apply_kernel_context(struct h2_conn *c, uint32_t id, struct span *s,
				 const struct h2_fields *f)
{
	struct kspan_h2_stream_event k;

	if (!http2_stream_contexts_take(&c->a->kernel_ctx, c->conn_id, id, &k) || f->traceparent[0])
		return;
	if (!span_kernel_ctx_valid(&k.ctx)) {
		STAT_INC(c->a->stats, invalid_kernel_ids);
		return;
	}
	memcpy(s->trace_id, k.ctx.trace_id, 16);
	memcpy(s->span_id, k.ctx.span_id, 8);
	memset(s->parent_span_id, 0, 8);
	if (k.ctx.flags & KSPAN_CTX_F_HAS_PARENT)
		memcpy(s->parent_span_id, k.ctx.parent_span_id, 8);
	s->trace_flags = k.ctx.trace_flags & 1;
}

/* --- header blocks ------------------------------------------------------- */

static void copy_field(char *dst, size_t size, const uint8_t *v, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(dst, v, len);
	dst[len] = 0;
}

#define NAME_IS(lit) (name_len == sizeof(lit) - 1 && memcmp(name, lit, sizeof(lit) - 1) == 0)

static void on_field(void *ctx, const uint8_t *name, size_t name_len, const uint8_t *value,
		     size_t value_len)
{
	struct h2_fields *f = ctx;

	if (NAME_IS(":method")) {
		copy_field(f->method, sizeof(f->method), value, value_len);
		f->has_method = true;
	} else if (NAME_IS(":path")) {
		copy_field(f->path, sizeof(f->path), value, value_len);
	} else if (NAME_IS(":scheme")) {
		copy_field(f->scheme, sizeof(f->scheme), value, value_len);
	} else if (NAME_IS(":authority")) {
		copy_field(f->authority, sizeof(f->authority), value, value_len);
	} else if (NAME_IS(":status")) {
		char v[8];
		copy_field(v, sizeof(v), value, value_len);
		f->status = value_len == 3 ? atoi(v) : 0;
	} else if (NAME_IS("content-type")) {
		copy_field(f->content_type, sizeof(f->content_type), value, value_len);
	} else if (NAME_IS("grpc-status")) {
		f->grpc_status = grpc_parse_status((const char *)value, value_len);
	} else if (NAME_IS("user-agent")) {
		copy_field(f->user_agent, sizeof(f->user_agent), value, value_len);
	} else if (NAME_IS("traceparent")) {
		copy_field(f->traceparent, sizeof(f->traceparent), value, value_len);
	} else if (NAME_IS("tracestate")) {
		copy_field(f->tracestate, sizeof(f->tracestate), value, value_len);
	}
}

enum block_decoding {
	BLOCK_FULL,    /* decoded with the direction's HPACK state */
	BLOCK_PARTIAL, /* the state is unknown: static entries and literals only */
	BLOCK_FAILED,  /* this block did not decode: its fields are unknown */
};

/* Decodes the direction's gathered block into f. */
static enum block_decoding decode_block(struct h2_conn *c, struct h2_direction *d,
					struct h2_fields *f)
{
	struct h2_block *b = &d->block;
	bool failed = false;

	memset(f, 0, sizeof(*f));
	f->grpc_status = -1;
	if (b->too_big) {
		if (!d->hpack.broken)
			STAT_INC(c->a->stats, h2_header_decode_errors);
		d->hpack.broken = true;
		return BLOCK_FAILED;
	}
	if (d->full_decoding && !d->hpack.broken) {
		if (hpack_decoder_decode(&d->hpack, b->buf, b->len, on_field, f) == 0)
			return BLOCK_FULL;
		STAT_INC(c->a->stats, h2_header_decode_errors);
		log_debug("conn %016llx: an HTTP/2 header block failed to decode; later blocks "
			  "of this direction are decoded partially",
			  (unsigned long long)c->conn_id);
		failed = true;
	}
	memset(f, 0, sizeof(*f));
	f->grpc_status = -1;
	if (failed)
		return BLOCK_FAILED;
	STAT_INC(c->a->stats, h2_header_blocks_partial);
	if (hpack_decode_static_only(&c->a->scratch, b->buf, b->len, on_field, f) < 0) {
		memset(f, 0, sizeof(*f)); /* nothing from a malformed block */
		f->grpc_status = -1;
		return BLOCK_FAILED;
	}
	return BLOCK_PARTIAL;
}

static void mark_partial(struct span *s)
{
	if (!attribute_list_find(&s->attrs, "kspan.http2.headers_partial"))
		attribute_list_add_bool(&s->attrs, "kspan.http2.headers_partial", true);
}

static void apply_response_head(struct h2_conn *c, struct h2_stream *st, int status,
				bool grpc_content);

/* The request of a stream whose response came first: what the response
 * showed is applied now, in the order it happened. */
static void replay_early_response(struct h2_conn *c, struct h2_stream *st)
{
	struct h2_early_response *e = st->early;

	st->early = NULL;
	c->early_count--;
	if (e->partial)
		mark_partial(st->span);
	if (st->response_started)
		apply_response_head(c, st, e->status, e->grpc_content);
	if (e->ended && e->error_type)
		fail_stream(c, st, e->end_mono, e->error_type, e->message);
	else if (e->ended)
		finish_stream(c, st, e->end_mono);
	free(e);
}

static void on_request_block(struct h2_conn *c, uint32_t id, const struct h2_fields *f, bool full)
{
	struct http2_assembler *a = c->a;
	struct h2_stream *st = u64_map_get(&c->streams, id);
	struct span *s;
	uint64_t start;
	bool parented;

	if ((st && st->span) || id <= c->last_request_stream)
		return; /* request trailers, or a stream already finished */
	c->last_request_stream = id;
	if (!st && c->streams.count >= MAX_OPEN_STREAMS) {
		STAT_INC(a->stats, h2_streams_dropped);
		return;
	}
	s = span_new();
	if (!st) {
		st = calloc(1, sizeof(*st));
		if (!st || !s || u64_map_put(&c->streams, id, st)) {
			free(st);
			if (s)
				span_unref(s);
			return;
		}
		st->id = id;
		st->grpc_status = -1;
	} else if (!s) {
		return; /* the early response stays until it expires */
	}
	st->span = s;
	attribute_list_reserve(&s->attrs, SPAN_H2_ATTRS);
	s->kind = is_server(c) ? SPAN_KIND_SERVER : SPAN_KIND_CLIENT;
	s->tid = c->ev->hdr.tid;
	s->resource = resource_ref(process_table_resource(a->procs, c->tgid));
	/* SERVER: when the request's HEADERS reached the process (read
	 * returned); CLIENT: when the process began writing them. */
	start = is_server(c) ? c->ev->hdr.ts_ns : c->ev->ts_enter_ns;
	s->start_unix_ns = mono_to_unix_ns(a->clock, start);
	parented = decide_context(s, f);
	/* As for HTTP/1, a traceparent the request carries wins. */
	st->join_parent = is_server(c) && !parented && (a->propagation & KSPAN_PROPAGATE_TUPLE);
	if (!is_server(c))
		apply_kernel_context(c, id, s, f);
	add_request_attributes(c, st, f, !full);
	publish_client_context(c, st);
	if (st->early)
		replay_early_response(c, st);
}

/* The final response head: status code, error per the conventions. */
static void apply_response_head(struct h2_conn *c, struct h2_stream *st, int status,
				bool grpc_content)
{
	struct span *s = st->span;

	if (grpc_content && !st->grpc) {
		st->grpc = true;
		attribute_list_add_str(&s->attrs, "rpc.system", "grpc");
	}
	if (!status)
		return;
	attribute_list_add_int(&s->attrs, "http.response.status_code", status);
	/* HTTP semantic conventions, "Status"; a gRPC call's outcome is its
	 * grpc-status instead. */
	if (!st->grpc && (status >= 500 || (status >= 400 && !is_server(c)))) {
		char code[16];
		snprintf(code, sizeof(code), "%d", status);
		attribute_list_add_str(&s->attrs, "error.type", code);
		s->status_code = SPAN_STATUS_ERROR;
	}
}

static void on_response_block(struct h2_conn *c, struct h2_stream *st, const struct h2_fields *f,
			      bool full)
{
	struct h2_early_response *e = st->early;
	bool grpc_content;

	if (!full) {
		if (e)
			e->partial = true;
		else
			mark_partial(st->span);
	}
	if (!st->response_started) {
		/* 1xx are interim (RFC 9113 section 8.1). */
		if (f->status && f->status < 200)
			return;
		st->response_started = true;
		grpc_content = grpc_is_content_type(f->content_type, strlen(f->content_type));
		if (e) {
			e->status = f->status;
			e->grpc_content = grpc_content;
		} else {
			apply_response_head(c, st, f->status, grpc_content);
		}
	}
	/* grpc-status comes in trailers, or in a Trailers-Only response. */
	if (f->grpc_status >= 0)
		st->grpc_status = f->grpc_status;
}

/* A connection adopted mid-stream: the kernel did not see who connected.
 * Requests carry :method and responses :status; the direction tells the
 * rest. */
static bool learn_role(struct h2_conn *c, const struct h2_fields *f)
{
	bool ingress = c->cur == 0;

	if (f->has_method)
		c->role = ingress ? KSPAN_ROLE_SERVER : KSPAN_ROLE_CLIENT;
	else if (f->status)
		c->role = ingress ? KSPAN_ROLE_CLIENT : KSPAN_ROLE_SERVER;
	return c->role != KSPAN_ROLE_UNKNOWN;
}

/*
 * The stream a response frame belongs to. On a CLIENT connection, a
 * response for a client stream (odd id, RFC 9113 5.1.1) above every request
 * seen so far was read before its request was processed: it gets a stream
 * without a span until the request comes (bounded by MAX_OPEN_STREAMS,
 * dropped after EARLY_RESPONSE_WAIT_NS).
 */
static struct h2_stream *response_stream(struct h2_conn *c, uint32_t id)
{
	struct h2_stream *st = u64_map_get(&c->streams, id);

	if (st || c->role != KSPAN_ROLE_CLIENT || !(id & 1) || id <= c->last_request_stream)
		return st;
	if (c->streams.count >= MAX_OPEN_STREAMS) {
		STAT_INC(c->a->stats, h2_streams_dropped);
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->early = calloc(1, sizeof(*st->early));
	if (!st->early || u64_map_put(&c->streams, id, st)) {
		free(st->early);
		free(st);
		return NULL;
	}
	st->id = id;
	st->grpc_status = -1;
	st->early->since_mono = c->ev->hdr.ts_ns;
	c->early_count++;
	STAT_INC(c->a->stats, h2_early_responses);
	return st;
}

static void block_done(struct h2_conn *c)
{
	struct h2_direction *d = &c->dir[c->cur];
	struct h2_block *b = &d->block;
	struct h2_fields f;
	struct h2_stream *st;
	enum block_decoding how;

	b->active = false;
	how = decode_block(c, d, &f);
	b->len = 0;
	if (b->push)
		return; /* decoded to keep HPACK in step; pushes are not traced */
	if (c->role == KSPAN_ROLE_UNKNOWN && !learn_role(c, &f))
		return;
	if (is_request_dir(c, c->cur)) {
		/* A request whose headers did not decode gets no span rather
		 * than one without a name (counted above). */
		if (how != BLOCK_FAILED)
			on_request_block(c, b->stream_id, &f, how == BLOCK_FULL);
		else
			c->last_request_stream = b->stream_id > c->last_request_stream
						     ? b->stream_id
						     : c->last_request_stream;
		return;
	}
	st = response_stream(c, b->stream_id);
	if (!st) {
		STAT_INC(c->a->stats, h2_orphan_responses);
		return;
	}
	on_response_block(c, st, &f, how == BLOCK_FULL);
	if (b->end_stream)
		finish_stream(c, st, c->ev->hdr.ts_ns);
}

static bool block_append(struct h2_block *b, const uint8_t *p, size_t n)
{
	if (!n)
		return true;
	if (b->too_big || b->len + n > HEADER_BLOCK_MAX) {
		b->too_big = true;
		return true;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *nb;
		while (cap < b->len + n)
			cap *= 2;
		nb = realloc(b->buf, cap);
		if (!nb)
			return false;
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, p, n);
	b->len += n;
	return true;
}

/* The fragment of a HEADERS or PUSH_PROMISE frame (RFC 9113 6.2, 6.6):
 * without padding, priority or promised stream id. NULL when malformed. */
static const uint8_t *header_fragment(const struct http2_frame *f, size_t *len)
{
	const uint8_t *p = f->payload;
	size_t n = f->payload_len, pad = 0;

	if (f->flags & H2_FLAG_PADDED) {
		if (n < 1)
			return NULL;
		pad = p[0];
		p++;
		n--;
	}
	if (f->type == H2_HEADERS && (f->flags & H2_FLAG_PRIORITY)) {
		if (n < 5)
			return NULL;
		p += 5;
		n -= 5;
	}
	if (f->type == H2_PUSH_PROMISE) {
		if (n < 4)
			return NULL;
		p += 4;
		n -= 4;
	}
	if (pad > n)
		return NULL;
	*len = n - pad;
	return p;
}

/* --- frames -------------------------------------------------------------- */

#define SIZE_UNCHANGED UINT32_MAX

static void conn_kill(struct h2_conn *c, const char *why);

static void on_headers_frame(struct h2_conn *c, const struct http2_frame *f)
{
	struct h2_block *b = &c->dir[c->cur].block;
	const uint8_t *frag;
	size_t len = 0;

	if (f->type == H2_CONTINUATION) {
		if (!b->active || f->stream_id != b->stream_id) {
			conn_kill(c, "CONTINUATION without a header block");
			return;
		}
		frag = f->payload;
		len = f->payload_len;
	} else {
		if (b->active) {
			conn_kill(c, "a header block was interrupted");
			return;
		}
		frag = header_fragment(f, &len);
		if (!frag && f->complete) {
			conn_kill(c, "malformed HEADERS frame");
			return;
		}
		*b = (struct h2_block){
		    .buf = b->buf,
		    .cap = b->cap,
		    .stream_id = f->stream_id,
		    .active = true,
		    .end_stream = f->type == H2_HEADERS && (f->flags & H2_FLAG_END_STREAM),
		    .push = f->type == H2_PUSH_PROMISE,
		};
	}
	if (!f->complete)
		b->too_big = true; /* larger than the frame parser collects */
	else if (frag && !block_append(b, frag, len)) {
		conn_kill(c, "out of memory");
		return;
	}
	if (f->flags & H2_FLAG_END_HEADERS)
		block_done(c);
}

/*
 * SETTINGS_HEADER_TABLE_SIZE bounds the table of the encoder that sends
 * towards the frame's sender: the decoder of the other direction. It takes
 * effect when that encoder acknowledges it; an ACK answers the oldest
 * unacknowledged SETTINGS.
 */
static void on_settings(struct h2_conn *c, const struct http2_frame *f)
{
	struct h2_direction *peer = &c->dir[!c->cur], *self = &c->dir[c->cur];
	uint32_t size = SIZE_UNCHANGED;

	if (f->flags & H2_FLAG_ACK) {
		/* None pending: the SETTINGS went out before kspan followed
		 * the connection (a server's first frame). */
		if (!self->pending_count)
			return;
		if (self->pending[0] != SIZE_UNCHANGED)
			hpack_decoder_set_max_table_size(&self->hpack, self->pending[0]);
		memmove(self->pending, self->pending + 1,
			(--self->pending_count) * sizeof(self->pending[0]));
		return;
	}
	for (size_t i = 0; i + 6 <= f->payload_len; i += 6) {
		const uint8_t *p = f->payload + i;
		if (p[0] == 0 && p[1] == 1)
			size = (uint32_t)p[2] << 24 | (uint32_t)p[3] << 16 | (uint32_t)p[4] << 8 |
			       p[5];
	}
	if (peer->pending_count == sizeof(peer->pending) / sizeof(peer->pending[0])) {
		/* Far more unacknowledged SETTINGS than peers send: which
		 * size applies is no longer known. */
		peer->hpack.broken = true;
		return;
	}
	peer->pending[peer->pending_count++] = size;
}

static const char *h2_error_name(uint32_t code)
{
	static const char *const names[] = {
	    "NO_ERROR",
	    "PROTOCOL_ERROR",
	    "INTERNAL_ERROR",
	    "FLOW_CONTROL_ERROR",
	    "SETTINGS_TIMEOUT",
	    "STREAM_CLOSED",
	    "FRAME_SIZE_ERROR",
	    "REFUSED_STREAM",
	    "CANCEL",
	    "COMPRESSION_ERROR",
	    "CONNECT_ERROR",
	    "ENHANCE_YOUR_CALM",
	    "INADEQUATE_SECURITY",
	    "HTTP_1_1_REQUIRED",
	};
	return code < sizeof(names) / sizeof(names[0]) ? names[code] : "UNKNOWN_ERROR";
}

static void on_frame(void *ctx, const struct http2_frame *f)
{
	struct h2_conn *c = ctx;
	struct h2_stream *st;

	if (c->dead)
		return;
	if (c->dir[c->cur].block.active && f->type != H2_CONTINUATION) {
		/* RFC 9113 6.10: nothing may interleave a header block. */
		conn_kill(c, "a header block was interrupted");
		return;
	}
	switch (f->type) {
	case H2_HEADERS:
	case H2_CONTINUATION:
	case H2_PUSH_PROMISE:
		on_headers_frame(c, f);
		return;
	case H2_SETTINGS:
		on_settings(c, f);
		return;
	case H2_DATA:
		if (!(f->flags & H2_FLAG_END_STREAM) || c->role == KSPAN_ROLE_UNKNOWN ||
		    is_request_dir(c, c->cur))
			return;
		st = u64_map_get(&c->streams, f->stream_id);
		if (st)
			finish_stream(c, st, c->ev->hdr.ts_ns);
		return;
	case H2_RST_STREAM: {
		char msg[64];
		uint32_t code;
		/* A server may reset a stream before answering it. */
		st = is_request_dir(c, c->cur) ? u64_map_get(&c->streams, f->stream_id)
					       : response_stream(c, f->stream_id);
		if (!st || !f->complete)
			return;
		code = (uint32_t)f->payload[0] << 24 | (uint32_t)f->payload[1] << 16 |
		       (uint32_t)f->payload[2] << 8 | f->payload[3];
		snprintf(msg, sizeof(msg), "stream reset (RST_STREAM %s)", h2_error_name(code));
		STAT_INC(c->a->stats, h2_streams_reset);
		fail_stream(c, st, c->ev->hdr.ts_ns, "rst_stream", msg);
		return;
	}
	case H2_GOAWAY: {
		uint32_t last;
		/* Only a server's GOAWAY concerns the client's streams. */
		if (c->role == KSPAN_ROLE_UNKNOWN || is_request_dir(c, c->cur) || !f->complete)
			return;
		last = ((uint32_t)f->payload[0] << 24 | (uint32_t)f->payload[1] << 16 |
			(uint32_t)f->payload[2] << 8 | f->payload[3]) &
		       0x7fffffffu;
		fail_streams(c, c->ev->hdr.ts_ns, last, "goaway",
			     "stream refused by GOAWAY (not processed)");
		return;
	}
	}
}

static void on_framing_lost(void *ctx, const char *why)
{
	conn_kill(ctx, why);
}

static const struct http2_frame_callbacks frame_callbacks = {
    .on_frame = on_frame,
    .on_framing_lost = on_framing_lost,
};

/* --- connections --------------------------------------------------------- */

/* Framing is lost: open streams could only get wrong ends, so they are
 * dropped (counted) and the connection is no longer followed. */
static void conn_kill(struct h2_conn *c, const char *why)
{
	if (c->dead)
		return;
	c->dead = true;
	STAT_INC(c->a->stats, h2_framing_lost);
	STAT_ADD(c->a->stats, requests_lost_to_gaps, c->streams.count);
	u64_map_visit(&c->streams, drop_stream_entry, NULL);
	c->early_count = 0;
	log_debug("conn %016llx: HTTP/2 no longer followed: %s", (unsigned long long)c->conn_id,
		  why);
}

static struct h2_conn *conn_new(struct http2_assembler *a, const struct kspan_data_event *ev)
{
	struct h2_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->conn_id = ev->conn_id;
	c->tgid = ev->hdr.tgid;
	c->role = ev->role;
	c->tuple = ev->tuple;
	c->a = a;
	if (u64_map_init(&c->streams, 64) || hpack_decoder_init(&c->dir[0].hpack) ||
	    hpack_decoder_init(&c->dir[1].hpack) || u64_map_put(&a->conns, c->conn_id, c)) {
		hpack_decoder_free(&c->dir[0].hpack);
		hpack_decoder_free(&c->dir[1].hpack);
		u64_map_free(&c->streams);
		free(c);
		return NULL;
	}
	return c;
}

static void conn_free(struct h2_conn *c)
{
	u64_map_visit(&c->streams, drop_stream_entry, NULL);
	u64_map_free(&c->streams);
	for (int i = 0; i < 2; i++) {
		http2_frame_parser_free(&c->dir[i].frames);
		hpack_decoder_free(&c->dir[i].hpack);
		free(c->dir[i].block.buf);
	}
	free(c);
}

struct early_visit {
	struct h2_conn *c;
	uint64_t now_mono;
};

static int drop_early_entry(uint64_t key, void *value, void *arg)
{
	struct early_visit *v = arg;
	struct h2_stream *st = value;

	(void)key;
	if (!st->early || v->now_mono < st->early->since_mono + EARLY_RESPONSE_WAIT_NS)
		return 0;
	STAT_INC(v->c->a->stats, h2_early_responses_expired);
	v->c->early_count--;
	stream_free(st);
	return 1;
}

/* Responses that waited too long for their request (all, with now_mono =
 * UINT64_MAX) are dropped, counted: a span without its request would have
 * no name, no start and no context. */
static void drop_early_streams(struct h2_conn *c, uint64_t now_mono)
{
	struct early_visit v = {.c = c, .now_mono = now_mono};

	if (c->early_count)
		u64_map_visit(&c->streams, drop_early_entry, &v);
}

/* The connection ended: its open streams failed. */
static void conn_end(struct h2_conn *c, uint64_t end_mono)
{
	drop_early_streams(c, UINT64_MAX);
	if (!c->dead)
		fail_streams(c, end_mono, 0, "connection_closed",
			     "connection closed before the response ended");
}

/* The first event of a direction: from its start (seq 0, or the preface
 * after an h2c upgrade) its header blocks can be decoded in full. */
static void direction_begin(struct h2_direction *d, const struct kspan_data_event *ev)
{
	const uint8_t *payload = (const uint8_t *)(ev + 1);
	bool preface = http2_is_preface_start(payload, ev->captured_len);

	d->seen = true;
	d->full_decoding = !(ev->flags & KSPAN_DATA_F_ADOPTED) && (ev->seq == 0 || preface);
	http2_frame_parser_init(&d->frames, preface);
}

void http2_assembler_on_data(struct http2_assembler *a, const struct kspan_data_event *ev)
{
	struct h2_conn *c = u64_map_get(&a->conns, ev->conn_id);
	struct h2_direction *d;
	int dir;

	if (ev->protocol != KSPAN_PROTO_HTTP2)
		return;
	if (!c) {
		c = conn_new(a, ev);
		if (!c)
			return;
	}
	dir = ev->direction == KSPAN_DIR_EGRESS;
	d = &c->dir[dir];
	c->last_event_mono = ev->hdr.ts_ns;
	if (c->dead)
		return;
	if (!d->seen) {
		direction_begin(d, ev);
	} else if (ev->seq != d->next_seq) {
		STAT_INC(a->stats, conn_event_gaps);
		conn_kill(c, "events were lost");
		return;
	}
	d->next_seq = (uint16_t)(ev->seq + 1);
	c->ev = ev;
	c->cur = dir;
	http2_frame_parser_feed(&d->frames, (const uint8_t *)(ev + 1), ev->captured_len,
				ev->bytes_total, &frame_callbacks, c);
	c->ev = NULL;
}

void http2_assembler_on_stream_ctx(struct http2_assembler *a,
				   const struct kspan_h2_stream_event *ev)
{
	http2_stream_contexts_put(&a->kernel_ctx, ev);
}

void http2_assembler_on_close(struct http2_assembler *a, const struct kspan_conn_event *ev)
{
	struct h2_conn *c = u64_map_remove(&a->conns, ev->conn_id);

	http2_stream_contexts_forget_conn(&a->kernel_ctx, ev->conn_id);

	if (!c)
		return;
	if (!c->dead && ((c->dir[0].seen && ev->seq_ingress != c->dir[0].next_seq) ||
			 (c->dir[1].seen && ev->seq_egress != c->dir[1].next_seq))) {
		STAT_INC(a->stats, conn_event_gaps);
		conn_kill(c, "events were lost before the close");
	}
	conn_end(c, ev->hdr.ts_ns);
	conn_free(c);
}

struct exit_visit {
	uint32_t tgid;
	uint64_t ts;
};

static int end_conns_of_process(uint64_t key, void *value, void *arg)
{
	struct exit_visit *v = arg;
	struct h2_conn *c = value;

	(void)key;
	if (c->tgid != v->tgid)
		return 0;
	conn_end(c, v->ts);
	conn_free(c);
	return 1;
}

void http2_assembler_on_process_exit(struct http2_assembler *a, uint32_t tgid, uint64_t ts_ns)
{
	struct exit_visit v = {.tgid = tgid, .ts = ts_ns};

	http2_stream_contexts_forget_process(&a->kernel_ctx, tgid);

	u64_map_visit(&a->conns, end_conns_of_process, &v);
}

static int forget_idle_conn(uint64_t key, void *value, void *arg)
{
	uint64_t now = *(uint64_t *)arg;
	struct h2_conn *c = value;

	(void)key;
	if (!c->dead)
		drop_early_streams(c, now);
	if (c->streams.count || now < c->last_event_mono + CONN_FORGET_NS)
		return 0;
	conn_free(c);
	return 1;
}

void http2_assembler_tick(struct http2_assembler *a, uint64_t now_mono_ns)
{
	u64_map_visit(&a->conns, forget_idle_conn, &now_mono_ns);
	http2_stream_join_tick(&a->join, now_mono_ns);
}

static int drop_conn_at_exit(uint64_t key, void *value, void *arg)
{
	struct http2_assembler *a = arg;
	struct h2_conn *c = value;

	(void)key;
	if (!c->dead)
		drop_early_streams(c, UINT64_MAX);
	STAT_ADD(a->stats, http_unfinished_at_exit, c->streams.count);
	conn_free(c);
	return 1;
}

void http2_assembler_finish_all(struct http2_assembler *a)
{
	u64_map_visit(&a->conns, drop_conn_at_exit, a);
	/* Finished SERVER spans still waiting for their CLIENT go out as they are. */
	http2_stream_join_flush(&a->join);
}

int http2_assembler_init(struct http2_assembler *a, bool capture_query, uint32_t propagation,
			 struct process_table *procs, struct span_sink *out,
			 struct agent_stats *stats, const struct mono_to_unix *clock)
{
	memset(a, 0, sizeof(*a));
	a->capture_query = capture_query;
	a->propagation = propagation;
	a->procs = procs;
	a->out = out;
	a->stats = stats;
	a->clock = clock;
	if (hpack_decoder_init(&a->scratch) ||
	    http2_stream_join_init(&a->join, HTTP2_JOIN_CAPACITY, out, stats))
		return -ENOMEM;
	if (http2_stream_contexts_init(&a->kernel_ctx))
		return -ENOMEM;
	return u64_map_init(&a->conns, 256);
}

static int free_conn_entry(uint64_t key, void *value, void *arg)
{
	(void)key;
	(void)arg;
	conn_free(value);
	return 1;
}

void http2_assembler_free(struct http2_assembler *a)
{
	u64_map_visit(&a->conns, free_conn_entry, NULL);
	u64_map_free(&a->conns);
	hpack_decoder_free(&a->scratch);
	http2_stream_join_free(&a->join);
	http2_stream_contexts_free(&a->kernel_ctx);
}
