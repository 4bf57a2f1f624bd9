// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* http2_stream_contexts.c - kernel-decided HTTP/2 stream contexts, until
 * their span takes them. */
#include <stdlib.h>
#include <string.h>

#include "assembly/http2_stream_contexts.h"

/* Streams of one connection whose context waits for its header block: the
 * kernel reports a write's streams before its bytes, so only streams whose
 * block did not decode (no span) ever linger. A power of two. */
#define CTX_RING_SIZE 64

struct h2_ctx_ring {
	uint64_t conn_id;
	uint32_t tgid;
	uint32_t next;	    /* slot the next context goes to */
	uint32_t waiting;   /* slots with a context (stream id not 0) */
	uint64_t last_mono; /* kernel time of its latest context */
	struct h2_ctx_ring *older, *newer;
	struct kspan_h2_stream_event slots[CTX_RING_SIZE];
};

int http2_stream_contexts_init(struct http2_stream_contexts *t, size_t max_conns,
			       struct agent_stats *stats)
{
	memset(t, 0, sizeof(*t));
	t->max_conns = max_conns ? max_conns : HTTP2_STREAM_CONTEXTS_MAX_CONNS;
	t->stats = stats;
	return u64_map_init(&t->conns, 64);
}

static void list_append(struct http2_stream_contexts *t, struct h2_ctx_ring *r)
{
	r->older = t->newest;
	r->newer = NULL;
	if (t->newest)
		t->newest->newer = r;
	else
		t->oldest = r;
	t->newest = r;
}

static void list_unlink(struct http2_stream_contexts *t, struct h2_ctx_ring *r)
{
	if (r->older)
		r->older->newer = r->newer;
	else
		t->oldest = r->newer;
	if (r->newer)
		r->newer->older = r->older;
	else
		t->newest = r->older;
	r->older = r->newer = NULL;
}

/* Out of the map and the list, freed. */
static void ring_drop(struct http2_stream_contexts *t, struct h2_ctx_ring *r)
{
	u64_map_remove(&t->conns, r->conn_id);
	list_unlink(t, r);
	free(r);
}

void http2_stream_contexts_free(struct http2_stream_contexts *t)
{
	while (t->oldest)
		ring_drop(t, t->oldest);
	u64_map_free(&t->conns);
}

/* A ring for a connection that had none; the least recently active ring
 * makes room when max_conns have contexts waiting: the busiest connections
 * are the ones whose contexts are about to be taken. */
static struct h2_ctx_ring *ring_new(struct http2_stream_contexts *t,
				    const struct kspan_h2_stream_event *ev)
{
	struct h2_ctx_ring *r;

	while (t->conns.count >= t->max_conns && t->oldest) {
		if (t->stats)
			STAT_ADD(t->stats, h2_stream_contexts_evicted, t->oldest->waiting);
		ring_drop(t, t->oldest);
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	if (u64_map_put(&t->conns, ev->conn_id, r)) {
		free(r);
		return NULL;
	}
	r->conn_id = ev->conn_id;
	r->tgid = ev->hdr.tgid;
	list_append(t, r);
	return r;
}

void http2_stream_contexts_put(struct http2_stream_contexts *t,
			       const struct kspan_h2_stream_event *ev)
{
	struct h2_ctx_ring *r = u64_map_get(&t->conns, ev->conn_id);
	struct kspan_h2_stream_event *slot;

	if (!ev->stream_id)
		return; /* 0 marks a free slot; no request stream has it */
	if (!r) {
		r = ring_new(t, ev);
		if (!r)
			return;
	} else if (t->newest != r) {
		list_unlink(t, r);
		list_append(t, r);
	}
	slot = &r->slots[r->next++ & (CTX_RING_SIZE - 1)];
	if (!slot->stream_id)
		r->waiting++;
	*slot = *ev;
	r->last_mono = ev->hdr.ts_ns;
}

bool http2_stream_contexts_take(struct http2_stream_contexts *t, uint64_t conn_id,
				uint32_t stream_id, struct kspan_h2_stream_event *out)
{
	struct h2_ctx_ring *r = u64_map_get(&t->conns, conn_id);

	if (!r || !stream_id)
		return false;
	/* Newest first: streams are taken in about the order they came. */
	for (uint32_t i = 1; i <= CTX_RING_SIZE; i++) {
		struct kspan_h2_stream_event *e = &r->slots[(r->next - i) & (CTX_RING_SIZE - 1)];
		if (e->stream_id != stream_id)
			continue;
		*out = *e;
		e->stream_id = 0; /* stream ids are never 0: a free slot */
		if (--r->waiting == 0)
			ring_drop(t, r); /* nothing waits: the next context starts anew */
		return true;
	}
	return false;
}

void http2_stream_contexts_forget_conn(struct http2_stream_contexts *t, uint64_t conn_id)
{
	struct h2_ctx_ring *r = u64_map_get(&t->conns, conn_id);

	if (r)
		ring_drop(t, r);
}

void http2_stream_contexts_forget_process(struct http2_stream_contexts *t, uint32_t tgid)
{
	struct h2_ctx_ring *r = t->oldest;

	while (r) {
		struct h2_ctx_ring *newer = r->newer;
		if (r->tgid == tgid)
			ring_drop(t, r);
		r = newer;
	}
}

void http2_stream_contexts_tick(struct http2_stream_contexts *t, uint64_t now_mono_ns)
{
	/* The list is in the order of the latest context: the stale ones lead. */
	while (t->oldest && now_mono_ns >= t->oldest->last_mono + HTTP2_STREAM_CONTEXT_TTL_NS)
		ring_drop(t, t->oldest);
}

size_t http2_stream_contexts_conns(const struct http2_stream_contexts *t)
{
	return t->conns.count;
}
