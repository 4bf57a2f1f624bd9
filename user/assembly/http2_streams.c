// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * http2_streams.c - HTTP/2 streams to spans: a request's header block opens
 * a stream's span (attributes from http_span.h, ids from
 * trace_context_choice.h, gRPC's from grpc_semconv.h), its response's blocks
 * and END_STREAM finish it, RST_STREAM, GOAWAY or the connection's end fail
 * it. On a CLIENT, a response read before its request was processed waits
 * for it (HTTP_EARLY_RESPONSE_WAIT_NS).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assembly/grpc_semconv.h"
#include "assembly/http2_connection.h"
#include "assembly/http_naming.h"
#include "assembly/http_span.h"
#include "assembly/trace_context_choice.h"

/* Attributes a stream's span carries besides the HTTP ones: rpc.system,
 * rpc.service, rpc.method, rpc.grpc.status_code and
 * kspan.http2.headers_partial. */
#define H2_SPAN_EXTRA_ATTRS 5

/* --- the streams' bound ---------------------------------------------------- */

static void activity_append(struct h2_stream_activity *l, struct h2_stream *st)
{
	st->older = l->newest;
	st->newer = NULL;
	if (l->newest)
		l->newest->newer = st;
	else
		l->oldest = st;
	l->newest = st;
	l->count++;
}

static void activity_unlink(struct h2_stream_activity *l, struct h2_stream *st)
{
	if (st->older)
		st->older->newer = st->newer;
	else
		l->oldest = st->newer;
	if (st->newer)
		st->newer->older = st->older;
	else
		l->newest = st->older;
	st->older = st->newer = NULL;
	l->count--;
}

/* Every stream leaves through here: out of the activity list, freed. Its
 * connection's map is the caller's. */
static void stream_free(struct h2_stream *st)
{
	activity_unlink(&st->conn->a->streams, st);
	if (st->span)
		span_unref(st->span);
	free(st->early);
	free(st);
}

void h2_stream_touch(struct h2_conn *c, struct h2_stream *st)
{
	struct h2_stream_activity *l = &c->a->streams;

	if (l->newest == st)
		return;
	activity_unlink(l, st);
	activity_append(l, st);
}

/*
 * The least recently active stream of any connection makes room: silent the
 * longest, it is the likeliest to be one whose end was lost with its
 * connection's events, while the active ones are being answered now. Its
 * span is dropped, counted.
 */
static void stream_evict_oldest(struct http2_assembler *a)
{
	struct h2_stream *st = a->streams.oldest;
	struct h2_conn *owner = st->conn;

	STAT_INC(a->stats, h2_streams_evicted);
	u64_map_remove(&owner->streams, st->id);
	if (st->early)
		owner->early_count--;
	stream_free(st);
}

/* A new stream `id` of c, in its map and the activity list; NULL (counted)
 * beyond the connection's MAX_OPEN_STREAMS, or out of memory. */
static struct h2_stream *stream_new(struct h2_conn *c, uint32_t id)
{
	struct http2_assembler *a = c->a;
	struct h2_stream *st;

	if (c->streams.count >= MAX_OPEN_STREAMS) {
		STAT_INC(a->stats, h2_streams_dropped);
		return NULL;
	}
	/* The new stream cannot be the one evicted: it is not in yet. */
	while (a->streams.count >= a->streams.max && a->streams.oldest)
		stream_evict_oldest(a);
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	if (u64_map_put(&c->streams, id, st)) {
		free(st);
		return NULL;
	}
	st->id = id;
	st->conn = c;
	st->grpc_status = -1;
	activity_append(&a->streams, st);
	return st;
}

/* The stream's name as both ends of a same-node connection give it. */
static void stream_name(const struct h2_conn *c, uint32_t id, struct h2_stream_name *n)
{
	h2_stream_name_init(n, &c->base.tuple, !h2_is_server(c), id);
}

/* The CLIENT span's context is decided: it parents the SERVER end if that
 * is on this node. Call again whenever the context changes. */
