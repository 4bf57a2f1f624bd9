// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* conn_registry.c - followed connections by id, and how they end. */
#include <stdlib.h>
#include <string.h>

#include "assembly/conn_registry.h"

int conn_registry_init(struct conn_registry *r, size_t buckets, size_t conn_size,
		       const struct conn_registry_ops *ops, void *owner)
{
	memset(r, 0, sizeof(*r));
	r->conn_size = conn_size;
	r->ops = ops;
	r->owner = owner;
	return u64_map_init(&r->conns, buckets);
}

static int destroy_entry(uint64_t key, void *value, void *arg)
{
	const struct conn_registry *r = arg;

	(void)key;
	r->ops->destroy(value);
	return 1;
}

void conn_registry_free(struct conn_registry *r)
{
	u64_map_visit(&r->conns, destroy_entry, r);
	u64_map_free(&r->conns);
}

struct conn_entry *conn_registry_open(struct conn_registry *r, const struct kspan_data_event *ev)
{
	struct conn_entry *c = calloc(1, r->conn_size);

	if (!c)
		return NULL;
	c->conn_id = ev->conn_id;
	c->tgid = ev->hdr.tgid;
	c->role = ev->role;
	c->tuple = ev->tuple;
	c->last_event_mono = ev->hdr.ts_ns;
	if (r->ops->init(r->owner, c) || u64_map_put(&r->conns, c->conn_id, c)) {
		r->ops->destroy(c);
		return NULL;
	}
	return c;
}

struct conn_entry *conn_registry_get(const struct conn_registry *r, uint64_t conn_id)
{
	return u64_map_get(&r->conns, conn_id);
}

struct conn_entry *conn_registry_take(struct conn_registry *r, uint64_t conn_id)
{
	return u64_map_remove(&r->conns, conn_id);
}

size_t conn_registry_count(const struct conn_registry *r)
{
	return r->conns.count;
}

struct registry_visit {
	const struct conn_registry *r;
	uint32_t tgid;
	uint64_t ts;
};

static int end_if_of_process(uint64_t key, void *value, void *arg)
{
	const struct registry_visit *v = arg;
	struct conn_entry *c = value;

	(void)key;
	if (c->tgid != v->tgid)
		return 0;
	v->r->ops->end(v->r->owner, c, v->ts);
	v->r->ops->destroy(c);
	return 1;
}

void conn_registry_end_process(struct conn_registry *r, uint32_t tgid, uint64_t ts_ns)
{
	struct registry_visit v = {.r = r, .tgid = tgid, .ts = ts_ns};

	u64_map_visit(&r->conns, end_if_of_process, &v);
}

static int tick_entry(uint64_t key, void *value, void *arg)
{
	const struct registry_visit *v = arg;
	const struct conn_registry_ops *ops = v->r->ops;
	struct conn_entry *c = value;

	(void)key;
	if (ops->tick(v->r->owner, c, v->ts) || v->ts < c->last_event_mono + CONN_FORGET_NS)
		return 0;
	ops->destroy(c);
	return 1;
}

void conn_registry_tick(struct conn_registry *r, uint64_t now_mono)
{
	struct registry_visit v = {.r = r, .ts = now_mono};

	u64_map_visit(&r->conns, tick_entry, &v);
}

static int shut_down_entry(uint64_t key, void *value, void *arg)
{
	const struct conn_registry *r = arg;

	(void)key;
	r->ops->end(r->owner, value, CONN_SHUTDOWN);
	r->ops->destroy(value);
	return 1;
}

void conn_registry_shutdown(struct conn_registry *r)
{
	u64_map_visit(&r->conns, shut_down_entry, r);
}
