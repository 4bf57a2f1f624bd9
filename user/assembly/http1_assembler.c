// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* http1_assembler.c - HTTP/1.x connections to spans. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/http1_stream.h"
#include "assembly/http1_assembler.h"
#include "assembly/http_naming.h"
#include "lib/log.h"
#include "lib/net_address.h"
#include "w3c_traceparent.h"

/* Pipelined requests kept per connection while they await responses. */
#define PIPELINE_DEPTH 32
/* A connection silent this long, with nothing pending, is forgotten (its
 * close was lost, e.g. to a ring-buffer overflow). */
#define CONN_FORGET_NS (15ull * 60 * 1000000000ull)
/* Attributes an HTTP span carries at most (add_*_attributes below). */
#define SPAN_HTTP_ATTRS 20
/* How long a client's early response waits for its request's event. */
#define EARLY_RESPONSE_WAIT_NS (1000ull * 1000000)

struct pending_request {
	struct span *span;
	bool is_head_method;   /* a HEAD request: its response has no body */
	bool response_started; /* the final (non-1xx) response head arrived */
};

struct http1_conn {
	uint64_t conn_id;
	uint32_t tgid;
	uint8_t role; /* enum kspan_role */
	struct kspan_conn_tuple tuple;
	struct http1_stream *requests;
	struct http1_stream *responses;
	struct pending_request fifo[PIPELINE_DEPTH];
	unsigned fifo_head, fifo_count;
	bool orphan_response; /* the response being parsed answers nothing we saw */
	/* A client's response whose request has not arrived yet: with a reader
	 * and a writer thread (Go), the read can return - and its event reach
	 * the ring - before the write() that sent the request has returned. */
	struct early_response {
		bool held;
		bool complete;
		int status;
		uint64_t read_mono; /* exit of its first read */
		uint64_t end_mono;  /* exit of its last read, once complete */
	} early;
	uint16_t next_seq[2]; /* seq expected next, per direction (kspan_abi.h) */
	/* Where the request being parsed began: its head may end pieces later,
	 * but its start time and kernel-decided context belong to the piece
	 * that held its first byte. */
	struct request_origin {
		uint64_t read_exit_mono;   /* SERVER start */
		uint64_t write_enter_mono; /* CLIENT start */
		struct kspan_trace_ctx ctx;
		bool has_ctx;
		bool pending; /* no head has used it yet */
	} origin;
	uint64_t last_event_mono;
	uint64_t last_response_mono; /* exit time of the latest response piece */
	uint64_t prev_response_mono; /* ... and of the one before it */
	/* Valid while a piece is being fed. */
	struct http1_assembler *assembler;
	const struct kspan_data_event *ev;
};

static struct pending_request *fifo_front(struct http1_conn *c)
{
	return c->fifo_count ? &c->fifo[c->fifo_head] : NULL;
}

static void fifo_pop(struct http1_conn *c)
{
	c->fifo[c->fifo_head] = (struct pending_request){0};
	c->fifo_head = (c->fifo_head + 1) % PIPELINE_DEPTH;
	c->fifo_count--;
}

/* --- attributes ---------------------------------------------------------- */

