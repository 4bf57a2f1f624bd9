// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* http1_assembler.c - HTTP/1.x connections to spans. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/http1_stream.h"
#include "assembly/http1_assembler.h"
#include "assembly/http_span.h"
#include "assembly/trace_context_choice.h"
#include "lib/log.h"

/* Pipelined requests kept per connection while they await responses. */
#define PIPELINE_DEPTH 32

struct pending_request {
	struct span *span;
	bool is_head_method;   /* a HEAD request: its response has no body */
	bool response_started; /* the final (non-1xx) response head arrived */
};

struct http1_conn {
	struct conn_entry base; /* first: the registry's view */
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

/* --- the span ------------------------------------------------------------ */

static struct http_text text_of(struct http1_slice v)
{
	return (struct http_text){.ptr = v.ptr, .len = v.len};
}

static void add_request_attributes(struct http1_conn *c, struct span *s,
				   const struct http1_head *head)
{
	struct http_request_view req = {
	    .method = text_of(head->method),
	    .target = text_of(head->target),
	    .authority = text_of(head->host),
	    .user_agent = text_of(head->user_agent),
	    .protocol_version = head->version_minor ? "1.1" : "1.0",
	    /* The sampled flag is final here: the kernel joined same-node
	     * requests before userspace saw them. */
	    .metrics_only = !(s->trace_flags & 1),
	};

	if (c->base.tls)
		req.scheme = (struct http_text){.ptr = "https", .len = 5};

	http_span_add_request(s, &req, &c->base.tuple, &c->base.strings,
			      c->assembler->cfg.capture_query);
}

/*
 * The kernel decided the context of the first request starting in a piece;
 * it is re-validated there. Later pipelined requests in the same piece, and
 * requests whose traceparent the kernel could not see (header split across
 * reads, or past its scan window), are decided with the same parser.
 */
static void decide_context(struct http1_conn *c, const struct kspan_trace_ctx *k,
			   const struct http1_head *head, struct span *s)
{
	struct trace_context_inputs in = {
	    .kernel = k,
	    .traceparent = head->traceparent.ptr,
	    .traceparent_len = head->traceparent.len,
	    .traceparent_fields = head->traceparent_fields,
	    .tracestate = &head->tracestate,
	    .sampler = c->assembler->cfg.sampler,
	};

	trace_context_choose(s, &in, c->assembler->stats);
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
	http_span_add_response_status(p->span, c->early.status, true);
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
	bool server = c->base.role == KSPAN_ROLE_SERVER;

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
	/* SERVER: when the request's first byte reached the process (read
	 * returned); CLIENT: when the process began writing it. */
	s = http_span_new(server ? SPAN_KIND_SERVER : SPAN_KIND_CLIENT, ev->hdr.tid,
			  process_table_resource_at(a->procs, c->base.tgid, ev->hdr.ts_ns),
			  mono_to_unix_ns(a->clock, server ? read_exit : write_enter), 0);
	if (!s)
		return false;
	decide_context(c, kernel_ctx, head, s);
	if (!server && kernel_ctx && (kernel_ctx->flags & KSPAN_CTX_F_UNATTRIBUTED) && s->resource)
		STAT_INC(a->stats,
			 client_requests_unattributed[s->resource->runtime % AGENT_RUNTIMES]);
	add_request_attributes(c, s, head);

	p = &c->fifo[(c->fifo_head + c->fifo_count) % PIPELINE_DEPTH];
	*p = (struct pending_request){
	    .span = s,
	    .is_head_method = head->method.len == 4 && memcmp(head->method.ptr, "HEAD", 4) == 0,
	};
	c->fifo_count++;
	if (!server)
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
		if (c->base.role == KSPAN_ROLE_CLIENT && head->status_code >= 200 && c->ev) {
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
	http_span_add_response_status(p->span, head->status_code, true);
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
	log_debug("conn %016llx: not HTTP/1.x here: %s", (unsigned long long)c->base.conn_id, why);
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

/* The assembler's connection of a registry entry: base is its first member. */
static struct http1_conn *conn_of(struct conn_entry *e)
{
	return (struct http1_conn *)e;
}

static void conn_free(struct conn_entry *e)
{
	struct http1_conn *c = conn_of(e);

	while (c->fifo_count) {
		span_unref(fifo_front(c)->span);
		fifo_pop(c);
	}
	http1_stream_free(c->requests);
	http1_stream_free(c->responses);
	free(c);
}

static int conn_init(void *owner, struct conn_entry *e)
{
	struct http1_conn *c = conn_of(e);

	c->assembler = owner;
	c->requests = http1_stream_new(HTTP1_STREAM_REQUESTS);
	c->responses = http1_stream_new(HTTP1_STREAM_RESPONSES);
	return c->requests && c->responses ? 0 : -ENOMEM;
}

/* Shutdown: every span whose response has begun is finished now; requests
 * still waiting are counted. */
static void conn_shut_down(struct http1_assembler *a, struct http1_conn *c)
{
	early_response_drop(c);
	while (c->fifo_count) {
		struct pending_request *p = fifo_front(c);
		if (!p->response_started) {
			STAT_ADD(a->stats, http_unfinished_at_exit, c->fifo_count);
			break;
		}
		finish_span(c, c->last_response_mono);
	}
}

/* No longer followed (evicted, or silent for the budget's forget time): a
 * response that began ends at its last piece, as after idle_timeout; a
 * request still waiting is dropped, counted: nothing says it failed. */
static void conn_forget(struct http1_assembler *a, struct http1_conn *c)
{
	early_response_drop(c);
	while (c->fifo_count) {
		struct pending_request *p = fifo_front(c);
		if (!p->response_started) {
			STAT_ADD(a->stats, requests_forgotten, c->fifo_count);
			break; /* conn_free drops them */
		}
		finish_span(c, c->last_response_mono);
	}
}

/* The connection ended at `end_mono`: finish what can be finished. */
static void conn_end(void *owner, struct conn_entry *e, uint64_t end_mono)
{
	struct http1_assembler *a = owner;
	struct http1_conn *c = conn_of(e);

	if (end_mono == CONN_SHUTDOWN) {
		conn_shut_down(a, c);
		return;
	}
	if (end_mono == CONN_FORGOTTEN) {
		conn_forget(a, c);
		return;
	}
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
		http_span_fail(p->span, "connection_closed", "connection closed before a response");
		finish_span(c, end_mono);
	}
}

/* A held early response expires; a response whose end nobody could frame
 * ends with its last piece once the connection has been quiet for
 * idle_timeout. Requests still waiting for a response keep waiting (long
 * polls are legitimate) until the registry forgets the connection. */
static void conn_tick(void *owner, struct conn_entry *e, uint64_t now)
{
	struct http1_assembler *a = owner;
	struct http1_conn *c = conn_of(e);
	struct pending_request *p = fifo_front(c);

	if (c->early.held && now > c->early.read_mono + HTTP_EARLY_RESPONSE_WAIT_NS)
		early_response_drop(c);
	if (p && p->response_started && now >= e->last_event_mono + a->cfg.idle_timeout_ns)
		finish_span(c, c->last_response_mono);
}

static const struct conn_registry_ops conn_ops = {
    .init = conn_init,
    .end = conn_end,
    .tick = conn_tick,
    .destroy = conn_free,
};

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
	if (!a->cfg.conns) {
		conn_budget_init(&a->own_budget, 0, 0, stats);
		a->cfg.conns = &a->own_budget;
	}
	return conn_registry_init(&a->conns, 1024, sizeof(struct http1_conn), &conn_ops, a,
				  a->cfg.conns);
}

void http1_assembler_free(struct http1_assembler *a)
{
	conn_registry_free(&a->conns);
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
	struct http1_conn *c = conn_of(conn_registry_get(&a->conns, ev->conn_id));
	const uint8_t *payload = (const uint8_t *)(ev + 1);
	bool requests;
	int dir;

	if (ev->protocol != KSPAN_PROTO_HTTP1 || ev->role == KSPAN_ROLE_UNKNOWN)
		return;
	dir = ev->direction == KSPAN_DIR_EGRESS;
	if (!c) {
		c = conn_of(conn_registry_open(&a->conns, ev));
		if (!c)
			return;
		if (ev->seq != 0) /* its first events were lost: nothing to undo */
			STAT_INC(a->stats, conn_event_gaps);
	} else if (ev->seq != c->next_seq[dir]) {
		conn_resync(a, c);
	}
	c->next_seq[dir] = (uint16_t)(ev->seq + 1);
	conn_registry_touch(&a->conns, &c->base, ev->hdr.ts_ns);
	if (!c->requests || !c->responses)
		return; /* out of memory in conn_resync */
	c->ev = ev;
	/* A server reads requests and writes responses; a client the reverse. */
	requests = (ev->direction == KSPAN_DIR_INGRESS) == (c->base.role == KSPAN_ROLE_SERVER);
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
	struct http1_conn *c = conn_of(conn_registry_take(&a->conns, ev->conn_id));

	if (!c)
		return;
	/* After an h2c upgrade the later events went to HTTP/2: no loss. */
	if (ev->protocol == KSPAN_PROTO_HTTP1 &&
	    (ev->seq_ingress != c->next_seq[0] || ev->seq_egress != c->next_seq[1]))
		conn_resync(a, c);
	conn_end(a, &c->base, ev->hdr.ts_ns);
	conn_free(&c->base);
}

void http1_assembler_on_process_exit(struct http1_assembler *a, uint32_t tgid, uint64_t ts_ns)
{
	conn_registry_end_process(&a->conns, tgid, ts_ns);
}

void http1_assembler_tick(struct http1_assembler *a, uint64_t now_mono_ns)
{
	conn_registry_tick(&a->conns, now_mono_ns);
}

void http1_assembler_finish_all(struct http1_assembler *a)
{
	conn_registry_shutdown(&a->conns);
}
