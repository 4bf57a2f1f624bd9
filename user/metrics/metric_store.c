// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* metric_store.c - metric streams by (resource, metric, attributes). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metric_store.h"

const struct metric_desc metric_descs[METRIC_COUNT] = {
    [METRIC_HTTP_SERVER_DURATION] = {"http.server.request.duration", "s",
				     "Duration of HTTP server requests.",
				     "http_server_request_duration_seconds", false,
				     semconv_duration_bounds, SEMCONV_DURATION_BOUNDS},
    [METRIC_HTTP_CLIENT_DURATION] = {"http.client.request.duration", "s",
				     "Duration of HTTP client requests.",
				     "http_client_request_duration_seconds", false,
				     semconv_duration_bounds, SEMCONV_DURATION_BOUNDS},
    [METRIC_RPC_SERVER_DURATION] = {"rpc.server.call.duration", "s",
				    "Measures the duration of inbound remote procedure calls.",
				    "rpc_server_call_duration_seconds", false,
				    semconv_duration_bounds, SEMCONV_DURATION_BOUNDS},
    [METRIC_RPC_CLIENT_DURATION] = {"rpc.client.call.duration", "s",
				    "Measures the duration of outbound remote procedure calls.",
				    "rpc_client_call_duration_seconds", false,
				    semconv_duration_bounds, SEMCONV_DURATION_BOUNDS},
    /* Named as the collector's servicegraph connector names them. */
    [METRIC_SERVICE_GRAPH_REQUESTS] = {"traces_service_graph_request_total", "1",
				       "Requests between two services (service graph edge).",
				       "traces_service_graph_request_total", true, NULL, 0},
    [METRIC_SERVICE_GRAPH_FAILED] = {"traces_service_graph_request_failed_total", "1",
				     "Failed requests between two services (service graph edge).",
				     "traces_service_graph_request_failed_total", true, NULL, 0},
    [METRIC_SERVICE_GRAPH_SERVER_SECONDS] = {"traces_service_graph_request_server_seconds", "s",
					     "Server-side duration of requests between two "
					     "services (service graph edge).",
					     "traces_service_graph_request_server_seconds", false,
					     service_graph_bounds, SERVICE_GRAPH_BOUNDS},
    [METRIC_SERVICE_GRAPH_CLIENT_SECONDS] = {"traces_service_graph_request_client_seconds", "s",
					     "Client-side duration of requests between two "
					     "services (service graph edge).",
					     "traces_service_graph_request_client_seconds", false,
					     service_graph_bounds, SERVICE_GRAPH_BOUNDS},
};

void metric_attrs_add_strn(struct metric_attrs *s, const char *key, const char *str, size_t len)
{
	if (!str || s->n >= METRIC_ATTRS_MAX)
		return;
	s->a[s->n++] = (struct metric_attr){.key = key, .str = str, .len = len};
}

void metric_attrs_add_str(struct metric_attrs *s, const char *key, const char *str)
{
	metric_attrs_add_strn(s, key, str, str ? strlen(str) : 0);
}

void metric_attrs_add_int(struct metric_attrs *s, const char *key, int64_t i)
{
	if (s->n >= METRIC_ATTRS_MAX)
		return;
	s->a[s->n++] = (struct metric_attr){.key = key, .i = i};
}

/* The last n (< 8) bytes as one word, read with whole loads: a word built
 * byte by byte in memory stalls the load that follows (store forwarding). */
static inline uint64_t tail_word(const char *p, size_t n)
{
	uint32_t lo, hi;

	if (n >= 4) {
		memcpy(&lo, p, 4);
		memcpy(&hi, p + n - 4, 4);
		return lo | (uint64_t)hi << 32;
	}
	if (!n)
		return 0;
	return (uint8_t)p[0] | (uint64_t)(uint8_t)p[n / 2] << 8 | (uint64_t)(uint8_t)p[n - 1] << 16;
}

/* Eight bytes at a time through u64_mix: the hash runs for every request.
 * Equal strings hash alike; attrs_equal() decides. */
static uint64_t hash_bytes(uint64_t h, const char *p, size_t n)
{
	uint64_t w;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = u64_mix(h ^ w);
	}
	return u64_mix(h ^ tail_word(p, n) ^ ((uint64_t)n << 56));
}

/* The values only: one metric always adds its keys in the same order, and
 * attrs_equal() compares the keys too. */
static uint64_t stream_hash(const struct resource *res, enum metric_id id,
			    const struct metric_attrs *a, bool overflow)
{
	uint64_t h = u64_mix((uint64_t)(uintptr_t)res ^ ((uint64_t)id << 1 | overflow) ^ a->n << 8);

	for (size_t i = 0; i < a->n; i++)
		h = a->a[i].str ? hash_bytes(h, a->a[i].str, a->a[i].len)
				: u64_mix(h ^ (uint64_t)a->a[i].i);
	return h;
}