static void add_request_attributes(struct http1_conn *c, struct span *s,
				   const struct http1_head *head)
{
	const struct http1_assembler_config *cfg = &c->assembler->cfg;
	struct attribute_list *a = &s->attrs;
	char peer[INET6_ADDRSTRLEN], local[INET6_ADDRSTRLEN], host[256], route[512], query[1024];
	const char *path, *q;
	size_t path_len, q_len;
	unsigned host_port;
	bool server = c->role == KSPAN_ROLE_SERVER;
	unsigned port;

	net_format_addr(c->tuple.family, c->tuple.remote_addr, peer, sizeof(peer));
	net_format_addr(c->tuple.family, c->tuple.local_addr, local, sizeof(local));
	http_split_target(head->target.ptr, head->target.len, &path, &path_len, &q, &q_len);
	http_path_template(path, path_len, route, sizeof(route));
	if (q) {
		if (cfg->capture_query)
			snprintf(query, sizeof(query), "%.*s", (int)q_len, q);
		else
			http_query_redact(q, q_len, query, sizeof(query));
	}

	/* server.address: the Host the request names, else the address the
	 * bytes went to (HTTP semantic conventions, server.address). */
	net_split_host_port(head->host.ptr, head->host.len, host, sizeof(host), &host_port);
	if (!host[0])
		snprintf(host, sizeof(host), "%s", server ? local : peer);
	port = host_port ? host_port : (server ? c->tuple.local_port : c->tuple.remote_port);

	{
		char name[600];
		snprintf(name, sizeof(name), "%.*s %s", (int)head->method.len, head->method.ptr,
			 route);
		span_set_name(s, name);
	}
	attribute_list_add_strn(a, "http.request.method", head->method.ptr, head->method.len);
	attribute_list_add_str(a, "url.scheme", "http");
	attribute_list_add_strn(a, "url.path", path_len ? path : "/", path_len ? path_len : 1);
	if (q)
		attribute_list_add_str(a, "url.query", query);
	if (!server) {
		char full[2048];
		bool v6 = strchr(host, ':') != NULL;
		snprintf(full, sizeof(full), "http://%s%s%s:%u%.*s%s%s", v6 ? "[" : "", host,
			 v6 ? "]" : "", port, (int)(path_len ? path_len : 1), path_len ? path : "/",
			 q ? "?" : "", q ? query : "");
		attribute_list_add_str(a, "url.full", full);
	}
	attribute_list_add_str(a, "server.address", host);
	attribute_list_add_int(a, "server.port", port);
	if (server)
		attribute_list_add_str(a, "client.address", peer);
	attribute_list_add_str(a, "network.peer.address", peer);
	attribute_list_add_int(a, "network.peer.port", c->tuple.remote_port);
	attribute_list_add_str(a, "network.protocol.version", head->version_minor ? "1.1" : "1.0");
	attribute_list_add_str(a, "network.transport", "tcp");
	attribute_list_add_str(a, "network.type",
			       net_addr_is_v4(c->tuple.family, c->tuple.remote_addr) ? "ipv4"
										     : "ipv6");
	if (head->user_agent.len)
		attribute_list_add_strn(a, "user_agent.original", head->user_agent.ptr,
					head->user_agent.len);
}

static void add_response_attributes(struct http1_conn *c, struct span *s, int status)
{
	char code[16];
	/* HTTP semantic conventions, "Status": 5xx is an error for servers;
	 * for clients every 4xx and 5xx is. */
	bool error = status >= 500 || (status >= 400 && c->role == KSPAN_ROLE_CLIENT);

	attribute_list_add_int(&s->attrs, "http.response.status_code", status);
	if (error) {
		snprintf(code, sizeof(code), "%d", status);
		attribute_list_add_str(&s->attrs, "error.type", code);
		s->status_code = SPAN_STATUS_ERROR;
	}
}

/* --- trace context ----------------------------------------------------- */

/*
 * The kernel decided the context of the first request starting in a piece;
 * it is re-validated here. Later pipelined requests in the same piece, and
 * requests whose traceparent the kernel could not see (header split across
 * reads, or past its scan window), are decided here with the same parser.
 */
static void decide_context(struct http1_conn *c, const struct kspan_trace_ctx *k,
			   const struct http1_head *head, struct span *s)
{
	struct w3c_trace_context tc;
	bool from_kernel = k && (k->flags & KSPAN_CTX_F_VALID);
	bool has_header =
	    head->traceparent.len && w3c_traceparent_parse((const __u8 *)head->traceparent.ptr, 0,
							   (__u32)head->traceparent.len, &tc) == 0;

	if (from_kernel && !span_kernel_ctx_valid(k)) {
		STAT_INC(c->assembler->stats, invalid_kernel_ids);
		from_kernel = false;
	}
	if (from_kernel) {
		memcpy(s->span_id, k->span_id, 8);
		memcpy(s->trace_id, k->trace_id, 16);
		s->trace_flags = k->trace_flags;
		if (k->flags & KSPAN_CTX_F_HAS_PARENT)
			memcpy(s->parent_span_id, k->parent_span_id, 8);
	} else {
		span_random_id(s->span_id, 8);
	}
	if (!span_has_parent(s) && has_header) {
		memcpy(s->trace_id, tc.trace_id, 16);
		memcpy(s->parent_span_id, tc.parent_id, 8);
		s->trace_flags = tc.trace_flags & 1;
	} else if (!from_kernel) {
		span_random_id(s->trace_id, 16);
		s->trace_flags = 1;
	}
	/* tracestate is only meaningful next to a valid traceparent (W3C 3.3). */
	if (span_has_parent(s) && head->tracestate.len)
		span_set_trace_state(s, head->tracestate.ptr, head->tracestate.len);
}

