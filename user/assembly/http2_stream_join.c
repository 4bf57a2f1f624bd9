// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* http2_stream_join.c - SERVER streams joined to their same-node CLIENT. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "assembly/http2_stream_join.h"

struct join_entry {
	struct h2_stream_name name;
	uint64_t key; /* hash of name */
	uint64_t expires_mono;
	struct join_list *list;
	struct join_entry *prev, *next; /* in *list */
	/* A CLIENT entry: the parent context. */
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t trace_flags;
	/* A held SERVER entry: the span, owned. */
	struct span *server;
};

/* FNV-1a over the name's bytes (u64_map mixes the result further). Names
 * that collide are told apart by comparing them in full. */
static uint64_t name_hash(const struct h2_stream_name *n)
{
	const uint8_t *p = (const uint8_t *)n;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < sizeof(*n); i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

void h2_stream_name_init(struct h2_stream_name *n, const struct kspan_conn_tuple *t,
			 int client_side, uint32_t stream_id)
{
	memset(n, 0, sizeof(*n)); /* hashed as bytes: padding included */
	endpoint_pair__key(&n->ends, t, client_side);
	n->stream_id = stream_id;
}

static void list_append(struct join_list *l, struct join_entry *e)
{
	e->list = l;
	e->prev = l->newest;
	e->next = NULL;
	if (l->newest)
		l->newest->next = e;
	else
		l->oldest = e;
	l->newest = e;
}

static void list_unlink(struct join_entry *e)
{
	struct join_list *l = e->list;

	if (e->prev)
		e->prev->next = e->next;
	else
		l->oldest = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		l->newest = e->prev;
	e->list = NULL;
}

static struct join_entry *find(struct http2_stream_join *j, const struct h2_stream_name *n,
			       uint64_t key)
{
	struct join_entry *e = u64_map_get(&j->entries, key);

	return e && memcmp(&e->name, n, sizeof(*n)) == 0 ? e : NULL;
}

/* Forgets e; a held SERVER span goes out without a parent. */
static void entry_drop(struct http2_stream_join *j, struct join_entry *e)
{
	u64_map_remove(&j->entries, e->key);
	list_unlink(e);
	if (e->server) {
		STAT_INC(j->stats, h2_join_unmatched);
		span_sink_submit(j->out, e->server);
	}
	free(e);
}

static void join_and_submit(struct http2_stream_join *j, struct join_entry *client,
			    struct span *server)
{
	memcpy(server->trace_id, client->trace_id, 16);
	memcpy(server->parent_span_id, client->span_id, 8);
	server->trace_flags = client->trace_flags;
	STAT_INC(j->stats, h2_streams_joined);
	span_sink_submit(j->out, server);
}

/* A new entry for n, in list l; the oldest waiting entry makes room when
 * the table is full (unclaimed CLIENT contexts first: most belong to
 * servers on other nodes). */
static struct join_entry *entry_new(struct http2_stream_join *j, const struct h2_stream_name *n,
				    uint64_t key, struct join_list *l, uint64_t expires)
{
	struct join_entry *e, *old;

	old = u64_map_get(&j->entries, key);
	if (old)
		entry_drop(j, old); /* another name with the same hash */
	if (j->entries.count >= j->capacity) {
		STAT_INC(j->stats, h2_join_table_full);
		entry_drop(j, j->clients.oldest ? j->clients.oldest : j->held_servers.oldest);
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	if (u64_map_put(&j->entries, key, e)) {
		free(e);
		return NULL;
	}
	e->name = *n;
	e->key = key;
	e->expires_mono = expires;
	list_append(l, e);
	return e;
}

void http2_stream_join_client(struct http2_stream_join *j, const struct h2_stream_name *n,
			      const struct span *client, uint64_t now_mono_ns)
{
	uint64_t key = name_hash(n);
	struct join_entry *e = find(j, n, key);
	struct span *server;

	if (e && e->server) {
		/* The SERVER end finished first and waits. */
		server = e->server;
		e->server = NULL;
		memcpy(e->trace_id, client->trace_id, 16);
		memcpy(e->span_id, client->span_id, 8);
		e->trace_flags = client->trace_flags;
		join_and_submit(j, e, server);
		entry_drop(j, e);
		return;
	}
	if (!e) {
		e = entry_new(j, n, key, &j->clients, now_mono_ns + j->client_wait_ns);
		if (!e)
			return;
	}
	memcpy(e->trace_id, client->trace_id, 16);
	memcpy(e->span_id, client->span_id, 8);
	e->trace_flags = client->trace_flags;
}

void http2_stream_join_server_end(struct http2_stream_join *j, const struct h2_stream_name *n,
				  struct span *server, uint64_t now_mono_ns)
{
	uint64_t key = name_hash(n);
	struct join_entry *e = find(j, n, key);

	if (e && !e->server) {
		join_and_submit(j, e, server);
		entry_drop(j, e);
		return;
	}
	if (e)
		entry_drop(j, e); /* cannot happen: one SERVER end per stream */
	e = entry_new(j, n, key, &j->held_servers, now_mono_ns + j->server_hold_ns);
	if (!e) {
		STAT_INC(j->stats, h2_join_unmatched);
		span_sink_submit(j->out, server);
		return;
	}
	e->server = server;
}

static void expire(struct http2_stream_join *j, struct join_list *l, uint64_t now)
{
	while (l->oldest && l->oldest->expires_mono <= now)
		entry_drop(j, l->oldest);
}

void http2_stream_join_tick(struct http2_stream_join *j, uint64_t now_mono_ns)
{
	expire(j, &j->clients, now_mono_ns);
	expire(j, &j->held_servers, now_mono_ns);
}

void http2_stream_join_flush(struct http2_stream_join *j)
{
	http2_stream_join_tick(j, UINT64_MAX);
}

int http2_stream_join_init(struct http2_stream_join *j, size_t capacity, struct span_sink *out,
			   struct agent_stats *stats)
{
	memset(j, 0, sizeof(*j));
	j->capacity = capacity ? capacity : 1;
	j->client_wait_ns = HTTP2_JOIN_CLIENT_WAIT_NS;
	j->server_hold_ns = HTTP2_JOIN_SERVER_HOLD_NS;
	j->out = out;
	j->stats = stats;
	return u64_map_init(&j->entries, 256);
}

static void drop_list(struct join_list *l)
{
	while (l->oldest) {
		struct join_entry *e = l->oldest;
		list_unlink(e);
		if (e->server)
			span_unref(e->server);
		free(e);
	}
}

void http2_stream_join_free(struct http2_stream_join *j)
{
	drop_list(&j->clients);
	drop_list(&j->held_servers);
	u64_map_free(&j->entries);
}