static void publish_client_context(struct h2_conn *c, const struct h2_stream *st)
{
	struct h2_stream_name n;

	if (h2_is_server(c) || !(c->a->propagation & KSPAN_PROPAGATE_TUPLE))
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

void h2_finish_stream(struct h2_conn *c, struct h2_stream *st, uint64_t end_mono)
{
	struct span *s = st->span;
	uint64_t end;
	bool server = h2_is_server(c);

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
			http_span_fail(s, name ? name : "_OTHER", NULL);
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

void h2_fail_stream(struct h2_conn *c, struct h2_stream *st, uint64_t end_mono,
		    const char *error_type, const char *message)
{
	if (!st->span) {
		early_end(c, st, end_mono, error_type, message);
		return;
	}
	if (!st->response_started)
		STAT_INC(c->a->stats, http_unanswered_requests);
	if (st->grpc_status < 0 || !st->grpc)
		http_span_fail(st->span, error_type, message);
	h2_finish_stream(c, st, end_mono);
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

/* Streams are collected first: finishing one removes it from the map. */
void h2_fail_streams(struct h2_conn *c, uint64_t end, uint32_t above, const char *error_type,
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
		h2_fail_stream(c, l.items[i], end, error_type, message);
	free(l.items);
}

/* --- requests ------------------------------------------------------------ */

static struct http_text text_of(const char *v)
{
	return (struct http_text){.ptr = v, .len = strlen(v)};
}

/* gRPC conventions: rpc.system, and for a "/package.Service/Method" path
 * rpc.service, rpc.method and the name "package.Service/Method". */
static void add_grpc_attributes(struct span *s, const char *target)
{
	const char *path, *q, *svc, *mth;
	size_t path_len, q_len, svc_len, mth_len;
	char name[600];

	attribute_list_add_str(&s->attrs, "rpc.system", "grpc");
	http_split_target(target, strlen(target), &path, &path_len, &q, &q_len);
	if (grpc_split_path(path, path_len, &svc, &svc_len, &mth, &mth_len))
		return;
	snprintf(name, sizeof(name), "%.*s", (int)path_len - 1, path + 1);
	span_set_name(s, name);
	attribute_list_add_strn(&s->attrs, "rpc.service", svc, svc_len);
	attribute_list_add_strn(&s->attrs, "rpc.method", mth, mth_len);
}

static void add_request_attributes(struct h2_conn *c, struct h2_stream *st,
				   const struct h2_fields *f, bool partial)
{
	struct http_request_view req = {
	    .method = text_of(f->method),
	    /* No :path (CONNECT, or a block decoded without the dynamic
	     * table): the request names none. */
	    .target = f->path[0] ? text_of(f->path) : (struct http_text){0},
	    .scheme = text_of(f->scheme),
	    .authority = text_of(f->authority),
	    .user_agent = text_of(f->user_agent),
	    .protocol_version = "2",
	    /* A SERVER stream still to be joined takes its CLIENT's flag at
	     * its end: only a final decision may leave attributes out. */
	    .metrics_only = !(st->span->trace_flags & 1) && !st->join_parent,
	};

	/* Over TLS the connection says https, whatever :scheme claims (a
	 * server span may decode a block without it). */
	if (c->base.tls)
		req.scheme = (struct http_text){.ptr = "https", .len = 5};

	http_span_add_request(st->span, &req, &c->base.tuple, &c->base.strings,
			      c->a->capture_query);
	st->grpc = grpc_is_content_type(f->content_type, strlen(f->content_type));
	if (st->grpc)
		add_grpc_attributes(st->span, f->path);
	if (partial)
		attribute_list_add_bool(&st->span->attrs, "kspan.http2.headers_partial", true);
}

/* A CLIENT stream over TLS: its HEADERS came in a write whose thread served a
 * request (the kernel's hint, kspan_abi.h): a context that names that request
 * as parent and a new span id, as the kernel decides one for plaintext. */
static bool tls_write_parent(const struct h2_conn *c, struct kspan_trace_ctx *out)
{
	const struct kspan_data_event *ev = c->ev;

	if (!ev || !(ev->flags & KSPAN_DATA_F_TLS) || ev->direction != KSPAN_DIR_EGRESS ||
	    (ev->ctx.flags & (KSPAN_CTX_F_VALID | KSPAN_CTX_F_HAS_PARENT)) !=
		KSPAN_CTX_F_HAS_PARENT)
		return false;
	*out = ev->ctx;
	span_random_id(out->span_id, 8);
	out->flags = KSPAN_CTX_F_VALID | KSPAN_CTX_F_HAS_PARENT;
	return true;
}

/* The request's traceparent, or for a CLIENT stream the context the kernel
 * decided at its write's entry (the one it injected into the HEADERS frame,
 * whose parent is the request the writing thread served). */
static enum trace_context_source decide_context(struct h2_conn *c, uint32_t id, struct span *s,
						const struct h2_fields *f)
{
	struct kspan_h2_stream_event k;
	struct trace_context_inputs in = {
	    .traceparent = f->traceparent,
	    .traceparent_len = strlen(f->traceparent),
	    .traceparent_fields = f->traceparent_fields,
	    .tracestate = &f->tracestate,
	    .sampler = c->a->sampler,
	};

	if (!h2_is_server(c) &&
	    http2_stream_contexts_take(&c->a->kernel_ctx, c->base.conn_id, id, &k))
		in.kernel = &k.ctx;
	else if (!h2_is_server(c) && tls_write_parent(c, &k.ctx))
		in.kernel = &k.ctx;
	return trace_context_choose(s, &in, c->a->stats);
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
		h2_fail_stream(c, st, e->end_mono, e->error_type, e->message);
	else if (e->ended)
		h2_finish_stream(c, st, e->end_mono);
	free(e);
}

void h2_on_request_block(struct h2_conn *c, uint32_t id, const struct h2_fields *f, bool full)
{
	struct http2_assembler *a = c->a;
	struct h2_stream *st = u64_map_get(&c->streams, id);
	struct span *s;
	enum trace_context_source source;
	uint64_t start;
	bool server = h2_is_server(c);

	if ((st && st->span) || id <= c->last_request_stream)
		return; /* request trailers, or a stream already finished */
	c->last_request_stream = id;
	/* SERVER: when the request's HEADERS reached the process (read
	 * returned); CLIENT: when the process began writing them. */
	start = server ? c->ev->hdr.ts_ns : c->ev->ts_enter_ns;
	s = http_span_new(server ? SPAN_KIND_SERVER : SPAN_KIND_CLIENT, c->ev->hdr.tid,
			  process_table_resource_at(a->procs, c->base.tgid, c->ev->hdr.ts_ns),
			  mono_to_unix_ns(a->clock, start), H2_SPAN_EXTRA_ATTRS);
	if (!s)
		return; /* an early response stays until it expires */
	if (st) {
		h2_stream_touch(c, st);
	} else {
		st = stream_new(c, id);
		if (!st) {
			span_unref(s);
			return;
		}
	}
	st->span = s;
	source = decide_context(c, id, s, f);
	/* A SERVER stream without a traceparent may be joined to its CLIENT
	 * end on this node (http2_stream_join.h). */
	st->join_parent =
	    server && source == TRACE_CONTEXT_NEW && (a->propagation & KSPAN_PROPAGATE_TUPLE);
	add_request_attributes(c, st, f, !full);
	publish_client_context(c, st);
	if (st->early)
		replay_early_response(c, st);
}

/* --- responses ----------------------------------------------------------- */

/* The final response head: status code, error per the conventions. */
static void apply_response_head(struct h2_conn *c, struct h2_stream *st, int status,
				bool grpc_content)
{
	(void)c;
	struct span *s = st->span;

	if (grpc_content && !st->grpc) {
		st->grpc = true;
		attribute_list_add_str(&s->attrs, "rpc.system", "grpc");
	}
	/* A gRPC call's outcome is its grpc-status instead. */
	http_span_add_response_status(s, status, !st->grpc);
}

void h2_on_response_block(struct h2_conn *c, struct h2_stream *st, const struct h2_fields *f,
			  bool full)
{
	struct h2_early_response *e = st->early;
	bool grpc_content;

	h2_stream_touch(c, st);
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

/*
 * The stream a response frame belongs to. On a CLIENT connection, a
 * response for a client stream (odd id, RFC 9113 5.1.1) above every request
 * seen so far was read before its request was processed: it gets a stream
 * without a span until the request comes (bounded as every stream is,
 * dropped after HTTP_EARLY_RESPONSE_WAIT_NS).
 */
struct h2_stream *h2_response_stream(struct h2_conn *c, uint32_t id)
{
	struct h2_stream *st = u64_map_get(&c->streams, id);

	if (st || c->base.role != KSPAN_ROLE_CLIENT || !(id & 1) || id <= c->last_request_stream)
		return st;
	st = stream_new(c, id);
	if (!st)
		return NULL;
	st->early = calloc(1, sizeof(*st->early));
	if (!st->early) {
		u64_map_remove(&c->streams, id);
		stream_free(st);
		return NULL;
	}
	st->early->since_mono = c->ev->hdr.ts_ns;
	c->early_count++;
	STAT_INC(c->a->stats, h2_early_responses);
	return st;
}

/* --- dropping streams ---------------------------------------------------- */

struct drop_visit {
	struct h2_conn *c;
	bool all;	   /* every stream, not only expired early responses */
	uint64_t now_mono; /* when !all */
};

static int drop_if(uint64_t key, void *value, void *arg)
{
	struct drop_visit *v = arg;
	struct h2_stream *st = value;
	bool expired = !v->all && st->early &&
		       v->now_mono >= st->early->since_mono + HTTP_EARLY_RESPONSE_WAIT_NS;

	(void)key;
	if (!v->all && !expired)
		return 0;
	if (expired)
		STAT_INC(v->c->a->stats, h2_early_responses_expired);
	if (st->early)
		v->c->early_count--;
	stream_free(st);
	return 1;
}

void h2_drop_streams(struct h2_conn *c)
{
	struct drop_visit v = {.c = c, .all = true};

	u64_map_visit(&c->streams, drop_if, &v);
}

/* A span without its request would have no name, no start and no context. */
void h2_drop_early_streams(struct h2_conn *c, uint64_t now_mono)
{
	struct drop_visit v = {.c = c, .now_mono = now_mono};

	if (c->early_count)
		u64_map_visit(&c->streams, drop_if, &v);
}