static bool attrs_equal(const struct metric_attrs *x, const struct metric_attrs *y)
{
	if (x->n != y->n)
		return false;
	for (size_t i = 0; i < x->n; i++) {
		const struct metric_attr *a = &x->a[i], *b = &y->a[i];
		/* keys are literals: mostly the same pointer */
		if ((a->key != b->key && strcmp(a->key, b->key)) || !a->str != !b->str)
			return false;
		if (a->str ? a->len != b->len || memcmp(a->str, b->str, a->len) != 0 : a->i != b->i)
			return false;
	}
	return true;
}

int metric_store_init(struct metric_store *s, uint32_t cardinality_limit, uint64_t now_unix_ns,
		      struct agent_stats *stats)
{
	memset(s, 0, sizeof(*s));
	s->n_buckets = 256;
	s->buckets = calloc(s->n_buckets, sizeof(*s->buckets));
	if (!s->buckets || u64_map_init(&s->sets, 64)) {
		free(s->buckets);
		return -ENOMEM;
	}
	/* One regular set and the overflow set at least. */
	s->cardinality_limit = cardinality_limit < 2 ? 2 : cardinality_limit;
	s->last_delta_unix_ns = now_unix_ns;
	s->stats = stats;
	pthread_mutex_init(&s->lock, NULL);
	return 0;
}

static void stream_free(struct metric_stream *st)
{
	for (size_t i = 0; i < st->attrs.n; i++)
		free((char *)st->attrs.a[i].str);
	if (st->resource)
		resource_unref(st->resource);
	free(st);
}

void metric_store_free(struct metric_store *s)
{
	if (!s->buckets)
		return;
	for (size_t b = 0; b < s->n_buckets; b++) {
		struct metric_stream *st = s->buckets[b];
		while (st) {
			struct metric_stream *next = st->hash_next;
			stream_free(st);
			st = next;
		}
	}
	free(s->buckets);
	u64_map_free(&s->sets);
	pthread_mutex_destroy(&s->lock);
	memset(s, 0, sizeof(*s));
}