/* --- parser callbacks ---------------------------------------------------- */

static void finish_span(struct http1_conn *c, uint64_t end_mono)
{
	struct pending_request *p = fifo_front(c);
	struct span *s = p->span;
	uint64_t end = mono_to_unix_ns(c->assembler->clock, end_mono);

	s->end_unix_ns = end > s->start_unix_ns ? end : s->start_unix_ns;
	fifo_pop(c);
	span_sink_submit(c->assembler->out, s);
}

/* The held response answers nothing after all. */
static void early_response_drop(struct http1_conn *c)
{
	if (!c->early.held)
		return;
	c->early.held = false;
	STAT_INC(c->assembler->stats, http_orphan_responses);
}

/* The request just queued may be the one a held response answers: it must
 * be the only one waiting, and its write must have begun before the
 * response was read. */
static void early_response_pair(struct http1_conn *c, uint64_t write_enter)
{
	struct pending_request *p = fifo_front(c);

	if (!c->early.held)
		return;
	if (c->fifo_count != 1 || write_enter > c->early.read_mono) {
		early_response_drop(c);
		return;
	}
	c->early.held = false;
	p->response_started = true;
	add_response_attributes(c, p->span, c->early.status);
	if (c->early.complete)
		finish_span(c, c->early.end_mono);
	else
		c->orphan_response = false; /* its completion is this span's */
}

static bool on_request_head(void *ctx, unsigned msg_index, const struct http1_head *head)
{
	struct http1_conn *c = ctx;
	struct http1_assembler *a = c->assembler;
	const struct kspan_data_event *ev = c->ev;
	const struct kspan_trace_ctx *kernel_ctx = NULL;
	uint64_t read_exit = ev->hdr.ts_ns, write_enter = ev->ts_enter_ns;
	struct pending_request *p;
	struct span *s;
	uint64_t start;

	(void)msg_index;
	/* The first head since a message began at a piece start; later ones
	 * (pipelined in the same piece) start here and get userspace ids. */
	if (c->origin.pending) {
		c->origin.pending = false;
		read_exit = c->origin.read_exit_mono;
		write_enter = c->origin.write_enter_mono;
		kernel_ctx = c->origin.has_ctx ? &c->origin.ctx : NULL;
	}

	/* A response we could not frame is over once the client sends its next
	 * request (pipelining clients wait for framed responses). */
	if (fifo_front(c) && fifo_front(c)->response_started &&
	    http1_stream_framing_lost(c->responses))
		finish_span(c, c->last_response_mono);
	if (c->fifo_count == PIPELINE_DEPTH) {
		STAT_INC(a->stats, http_pipeline_overflow);
		return false;
	}
	s = span_new();
	if (!s)
		return false;
	attribute_list_reserve(&s->attrs, SPAN_HTTP_ATTRS);
	s->kind = c->role == KSPAN_ROLE_SERVER ? SPAN_KIND_SERVER : SPAN_KIND_CLIENT;
	s->tid = ev->hdr.tid;
	s->resource = resource_ref(process_table_resource(a->procs, c->tgid));
	/* SERVER: when the request's first byte reached the process (read
	 * returned); CLIENT: when the process began writing it. */
	start = c->role == KSPAN_ROLE_SERVER ? read_exit : write_enter;
	s->start_unix_ns = mono_to_unix_ns(a->clock, start);
	decide_context(c, kernel_ctx, head, s);
	add_request_attributes(c, s, head);

	p = &c->fifo[(c->fifo_head + c->fifo_count) % PIPELINE_DEPTH];
	*p = (struct pending_request){
	    .span = s,
	    .is_head_method = head->method.len == 4 && memcmp(head->method.ptr, "HEAD", 4) == 0,
	};
	c->fifo_count++;
	if (c->role == KSPAN_ROLE_CLIENT)
		early_response_pair(c, write_enter);
	return false;
}

