/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http2_stream_contexts.h - the CLIENT contexts the kernel decided for HTTP/2
 * request streams (KSPAN_EVENT_H2_STREAM_CTX), kept until the stream's
 * request headers are decoded and its span takes them.
 *
 * The kernel sends a stream's context before the DATA events of the write
 * that carried its HEADERS frame, so it is always here first. Contexts are
 * kept per connection, a bounded number (the oldest go first), and forgotten
 * with the connection or its process.
 */
#ifndef KSPAN_HTTP2_STREAM_CONTEXTS_H
#define KSPAN_HTTP2_STREAM_CONTEXTS_H

#include <stdbool.h>
#include <stdint.h>

#include "kspan_abi.h"
#include "lib/u64_map.h"

struct http2_stream_contexts {
	struct u64_map conns; /* conn_id -> struct h2_ctx_ring * */
};

int http2_stream_contexts_init(struct http2_stream_contexts *t);
void http2_stream_contexts_free(struct http2_stream_contexts *t);

/* Keeps ev's context (ev was checked for size by the reader). */
void http2_stream_contexts_put(struct http2_stream_contexts *t,
			       const struct kspan_h2_stream_event *ev);
/* Takes the context of (conn_id, stream_id) out: true when there was one. */
bool http2_stream_contexts_take(struct http2_stream_contexts *t, uint64_t conn_id,
				uint32_t stream_id, struct kspan_h2_stream_event *out);
void http2_stream_contexts_forget_conn(struct http2_stream_contexts *t, uint64_t conn_id);
void http2_stream_contexts_forget_process(struct http2_stream_contexts *t, uint32_t tgid);

#endif /* KSPAN_HTTP2_STREAM_CONTEXTS_H */
