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
	uint32_t tgid;
	uint32_t next; /* slot the next context goes to */
	struct kspan_h2_stream_event slots[CTX_RING_SIZE];
};

int http2_stream_contexts_init(struct http2_stream_contexts *t)
{
	return u64_map_init(&t->conns, 64);
}

static int free_ring(uint64_t key, void *value, void *arg)
{
	(void)key;
	(void)arg;
	free(value);
	return 1;
}

void http2_stream_contexts_free(struct http2_stream_contexts *t)
{
	u64_map_visit(&t->conns, free_ring, NULL);
	u64_map_free(&t->conns);
}

void http2_stream_contexts_put(struct http2_stream_contexts *t,
			       const struct kspan_h2_stream_event *ev)
{
	struct h2_ctx_ring *r = u64_map_get(&t->conns, ev->conn_id);

	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return;
		if (u64_map_put(&t->conns, ev->conn_id, r)) {
			free(r);
			return;
		}
		r->tgid = ev->hdr.tgid;
	}
	r->slots[r->next++ & (CTX_RING_SIZE - 1)] = *ev;
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
		return true;
	}
	return false;
}

void http2_stream_contexts_forget_conn(struct http2_stream_contexts *t, uint64_t conn_id)
{
	free(u64_map_remove(&t->conns, conn_id));
}

static int forget_if_process(uint64_t key, void *value, void *arg)
{
	const struct h2_ctx_ring *r = value;

	(void)key;
	if (r->tgid != *(const uint32_t *)arg)
		return 0;
	free(value);
	return 1;
}

void http2_stream_contexts_forget_process(struct http2_stream_contexts *t, uint32_t tgid)
{
	u64_map_visit(&t->conns, forget_if_process, &tgid);
}