static void on_request_complete(void *ctx, unsigned msg_index,
				const struct http1_complete_info *info)
{
	(void)ctx;
	(void)msg_index;
	(void)info;
}

static bool on_response_head(void *ctx, unsigned msg_index, const struct http1_head *head)
{
	struct http1_conn *c = ctx;
	struct pending_request *p = fifo_front(c);

	(void)msg_index;
	if (!p) {
		c->orphan_response = true;
		early_response_drop(c); /* a second one: the first answered nothing */
		if (c->role == KSPAN_ROLE_CLIENT && head->status_code >= 200 && c->ev) {
			c->early = (struct early_response){
			    .held = true,
			    .status = head->status_code,
			    .read_mono = c->ev->hdr.ts_ns,
			};
			return false;
		}
		STAT_INC(c->assembler->stats, http_orphan_responses);
		return false;
	}
	/* 1xx are interim (RFC 9110 15.2); 101 ends HTTP/1 on this stream. */
	if (head->status_code < 200 && head->status_code != 101)
		return false;
	p->response_started = true;
	add_response_attributes(c, p->span, head->status_code);
	return p->is_head_method;
}

static void on_response_complete(void *ctx, unsigned msg_index,
				 const struct http1_complete_info *info)
{
	struct http1_conn *c = ctx;
	struct pending_request *p = fifo_front(c);

	(void)msg_index;
	if (c->orphan_response) {
		c->orphan_response = false;
		if (c->early.held && !c->early.complete) {
			c->early.complete = true;
			c->early.end_mono = c->ev && info->framing == HTTP1_FRAMING_EXACT
						? c->ev->hdr.ts_ns
						: c->last_response_mono;
		}
		return;
	}
	if (!p || !p->response_started)
		return; /* an interim 1xx response ended */
	/* Framed exactly: it ended in this piece. Otherwise it was ended by
	 * the start of the next message, so its last byte was in the piece
	 * before this one. */
	if (!c->ev)
		finish_span(c, c->last_response_mono); /* ended by the close */
	else if (info->framing == HTTP1_FRAMING_EXACT)
		finish_span(c, c->ev->hdr.ts_ns);
	else
		finish_span(c, c->prev_response_mono);
}

static void on_parse_error(void *ctx, const char *why)
{
	struct http1_conn *c = ctx;

	STAT_INC(c->assembler->stats, http_parse_errors);
	log_debug("conn %016llx: not HTTP/1.x here: %s", (unsigned long long)c->conn_id, why);
}

static const struct http1_callbacks request_callbacks = {
    .on_head = on_request_head,
    .on_complete = on_request_complete,
    .on_error = on_parse_error,
};

static const struct http1_callbacks response_callbacks = {
    .on_head = on_response_head,
    .on_complete = on_response_complete,
    .on_error = on_parse_error,
};

/* --- connections --------------------------------------------------------- */

static struct http1_conn *conn_new(struct http1_assembler *a, const struct kspan_data_event *ev)
{
	struct http1_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->conn_id = ev->conn_id;
	c->tgid = ev->hdr.tgid;
	c->role = ev->role;
	c->tuple = ev->tuple;
	c->assembler = a;
	c->requests = http1_stream_new(HTTP1_STREAM_REQUESTS);
	c->responses = http1_stream_new(HTTP1_STREAM_RESPONSES);
	if (!c->requests || !c->responses || u64_map_put(&a->conns, c->conn_id, c)) {
		http1_stream_free(c->requests);
		http1_stream_free(c->responses);
		free(c);
		return NULL;
	}
	return c;
}

