/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http2_stream_join.h - same-node joining of HTTP/2 streams (--propagation
 * tuple): the SERVER span of a stream whose CLIENT end was seen on this node
 * becomes that CLIENT span's child.
 *
 * A stream is named exactly by its connection and its stream id (RFC 9113
 * section 5.1.1: ids are never reused on a connection), and both ends of a
 * same-node connection pass through this agent. The connection is named as
 * the kernel's HTTP/1 join names it (kspan_endpoint.h: client endpoint ->
 * server endpoint, IPv4 as ::ffff:a.b.c.d, network namespace left out), so
 * both joins pair the same connections, also across namespaces.
 *
 * Events arrive in syscall-exit order, so either end may come first:
 *   - a CLIENT stream's context is published when its request is seen (and
 *     republished if it changes) and waits CLIENT_WAIT for its SERVER;
 *   - a SERVER span that ends before its CLIENT stream was seen is held
 *     SERVER_HOLD, then sent without a parent (counted h2_join_unmatched).
 * The table is bounded; when it is full the oldest waiting entry goes
 * (counted h2_join_table_full), a held SERVER span being sent unjoined.
 */
#ifndef KSPAN_HTTP2_STREAM_JOIN_H
#define KSPAN_HTTP2_STREAM_JOIN_H

#include <stddef.h>
#include <stdint.h>

#include "model/agent_stats.h"
#include "kspan_endpoint.h"
#include "model/span_sink.h"
#include "model/span.h"
#include "lib/u64_map.h"

/* A stream as both of its ends name it. */
struct h2_stream_name {
	struct endpoint_pair_key ends;
	uint32_t stream_id;
};

struct join_entry;

/* Entries in the order they were made, oldest first; each list holds one
 * kind of entry, so its expiry times are in order too. */
struct join_list {
	struct join_entry *oldest, *newest;
};

struct http2_stream_join {
	struct u64_map entries;	       /* hash of the name -> struct join_entry * */
	struct join_list clients;      /* published CLIENT contexts */
	struct join_list held_servers; /* SERVER spans waiting for their CLIENT */
	size_t capacity;	       /* entries at most */
	uint64_t client_wait_ns, server_hold_ns;
	struct span_sink *out; /* where finished spans go */
	struct agent_stats *stats;
};

#define HTTP2_JOIN_CAPACITY	  16384
#define HTTP2_JOIN_CLIENT_WAIT_NS (5ull * 1000000000)
#define HTTP2_JOIN_SERVER_HOLD_NS (1ull * 1000000000)

int http2_stream_join_init(struct http2_stream_join *j, size_t capacity, struct span_sink *out,
			   struct agent_stats *stats);
/* Held SERVER spans are dropped without being sent: flush first. */
void http2_stream_join_free(struct http2_stream_join *j);

/* Names the stream from a connection tuple as its CLIENT (client_side) or
 * its SERVER sees it. */
void h2_stream_name_init(struct h2_stream_name *n, const struct kspan_conn_tuple *t,
			 int client_side, uint32_t stream_id);

/* The CLIENT span `client` of stream `n` has its (final) context: it
 * parents the SERVER end of n. Calling it again for n updates the context. */
void http2_stream_join_client(struct http2_stream_join *j, const struct h2_stream_name *n,
			      const struct span *client, uint64_t now_mono_ns);

/* The SERVER span `server` of stream `n` ended and has no context of its
 * own. It is submitted to the pipeline now, as the CLIENT's child, or once
 * the CLIENT is seen, or unjoined after the hold. Takes the reference. */
void http2_stream_join_server_end(struct http2_stream_join *j, const struct h2_stream_name *n,
				  struct span *server, uint64_t now_mono_ns);

/* Expires entries older than their wait. */
void http2_stream_join_tick(struct http2_stream_join *j, uint64_t now_mono_ns);

/* Shutdown: held SERVER spans are sent unjoined, CLIENT contexts forgotten. */
void http2_stream_join_flush(struct http2_stream_join *j);

#endif /* KSPAN_HTTP2_STREAM_JOIN_H */
