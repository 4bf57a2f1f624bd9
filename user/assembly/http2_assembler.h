/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http2_assembler.h - from DATA/CLOSE events of HTTP/2 connections to
 * one SERVER or CLIENT span per stream (RFC 9113), with gRPC attributes.
 *
 * Each direction of a connection has a frame parser (http2_frame_parser.h)
 * and an HPACK decoder (hpack_decoder.h) fed every header block in order. A
 * stream's span starts with the first HEADERS frame of its request and ends
 * with END_STREAM of its response (trailers included), or with RST_STREAM,
 * a GOAWAY that excludes it, or the connection's end (status ERROR).
 *
 * A direction whose first bytes kspan did not see (a connection upgraded
 * from HTTP/1.1 on the server side, or one older than kspan) cannot be
 * decoded reliably: its header blocks are decoded without the dynamic table
 * (static entries and literals only) and its spans carry
 * kspan.http2.headers_partial = true. Lost framing (events lost to a full
 * ring, bytes beyond the capture bound) drops the connection's open streams
 * (counted) rather than guess.
 *
 * Events arrive in syscall-exit order: a CLIENT may read a stream's response
 * before the event of its own request write is processed. That response is
 * kept (bounded, counted h2_early_responses) and applied when the request
 * comes, with its own timestamps; dropped and counted
 * (h2_early_responses_expired) if the request never does.
 *
 * With --propagation tuple (or all), SERVER streams without a traceparent
 * are joined to their CLIENT end on this node (http2_stream_join.h).
 *
 * Attributes, names, the status rule and trace ids are the HTTP span
 * layer's (http_span.h, trace_context_choice.h), shared with HTTP/1;
 * connections are kept in a conn_registry. The implementation is three
 * files around http2_connection.h: frames and connection life, header
 * blocks, streams.
 */
#ifndef KSPAN_HTTP2_ASSEMBLER_H
#define KSPAN_HTTP2_ASSEMBLER_H

#include <stdbool.h>
#include <stdint.h>

#include "assembly/conn_registry.h"
#include "model/agent_stats.h"
#include "lib/clock.h"
#include "protocol/hpack_decoder.h"
#include "assembly/http2_stream_contexts.h"
#include "assembly/http2_stream_join.h"
#include "kspan_abi.h"
#include "model/span_sink.h"
#include "config/sampler.h"
#include "ingest/process_table.h"
#include "lib/u64_map.h"

/* Open streams at most, over every connection (--max-h2-streams). */
#define HTTP2_MAX_STREAMS_DEFAULT 65536

struct http2_assembler_config {
	bool capture_query; /* keep url.query values */
	/* Decides each span's sampled flag; NULL: the flag the context
	 * carries (trace_context_choice.h). */
	const struct sampler *sampler;
	uint32_t propagation; /* KSPAN_PROPAGATE_* bits */
	/* The bound on connections, shared with the HTTP/1 assembler; NULL:
	 * one of the assembler's own, with the defaults. */
	struct conn_budget *conns;
	/* Open streams at most, every connection together; 0: the default.
	 * The least recently active stream makes room (h2_streams_evicted). */
	size_t max_streams;
};

struct h2_stream;

/* Every open stream of every connection, least recently active first. */
struct h2_stream_activity {
	struct h2_stream *oldest, *newest;
	size_t count, max;
};

struct http2_assembler {
	const struct sampler *sampler;		 /* cfg.sampler */
	bool capture_query;			 /* keep url.query values */
	uint32_t propagation;			 /* KSPAN_PROPAGATE_* bits */
	struct conn_registry conns;		 /* struct h2_conn by conn id */
	struct conn_budget own_budget;		 /* when the config names none */
	struct h2_stream_activity streams;	 /* bounded: see the config */
	struct hpack_decoder scratch;		 /* for hpack_decode_static_only() */
	struct http2_stream_contexts kernel_ctx; /* CLIENT streams the kernel decided */
	struct process_table *procs;
	struct span_sink *out; /* where finished spans go */
	struct agent_stats *stats;
	const struct mono_to_unix *clock;
	struct http2_stream_join join;
};

int http2_assembler_init(struct http2_assembler *a, const struct http2_assembler_config *cfg,
			 struct process_table *procs, struct span_sink *out,
			 struct agent_stats *stats, const struct mono_to_unix *clock);
void http2_assembler_free(struct http2_assembler *a);

/* `ev` was checked by the reader; only KSPAN_PROTO_HTTP2 events belong here. */
void http2_assembler_on_data(struct http2_assembler *a, const struct kspan_data_event *ev);
/* The kernel decided (and maybe injected) a CLIENT stream's context. */
void http2_assembler_on_stream_ctx(struct http2_assembler *a,
				   const struct kspan_h2_stream_event *ev);
void http2_assembler_on_close(struct http2_assembler *a, const struct kspan_conn_event *ev);
void http2_assembler_on_process_exit(struct http2_assembler *a, uint32_t tgid, uint64_t ts_ns);
/* Forgets long-silent connections, responses that never met their request
 * and stale kernel contexts; sends SERVER spans whose CLIENT end did not
 * show up. */
void http2_assembler_tick(struct http2_assembler *a, uint64_t now_mono_ns);
/* Shutdown: open streams are counted as unfinished and dropped. */
void http2_assembler_finish_all(struct http2_assembler *a);

#endif /* KSPAN_HTTP2_ASSEMBLER_H */