/* The connection ended at `end_mono`: finish what can be finished. */
static void conn_end(struct http1_assembler *a, struct http1_conn *c, uint64_t end_mono)
{
	c->ev = NULL;
	if (c->responses)
		http1_stream_close(c->responses, &response_callbacks, c);
	early_response_drop(c);
	while (c->fifo_count) {
		struct pending_request *p = fifo_front(c);
		if (p->response_started) {
			finish_span(c, c->last_response_mono);
			continue;
		}
		/* No response ever came: the request failed; say so. */
		STAT_INC(a->stats, http_unanswered_requests);
		p->span->status_code = SPAN_STATUS_ERROR;
		span_set_status_message(p->span, "connection closed before a response");
		attribute_list_add_str(&p->span->attrs, "error.type", "connection_closed");
		finish_span(c, end_mono);
	}
}

static void conn_free(struct http1_conn *c)
{
	while (c->fifo_count) {
		span_unref(fifo_front(c)->span);
		fifo_pop(c);
	}
	http1_stream_free(c->requests);
	http1_stream_free(c->responses);
	free(c);
}

int http1_assembler_init(struct http1_assembler *a, const struct http1_assembler_config *cfg,
			 struct process_table *procs, struct span_sink *out,
			 struct agent_stats *stats, const struct mono_to_unix *clock)
{
	memset(a, 0, sizeof(*a));
	a->cfg = *cfg;
	a->procs = procs;
	a->out = out;
	a->stats = stats;
	a->clock = clock;
	return u64_map_init(&a->conns, 1024);
}

static int free_conn_entry(uint64_t key, void *value, void *arg)
{
	(void)key;
	(void)arg;
	conn_free(value);
	return 1;
}

void http1_assembler_free(struct http1_assembler *a)
{
	u64_map_visit(&a->conns, free_conn_entry, NULL);
	u64_map_free(&a->conns);
}

/*
 * Events of this connection were lost (the ring buffer was full): pairing
 * later responses with the requests still queued could give a span the
 * wrong response, so they are dropped (counted) and parsing starts afresh
 * at the next message boundary. No link is better than a wrong one.
 */
static void conn_resync(struct http1_assembler *a, struct http1_conn *c)
{
	STAT_INC(a->stats, conn_event_gaps);
	STAT_ADD(a->stats, requests_lost_to_gaps, c->fifo_count);
	while (c->fifo_count) {
		span_unref(fifo_front(c)->span);
		fifo_pop(c);
	}
	c->orphan_response = false;
	early_response_drop(c);
	c->origin.pending = false;
	http1_stream_free(c->requests);
	http1_stream_free(c->responses);
	c->requests = http1_stream_new(HTTP1_STREAM_REQUESTS);
	c->responses = http1_stream_new(HTTP1_STREAM_RESPONSES);
}

void http1_assembler_on_data(struct http1_assembler *a, const struct kspan_data_event *ev)
{
	struct http1_conn *c = u64_map_get(&a->conns, ev->conn_id);
	const uint8_t *payload = (const uint8_t *)(ev + 1);
	bool requests;
	int dir;

	if (ev->protocol != KSPAN_PROTO_HTTP1 || ev->role == KSPAN_ROLE_UNKNOWN)
		return;
	dir = ev->direction == KSPAN_DIR_EGRESS;
	if (!c) {
		c = conn_new(a, ev);
		if (!c)
			return;
		if (ev->seq != 0) /* its first events were lost: nothing to undo */
			STAT_INC(a->stats, conn_event_gaps);
	} else if (ev->seq != c->next_seq[dir]) {
		conn_resync(a, c);
	}
	c->next_seq[dir] = (uint16_t)(ev->seq + 1);
	if (!c->requests || !c->responses)
		return; /* out of memory in conn_resync */
	c->ev = ev;
	c->last_event_mono = ev->hdr.ts_ns;
	/* A server reads requests and writes responses; a client the reverse. */
	requests = (ev->direction == KSPAN_DIR_INGRESS) == (c->role == KSPAN_ROLE_SERVER);
	if (requests) {
		if (!http1_stream_in_message(c->requests)) {
			/* The kernel decides the context of a request that
			 * starts at the beginning of a piece (kspan_abi.h). */
			c->origin = (struct request_origin){
			    .read_exit_mono = ev->hdr.ts_ns,
			    .write_enter_mono = ev->ts_enter_ns,
			    .ctx = ev->ctx,
			    .has_ctx = (ev->flags & KSPAN_DATA_F_MSG_START_REQUEST) &&
				       (ev->ctx.flags & KSPAN_CTX_F_VALID),
			    .pending = true,
			};
		}
		http1_stream_feed(c->requests, payload, ev->captured_len, ev->bytes_total,
				  &request_callbacks, c);
	} else {
		c->prev_response_mono = c->last_response_mono;
		c->last_response_mono = ev->hdr.ts_ns;
		http1_stream_feed(c->responses, payload, ev->captured_len, ev->bytes_total,
				  &response_callbacks, c);
	}
	c->ev = NULL;
}

