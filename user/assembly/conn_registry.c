// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* conn_registry.c - followed connections by id, how they end, and their bound. */
#include <stdlib.h>
#include <string.h>

#include "assembly/conn_registry.h"

void conn_budget_init(struct conn_budget *b, size_t max, uint64_t forget_ns,
		      struct agent_stats *stats)
{
	memset(b, 0, sizeof(*b));
	b->max = max ? max : CONN_MAX_DEFAULT;
	b->forget_ns = forget_ns ? forget_ns : CONN_FORGET_NS_DEFAULT;
	b->stats = stats;
}

/* --- the activity list ---------------------------------------------------- */

static void budget_append(struct conn_budget *b, struct conn_entry *c)
{
	c->older = b->newest;
	c->newer = NULL;
	if (b->newest)
		b->newest->newer = c;
	else
		b->oldest = c;
	b->newest = c;
	b->count++;
}

static void budget_unlink(struct conn_budget *b, struct conn_entry *c)
{
	if (c->older)
		c->older->newer = c->newer;
	else
		b->oldest = c->newer;
	if (c->newer)
		c->newer->older = c->older;
	else
		b->newest = c->older;
	c->older = c->newer = NULL;
	b->count--;
}

/* Out of the registry's map and the budget's list: its owner frees it. */
static void entry_unlink(struct conn_registry *r, struct conn_entry *c)
{
	u64_map_remove(&r->conns, c->conn_id);
	budget_unlink(r->budget, c);
}

/* --- the registry --------------------------------------------------------- */

int conn_registry_init(struct conn_registry *r, size_t buckets, size_t conn_size,
		       const struct conn_registry_ops *ops, void *owner, struct conn_budget *budget)
{
	memset(r, 0, sizeof(*r));
	r->conn_size = conn_size;
	r->ops = ops;
	r->owner = owner;
	r->budget = budget;
	return u64_map_init(&r->conns, buckets);
}

static int destroy_entry(uint64_t key, void *value, void *arg)
{
	struct conn_registry *r = arg;

	(void)key;
	budget_unlink(r->budget, value);
	r->ops->destroy(value);
	return 1;
}

void conn_registry_free(struct conn_registry *r)
{
	u64_map_visit(&r->conns, destroy_entry, r);
	u64_map_free(&r->conns);
}

/* The connection is no longer followed (CONN_FORGOTTEN): what began ends,
 * what waits is dropped, then it is freed. */
static void forget(struct conn_entry *c)
{
	struct conn_registry *r = c->registry;

	entry_unlink(r, c);
	r->ops->end(r->owner, c, CONN_FORGOTTEN);
	r->ops->destroy(c);
}

struct conn_entry *conn_registry_open(struct conn_registry *r, const struct kspan_data_event *ev)
{
	struct conn_budget *b = r->budget;
	struct conn_entry *c;

	/* The new connection cannot be the one evicted: it is not in yet. */
	while (b->count >= b->max && b->oldest) {
		if (b->stats)
			STAT_INC(b->stats, conns_evicted);
		forget(b->oldest);
	}
	c = calloc(1, r->conn_size);
	if (!c)
		return NULL;
	c->conn_id = ev->conn_id;
	c->tgid = ev->hdr.tgid;
	c->role = ev->role;
	c->tls = (ev->flags & KSPAN_DATA_F_TLS) != 0;
	c->tuple = ev->tuple;
	c->last_event_mono = ev->hdr.ts_ns;
	c->registry = r;
	if (r->ops->init(r->owner, c) || u64_map_put(&r->conns, c->conn_id, c)) {
		r->ops->destroy(c);
		return NULL;
	}
	budget_append(b, c);
	return c;
}

struct conn_entry *conn_registry_get(const struct conn_registry *r, uint64_t conn_id)
{
	return u64_map_get(&r->conns, conn_id);
}

void conn_registry_touch(struct conn_registry *r, struct conn_entry *c, uint64_t ts_ns)
{
	c->last_event_mono = ts_ns;
	if (r->budget->newest == c)
		return;
	budget_unlink(r->budget, c);
	budget_append(r->budget, c);
}

struct conn_entry *conn_registry_take(struct conn_registry *r, uint64_t conn_id)
{
	struct conn_entry *c = u64_map_remove(&r->conns, conn_id);

	if (c)
		budget_unlink(r->budget, c);
	return c;
}

size_t conn_registry_count(const struct conn_registry *r)
{
	return r->conns.count;
}

struct registry_visit {
	struct conn_registry *r;
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
	budget_unlink(v->r->budget, c);
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
	struct conn_registry *r = v->r;
	struct conn_entry *c = value;

	(void)key;
	r->ops->tick(r->owner, c, v->ts);
	if (v->ts < c->last_event_mono + r->budget->forget_ns)
		return 0;
	/* Silent that long: its close was lost, or it idles past any server's
	 * keep-alive. Requests still open end as CONN_FORGOTTEN says. */
	if (r->budget->stats)
		STAT_INC(r->budget->stats, conns_expired);
	budget_unlink(r->budget, c);
	r->ops->end(r->owner, c, CONN_FORGOTTEN);
	r->ops->destroy(c);
	return 1;
}

void conn_registry_tick(struct conn_registry *r, uint64_t now_mono)
{
	struct registry_visit v = {.r = r, .ts = now_mono};

	u64_map_visit(&r->conns, tick_entry, &v);
}

static int shut_down_entry(uint64_t key, void *value, void *arg)
{
	struct conn_registry *r = arg;

	(void)key;
	budget_unlink(r->budget, value);
	r->ops->end(r->owner, value, CONN_SHUTDOWN);
	r->ops->destroy(value);
	return 1;
}

void conn_registry_shutdown(struct conn_registry *r)
{
	u64_map_visit(&r->conns, shut_down_entry, r);
}
