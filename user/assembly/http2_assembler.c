// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * http2_assembler.c - HTTP/2 connections: events to frames, each frame to
 * its handler (header blocks: http2_header_blocks.c; stream ends and
 * failures: http2_streams.c), lost framing, and the connection's end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http2_detect.h"
#include "assembly/http2_connection.h"
#include "lib/log.h"

/* --- frames -------------------------------------------------------------- */

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
	if (c->dir[c->cur].block.active && f->type != HTTP2_FRAME_CONTINUATION) {
		/* RFC 9113 6.10: nothing may interleave a header block. */
		h2_conn_kill(c, "a header block was interrupted");
		return;
	}
	switch (f->type) {
	case HTTP2_FRAME_HEADERS:
	case HTTP2_FRAME_CONTINUATION:
	case HTTP2_FRAME_PUSH_PROMISE:
		h2_on_headers_frame(c, f);
		return;
	case HTTP2_FRAME_SETTINGS:
		h2_on_settings(c, f);
		return;
	case HTTP2_FRAME_DATA:
		st = u64_map_get(&c->streams, f->stream_id);
		if (!st)
			return;
		h2_stream_touch(c, st);
		if (!(f->flags & HTTP2_FLAG_END_STREAM) || c->base.role == KSPAN_ROLE_UNKNOWN ||
		    h2_is_request_dir(c, c->cur))
			return;
		h2_finish_stream(c, st, c->ev->hdr.ts_ns);
		return;
	case HTTP2_FRAME_RST_STREAM: {
		char msg[64];
		uint32_t code;
		/* A server may reset a stream before answering it. */
		st = h2_is_request_dir(c, c->cur) ? u64_map_get(&c->streams, f->stream_id)
						  : h2_response_stream(c, f->stream_id);
		if (!st || !f->complete)
			return;
		code = (uint32_t)f->payload[0] << 24 | (uint32_t)f->payload[1] << 16 |
		       (uint32_t)f->payload[2] << 8 | f->payload[3];
		snprintf(msg, sizeof(msg), "stream reset (RST_STREAM %s)", h2_error_name(code));
		STAT_INC(c->a->stats, h2_streams_reset);
		h2_fail_stream(c, st, c->ev->hdr.ts_ns, "rst_stream", msg);
		return;
	}
	case HTTP2_FRAME_GOAWAY: {
		uint32_t last;
		/* Only a server's GOAWAY concerns the client's streams. */
		if (c->base.role == KSPAN_ROLE_UNKNOWN || h2_is_request_dir(c, c->cur) ||
		    !f->complete)
			return;
		last = ((uint32_t)f->payload[0] << 24 | (uint32_t)f->payload[1] << 16 |
			(uint32_t)f->payload[2] << 8 | f->payload[3]) &
		       0x7fffffffu;
		h2_fail_streams(c, c->ev->hdr.ts_ns, last, "goaway",
				"stream refused by GOAWAY (not processed)");
		return;
	}
	}
}

static void on_framing_lost(void *ctx, const char *why)
{
	h2_conn_kill(ctx, why);
}

static const struct http2_frame_callbacks frame_callbacks = {
    .on_frame = on_frame,
    .on_framing_lost = on_framing_lost,
};

/* --- connections --------------------------------------------------------- */

/* Framing is lost: open streams could only get wrong ends, so they are
 * dropped (counted) and the connection is no longer followed. */
void h2_conn_kill(struct h2_conn *c, const char *why)
{
	if (c->dead)
		return;
	c->dead = true;
	STAT_INC(c->a->stats, h2_framing_lost);
	STAT_ADD(c->a->stats, requests_lost_to_gaps, c->streams.count);
	h2_drop_streams(c);
	log_debug("conn %016llx: HTTP/2 no longer followed: %s",
		  (unsigned long long)c->base.conn_id, why);
}

/* The assembler's connection of a registry entry: base is its first member. */
static struct h2_conn *conn_of(struct conn_entry *e)
{
	return (struct h2_conn *)e;
}

static void conn_free(struct conn_entry *e)
{
	struct h2_conn *c = conn_of(e);

	h2_drop_streams(c);
	u64_map_free(&c->streams);
	for (int i = 0; i < 2; i++) {
		http2_frame_parser_free(&c->dir[i].frames);
		hpack_decoder_free(&c->dir[i].hpack);
		free(c->dir[i].block.buf);
	}
	free(c);
}

static int conn_init(void *owner, struct conn_entry *e)
{
	struct h2_conn *c = conn_of(e);

	c->a = owner;
	if (u64_map_init(&c->streams, 64) || hpack_decoder_init(&c->dir[0].hpack) ||
	    hpack_decoder_init(&c->dir[1].hpack))
		return -ENOMEM;
	return 0;
}

/* The connection ended (its close, its process's exit): its open streams
 * failed. At shutdown they are counted as unfinished and dropped. When it
 * is forgotten (evicted, or silent for the budget's forget time) they are
 * dropped and counted: a stream has no end to take before END_STREAM, and
 * nothing says it failed. */