void http1_assembler_on_close(struct http1_assembler *a, const struct kspan_conn_event *ev)
{
	struct http1_conn *c = u64_map_remove(&a->conns, ev->conn_id);

	if (!c)
		return;
	/* After an h2c upgrade the later events went to HTTP/2: no loss. */
	if (ev->protocol == KSPAN_PROTO_HTTP1 &&
	    (ev->seq_ingress != c->next_seq[0] || ev->seq_egress != c->next_seq[1]))
		conn_resync(a, c);
	conn_end(a, c, ev->hdr.ts_ns);
	conn_free(c);
}

struct exit_visit {
	struct http1_assembler *a;
	uint32_t tgid;
	uint64_t ts;
};

static int end_conns_of_process(uint64_t key, void *value, void *arg)
{
	struct exit_visit *v = arg;
	struct http1_conn *c = value;

	(void)key;
	if (c->tgid != v->tgid)
		return 0;
	conn_end(v->a, c, v->ts);
	conn_free(c);
	return 1;
}

void http1_assembler_on_process_exit(struct http1_assembler *a, uint32_t tgid, uint64_t ts_ns)
{
	struct exit_visit v = {.a = a, .tgid = tgid, .ts = ts_ns};

	u64_map_visit(&a->conns, end_conns_of_process, &v);
}

struct tick_visit {
	struct http1_assembler *a;
	uint64_t now;
};

static int flush_idle_conn(uint64_t key, void *value, void *arg)
{
	struct tick_visit *v = arg;
	struct http1_conn *c = value;
	uint64_t idle = v->now > c->last_event_mono ? v->now - c->last_event_mono : 0;
	struct pending_request *p;

	(void)key;
	if (c->early.held && v->now > c->early.read_mono + EARLY_RESPONSE_WAIT_NS)
		early_response_drop(c);
	if (idle < v->a->cfg.idle_timeout_ns)
		return 0;
	/* A response whose end nobody could frame: it ended with its last
	 * piece. Requests still waiting for a response keep waiting (long
	 * polls are legitimate). */
	p = fifo_front(c);
	if (p && p->response_started)
		finish_span(c, c->last_response_mono);
	if (!c->fifo_count && idle >= CONN_FORGET_NS) {
		conn_free(c);
		return 1;
	}
	return 0;
}

void http1_assembler_tick(struct http1_assembler *a, uint64_t now_mono_ns)
{
	struct tick_visit v = {.a = a, .now = now_mono_ns};

	u64_map_visit(&a->conns, flush_idle_conn, &v);
}

static int finish_conn_at_exit(uint64_t key, void *value, void *arg)
{
	struct http1_assembler *a = arg;
	struct http1_conn *c = value;

	(void)key;
	early_response_drop(c);
	while (c->fifo_count) {
		struct pending_request *p = fifo_front(c);
		if (!p->response_started) {
			STAT_ADD(a->stats, http_unfinished_at_exit, c->fifo_count);
			break;
		}
		finish_span(c, c->last_response_mono);
	}
	conn_free(c);
	return 1;
}

void http1_assembler_finish_all(struct http1_assembler *a)
{
	u64_map_visit(&a->conns, finish_conn_at_exit, a);
}
