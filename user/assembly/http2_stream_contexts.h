/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http2_stream_contexts.h - the CLIENT contexts the kernel decided for HTTP/2
 * request streams (KSPAN_EVENT_H2_STREAM_CTX), kept until the stream's
 * request headers are decoded and its span takes them.
 *
 * The kernel sends a stream's context before the DATA events of the write
 * that carried its HEADERS frame, so it is always here first, and is taken
 * moments later: a connection's contexts are kept only while some wait
 * (a bounded number per connection, the oldest go first), for at most
 * HTTP2_STREAM_CONTEXT_TTL_NS, and forgotten with the connection or its
 * process. At most max_conns connections have contexts waiting; a new one
 * beyond that makes the least recently active one forget its contexts
 * (h2_stream_contexts_evicted).
 */
#ifndef KSPAN_HTTP2_STREAM_CONTEXTS_H
#define KSPAN_HTTP2_STREAM_CONTEXTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kspan_abi.h"
#include "lib/u64_map.h"
#include "model/agent_stats.h"

/* Connections with contexts waiting, at most: each holds a few KiB, and a
 * context waits only for the DATA event right behind it in the ring. */
#define HTTP2_STREAM_CONTEXTS_MAX_CONNS 4096
/* A context not taken this long after its connection's latest one never
 * will be: its header block did not decode (or its events were lost). */
#define HTTP2_STREAM_CONTEXT_TTL_NS (10ull * 1000000000)

struct h2_ctx_ring;

struct http2_stream_contexts {
	struct u64_map conns;		     /* conn_id -> struct h2_ctx_ring * */
	struct h2_ctx_ring *oldest, *newest; /* least recently active first */
	size_t max_conns;
	struct agent_stats *stats;
};

/* max_conns 0: HTTP2_STREAM_CONTEXTS_MAX_CONNS. */
int http2_stream_contexts_init(struct http2_stream_contexts *t, size_t max_conns,
			       struct agent_stats *stats);
void http2_stream_contexts_free(struct http2_stream_contexts *t);

/* Keeps ev's context (ev was checked for size by the reader). */
void http2_stream_contexts_put(struct http2_stream_contexts *t,
			       const struct kspan_h2_stream_event *ev);
/* Takes the context of (conn_id, stream_id) out: true when there was one. */
bool http2_stream_contexts_take(struct http2_stream_contexts *t, uint64_t conn_id,
				uint32_t stream_id, struct kspan_h2_stream_event *out);
void http2_stream_contexts_forget_conn(struct http2_stream_contexts *t, uint64_t conn_id);
void http2_stream_contexts_forget_process(struct http2_stream_contexts *t, uint32_t tgid);
/* Forgets the contexts of connections whose latest one is older than
 * HTTP2_STREAM_CONTEXT_TTL_NS at now_mono_ns. */
void http2_stream_contexts_tick(struct http2_stream_contexts *t, uint64_t now_mono_ns);
/* Connections with contexts waiting. */
size_t http2_stream_contexts_conns(const struct http2_stream_contexts *t);

#endif /* KSPAN_HTTP2_STREAM_CONTEXTS_H */