static void conn_end(void *owner, struct conn_entry *e, uint64_t end_mono)
{
	struct http2_assembler *a = owner;
	struct h2_conn *c = conn_of(e);

	h2_drop_early_streams(c, UINT64_MAX);
	if (end_mono == CONN_SHUTDOWN) {
		STAT_ADD(a->stats, http_unfinished_at_exit, c->streams.count);
	} else if (end_mono == CONN_FORGOTTEN) {
		STAT_ADD(a->stats, requests_forgotten, c->streams.count);
		h2_drop_streams(c);
		http2_stream_contexts_forget_conn(&a->kernel_ctx, e->conn_id);
	} else if (!c->dead) {
		h2_fail_streams(c, end_mono, 0, "connection_closed",
				"connection closed before the response ended");
	}
}

/* Responses that waited too long for their request go. */
static void conn_tick(void *owner, struct conn_entry *e, uint64_t now)
{
	struct h2_conn *c = conn_of(e);

	(void)owner;
	if (!c->dead)
		h2_drop_early_streams(c, now);
}

static const struct conn_registry_ops conn_ops = {
    .init = conn_init,
    .end = conn_end,
    .tick = conn_tick,
    .destroy = conn_free,
};

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
	struct h2_conn *c = conn_of(conn_registry_get(&a->conns, ev->conn_id));
	struct h2_direction *d;
	int dir;

	if (ev->protocol != KSPAN_PROTO_HTTP2)
		return;
	if (!c) {
		c = conn_of(conn_registry_open(&a->conns, ev));
		if (!c)
			return;
	}
	dir = ev->direction == KSPAN_DIR_EGRESS;
	d = &c->dir[dir];
	conn_registry_touch(&a->conns, &c->base, ev->hdr.ts_ns);
	if (c->dead)
		return;
	if (!d->seen) {
		direction_begin(d, ev);
	} else if (ev->seq != d->next_seq) {
		STAT_INC(a->stats, conn_event_gaps);
		h2_conn_kill(c, "events were lost");
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
	struct h2_conn *c = conn_of(conn_registry_take(&a->conns, ev->conn_id));

	http2_stream_contexts_forget_conn(&a->kernel_ctx, ev->conn_id);

	if (!c)
		return;
	if (!c->dead && ((c->dir[0].seen && ev->seq_ingress != c->dir[0].next_seq) ||
			 (c->dir[1].seen && ev->seq_egress != c->dir[1].next_seq))) {
		STAT_INC(a->stats, conn_event_gaps);
		h2_conn_kill(c, "events were lost before the close");
	}
	conn_end(a, &c->base, ev->hdr.ts_ns);
	conn_free(&c->base);
}

void http2_assembler_on_process_exit(struct http2_assembler *a, uint32_t tgid, uint64_t ts_ns)
{
	http2_stream_contexts_forget_process(&a->kernel_ctx, tgid);
	conn_registry_end_process(&a->conns, tgid, ts_ns);
}

void http2_assembler_tick(struct http2_assembler *a, uint64_t now_mono_ns)
{
	conn_registry_tick(&a->conns, now_mono_ns);
	http2_stream_join_tick(&a->join, now_mono_ns);
	http2_stream_contexts_tick(&a->kernel_ctx, now_mono_ns);
}

void http2_assembler_finish_all(struct http2_assembler *a)
{
	conn_registry_shutdown(&a->conns);
	/* Finished SERVER spans still waiting for their CLIENT go out as they are. */
	http2_stream_join_flush(&a->join);
}

int http2_assembler_init(struct http2_assembler *a, const struct http2_assembler_config *cfg,
			 struct process_table *procs, struct span_sink *out,
			 struct agent_stats *stats, const struct mono_to_unix *clock)
{
	struct conn_budget *budget = cfg->conns;

	memset(a, 0, sizeof(*a));
	a->capture_query = cfg->capture_query;
	a->sampler = cfg->sampler;
	a->propagation = cfg->propagation;
	a->streams.max = cfg->max_streams ? cfg->max_streams : HTTP2_MAX_STREAMS_DEFAULT;
	a->procs = procs;
	a->out = out;
	a->stats = stats;
	a->clock = clock;
	if (!budget) {
		conn_budget_init(&a->own_budget, 0, 0, stats);
		budget = &a->own_budget;
	}
	if (hpack_decoder_init(&a->scratch) ||
	    http2_stream_join_init(&a->join, HTTP2_JOIN_CAPACITY, out, stats))
		return -ENOMEM;
	if (http2_stream_contexts_init(&a->kernel_ctx, HTTP2_STREAM_CONTEXTS_MAX_CONNS, stats))
		return -ENOMEM;
	return conn_registry_init(&a->conns, 256, sizeof(struct h2_conn), &conn_ops, a, budget);
}

void http2_assembler_free(struct http2_assembler *a)
{
	conn_registry_free(&a->conns);
	hpack_decoder_free(&a->scratch);
	http2_stream_join_free(&a->join);
	http2_stream_contexts_free(&a->kernel_ctx);
}