static void grow(struct metric_store *s)
{
	size_t n = s->n_buckets * 2;
	struct metric_stream **b = calloc(n, sizeof(*b));
	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < s->n_buckets; i++) {
		struct metric_stream *st = s->buckets[i];
		while (st) {
			struct metric_stream *next = st->hash_next;
			st->hash_next = b[st->hash & (n - 1)];
			b[st->hash & (n - 1)] = st;
			st = next;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->n_buckets = n;
}

static struct metric_stream *find(struct metric_store *s, uint64_t h, const struct resource *res,
				  enum metric_id id, const struct metric_attrs *a, bool overflow)
{
	for (struct metric_stream *st = s->buckets[h & (s->n_buckets - 1)]; st; st = st->hash_next)
		if (st->hash == h && st->resource == res && st->id == id &&
		    st->overflow == overflow && attrs_equal(&st->attrs, a))
			return st;
	return NULL;
}

static struct metric_stream *add(struct metric_store *s, uint64_t h, struct resource *res,
				 enum metric_id id, const struct metric_attrs *a, bool overflow,
				 uint64_t now_unix_ns)
{
	struct metric_stream *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->attrs = *a;
	for (size_t i = 0; i < a->n; i++) {
		if (a->a[i].str && !(st->attrs.a[i].str = strndup(a->a[i].str, a->a[i].len))) {
			st->attrs.n = i;
			stream_free(st);
			return NULL;
		}
	}
	st->hash = h;
	st->seq = s->next_seq++;
	st->resource = res ? resource_ref(res) : NULL;
	st->id = id;
	st->overflow = overflow;
	st->start_unix_ns = now_unix_ns;
	st->hash_next = s->buckets[h & (s->n_buckets - 1)];
	s->buckets[h & (s->n_buckets - 1)] = st;
	if (++s->count > s->n_buckets)
		grow(s);
	STAT_SET(s->stats, metric_sets, s->count);
	return st;
}

/* Pointers from malloc are 16-byte aligned: the low bits hold the metric. */
static uint64_t sets_key(const struct resource *res, enum metric_id id)
{
	return (uint64_t)(uintptr_t)res ^ (uint64_t)id;
}

static struct metric_stream *stream_for(struct metric_store *s, struct resource *res,
					enum metric_id id, const struct metric_attrs *attrs,
					uint64_t now_unix_ns)
{
	static const struct metric_attrs none;
	uint64_t h = stream_hash(res, id, attrs, false);
	struct metric_stream *st = find(s, h, res, id, attrs, false);
	if (st)
		return st;
	uint64_t key = sets_key(res, id);
	uintptr_t sets = (uintptr_t)u64_map_get(&s->sets, key);
	if (sets + 1 < s->cardinality_limit) {
		st = add(s, h, res, id, attrs, false, now_unix_ns);
		if (st && u64_map_put(&s->sets, key, (void *)(sets + 1)) == 0)
			return st;
		if (st)
			return st; /* uncounted: the limit is then approximate */
		return NULL;
	}
	STAT_INC(s->stats, metric_measurements_overflowed);
	h = stream_hash(res, id, &none, true);
	st = find(s, h, res, id, &none, true);
	return st ? st : add(s, h, res, id, &none, true, now_unix_ns);
}

int metric_store_record(struct metric_store *s, struct resource *res, enum metric_id id,
			const struct metric_attrs *attrs, double value, const struct exemplar *ex,
			uint64_t now_unix_ns)
{
	const struct metric_desc *d = &metric_descs[id];

	pthread_mutex_lock(&s->lock);
	struct metric_stream *st = stream_for(s, res, id, attrs, now_unix_ns);
	if (st) {
		st->last_unix_ns = now_unix_ns;
		if (d->counter)
			st->cumulative.count++;
		else
			histogram_record(&st->cumulative, d->bounds, d->n_bounds, value, ex);
	}
	pthread_mutex_unlock(&s->lock);
	if (!st) {
		STAT_INC(s->stats, metric_measurements_dropped);
		return -ENOMEM;
	}
	return 0;
}

static int point_order(const void *a, const void *b)
{
	const struct metric_stream *x = ((const struct metric_point *)a)->stream;
	const struct metric_stream *y = ((const struct metric_point *)b)->stream;
	uintptr_t rx = (uintptr_t)x->resource, ry = (uintptr_t)y->resource;
	if (rx != ry)
		return rx < ry ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int metric_store_collect(struct metric_store *s, bool delta, uint64_t now_unix_ns,
			 struct metric_snapshot *out)
{
	memset(out, 0, sizeof(*out));
	out->delta = delta;
	out->store = s;
	pthread_mutex_lock(&s->lock);
	out->points = calloc(s->count ? s->count : 1, sizeof(*out->points));
	if (!out->points) {
		pthread_mutex_unlock(&s->lock);
		return -ENOMEM;
	}
	uint64_t since = s->last_delta_unix_ns;
	for (size_t b = 0; b < s->n_buckets; b++) {
		for (struct metric_stream *st = s->buckets[b]; st; st = st->hash_next) {
			struct metric_point *p = &out->points[out->n];
			p->stream = st;
			p->time_unix_ns = now_unix_ns;
			if (!delta) {
				p->h = st->cumulative;
				p->start_unix_ns = st->start_unix_ns;
				out->n++;
				continue;
			}
			if (st->cumulative.count == st->at_last_delta.count)
				continue;
			histogram_delta(&st->cumulative, &st->at_last_delta, since, &p->h);
			st->at_last_delta = st->cumulative;
			p->start_unix_ns = st->start_unix_ns > since ? st->start_unix_ns : since;
			out->n++;
		}
	}
	if (delta) {
		s->last_delta_unix_ns = now_unix_ns;
		s->delta_reader = true;
	}
	s->snapshots++;
	pthread_mutex_unlock(&s->lock);
	qsort(out->points, out->n, sizeof(*out->points), point_order);
	return 0;
}

void metric_snapshot_free(struct metric_snapshot *snap)
{
	if (snap->store) {
		pthread_mutex_lock(&snap->store->lock);
		snap->store->snapshots--;
		pthread_mutex_unlock(&snap->store->lock);
	}
	free(snap->points);
	memset(snap, 0, sizeof(*snap));
}

static bool removable(const struct metric_store *s, const struct metric_stream *st,
		      uint64_t now_unix_ns, uint64_t idle_ns)
{
	if (now_unix_ns < st->last_unix_ns || now_unix_ns - st->last_unix_ns < idle_ns)
		return false;
	return !s->delta_reader || st->cumulative.count == st->at_last_delta.count;
}

void metric_store_remove_idle(struct metric_store *s, uint64_t now_unix_ns, uint64_t idle_ns)
{
	uint64_t removed = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t b = 0; b < s->n_buckets && !s->snapshots; b++) {
		struct metric_stream **link = &s->buckets[b];
		while (*link) {
			struct metric_stream *st = *link;
			if (!removable(s, st, now_unix_ns, idle_ns)) {
				link = &st->hash_next;
				continue;
			}
			*link = st->hash_next;
			if (!st->overflow) {
				uint64_t key = sets_key(st->resource, st->id);
				uintptr_t sets = (uintptr_t)u64_map_get(&s->sets, key);
				if (sets > 1)
					u64_map_put(&s->sets, key, (void *)(sets - 1));
				else
					u64_map_remove(&s->sets, key);
			}
			stream_free(st);
			s->count--;
			removed++;
		}
	}
	pthread_mutex_unlock(&s->lock);
	STAT_ADD(s->stats, metric_sets_idle_removed, removed);
	STAT_SET(s->stats, metric_sets, s->count);
}
