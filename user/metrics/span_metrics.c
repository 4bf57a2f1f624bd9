// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* span_metrics.c - spans to RED metrics and service-graph edges. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assembly/http_naming.h"
#include "metrics/span_metrics.h"

/* One side of a same-node call, waiting for the other. */
struct graph_side {
	enum span_kind kind;
	uint8_t trace_id[16];
	struct resource *resource; /* counted reference (its service), or NULL */
	double seconds;
	bool failed;
	uint64_t since_mono_ns;
};

static int free_side(uint64_t key, void *value, void *arg)
{
	struct graph_side *g = value;
	(void)key;
	(void)arg;
	resource_unref(g->resource);
	free(g);
	return 1;
}

void span_metrics_free(struct span_metrics *m)
{
	if (!m->waiting.buckets)
		return;
	u64_map_visit(&m->waiting, free_side, NULL);
	u64_map_free(&m->waiting);
}

/* The span attributes the metrics read, found in one pass over the span's
 * list (this runs for every request). */
enum span_field {
	F_METHOD,
	F_STATUS,
	F_SCHEME,
	F_PROTOCOL_VERSION,
	F_PATH,
	F_SERVER_ADDRESS,
	F_SERVER_PORT,
	F_ERROR_TYPE,
	F_RPC_SYSTEM,
	F_RPC_SERVICE,
	F_RPC_METHOD,
	F_GRPC_STATUS,
	F_COUNT,
};

/* Keys with their lengths: a span's attribute carries its key's length, so
 * most keys are ruled out without reading them. */
#define FIELD(id, key) [id] = {key, sizeof(key) - 1}
static const struct {
	const char *key;
	uint32_t len;
} fields[F_COUNT] = {
    FIELD(F_METHOD, "http.request.method"),
    FIELD(F_STATUS, "http.response.status_code"),
    FIELD(F_SCHEME, "url.scheme"),
    FIELD(F_PROTOCOL_VERSION, "network.protocol.version"),
    FIELD(F_PATH, "url.path"),
    FIELD(F_SERVER_ADDRESS, "server.address"),
    FIELD(F_SERVER_PORT, "server.port"),
    FIELD(F_ERROR_TYPE, "error.type"),
    FIELD(F_RPC_SYSTEM, "rpc.system"),
    FIELD(F_RPC_SERVICE, "rpc.service"),
    FIELD(F_RPC_METHOD, "rpc.method"),
    FIELD(F_GRPC_STATUS, "rpc.grpc.status_code"),
};

int span_metrics_init(struct span_metrics *m, struct metric_store *store, struct agent_stats *stats)
{
	memset(m, 0, sizeof(*m));
	_Static_assert(F_COUNT <= 16, "fields_of_len holds a bit per field");
	for (int k = 0; k < F_COUNT; k++) {
		if (fields[k].len >= SPAN_METRICS_KEY_LEN_MAX)
			return -EINVAL; /* raise SPAN_METRICS_KEY_LEN_MAX (the unit tests fail) */
		m->fields_of_len[fields[k].len] |= (uint16_t)(1u << k);
	}
	m->store = store;
	m->stats = stats;
	return u64_map_init(&m->waiting, 256);
}

struct span_view {
	const struct span *s;
	const struct attribute *f[F_COUNT];
};

static void view_span(const struct span_metrics *m, struct span_view *v, const struct span *s)
{
	memset(v, 0, sizeof(*v));
	v->s = s;
	for (size_t i = 0; i < s->attrs.count; i++) {
		const struct attribute *a = &s->attrs.items[i];
		unsigned maybe =
		    a->key_len < SPAN_METRICS_KEY_LEN_MAX ? m->fields_of_len[a->key_len] : 0;
		for (; maybe; maybe &= maybe - 1) {
			int k = __builtin_ctz(maybe);
			/* keys are literals, which the linker merges: mostly the
			 * same pointer */
			if (!v->f[k] && (a->key == fields[k].key ||
					 memcmp(a->key, fields[k].key, fields[k].len) == 0)) {
				v->f[k] = a;
				break;
			}
		}
	}
}

static const struct attribute *field_string(const struct span_view *v, enum span_field k)
{
	return v->f[k] && v->f[k]->type == ATTR_STRING ? v->f[k] : NULL;
}

/* A span's strings hold no NUL (model/span.h: made valid UTF-8, a NUL
 * replaced), so str_len is the C string's length. */
static void add_str_field(struct metric_attrs *out, const struct span_view *v, enum span_field k)
{
	const struct attribute *a = field_string(v, k);
	if (a)
		metric_attrs_add_strn(out, fields[k].key, a->str, a->str_len);
}

static void add_int_field(struct metric_attrs *out, const struct span_view *v, enum span_field k)
{
	if (v->f[k] && v->f[k]->type == ATTR_INT)
		metric_attrs_add_int(out, fields[k].key, v->f[k]->i);
}

/* error.type: the span's own (a status code, a transport error), else
 * "_OTHER" as the conventions say when no better value is known. */
static void add_error_type(struct metric_attrs *out, const struct span_view *v)
{
	if (v->s->status_code != SPAN_STATUS_ERROR)
		return;
	if (field_string(v, F_ERROR_TYPE))
		add_str_field(out, v, F_ERROR_TYPE);
	else
		metric_attrs_add_strn(out, "error.type", "_OTHER", 6);
}

static void rpc_attrs(struct metric_attrs *out, const struct span_view *v)
{
	add_str_field(out, v, F_RPC_SYSTEM);
	add_str_field(out, v, F_RPC_SERVICE);
	add_str_field(out, v, F_RPC_METHOD);
	add_int_field(out, v, F_GRPC_STATUS);
	if (v->s->kind == SPAN_KIND_CLIENT) {
		add_str_field(out, v, F_SERVER_ADDRESS);
		add_int_field(out, v, F_SERVER_PORT);
	}
	add_error_type(out, v);
}

static void http_attrs(struct metric_attrs *out, const struct span_view *v, char *route,
		       size_t route_size)
{
	add_str_field(out, v, F_METHOD);
	add_int_field(out, v, F_STATUS);
	add_str_field(out, v, F_SCHEME);
	add_str_field(out, v, F_PROTOCOL_VERSION);
	if (v->s->kind == SPAN_KIND_SERVER) {
		const struct attribute *p = field_string(v, F_PATH);
		if (p && v->s->name_route) {
			/* the name's route is this template of url.path, cut
			 * longer: the same text, templated once */
			const char *r = v->s->name + v->s->name_route;
			metric_attrs_add_strn(out, "http.route", r, strnlen(r, route_size - 1));
		} else if (p) {
			http_path_template(p->str, p->str_len, route, route_size);
			metric_attrs_add_str(out, "http.route", route);
		}
	} else {
		add_str_field(out, v, F_SERVER_ADDRESS);
		add_int_field(out, v, F_SERVER_PORT);
	}
	add_error_type(out, v);
}

static double span_seconds(const struct span *s)
{
	return s->end_unix_ns > s->start_unix_ns ? (double)(s->end_unix_ns - s->start_unix_ns) / 1e9
						 : 0.0;
}

static void record_red(struct span_metrics *m, const struct span *s, bool exported)
{
	struct metric_attrs attrs = {0};
	struct span_view v;
	char route[256];
	enum metric_id id;
	bool server = s->kind == SPAN_KIND_SERVER;

	view_span(m, &v, s);
	if (field_string(&v, F_RPC_SYSTEM)) {
		id = server ? METRIC_RPC_SERVER_DURATION : METRIC_RPC_CLIENT_DURATION;
		rpc_attrs(&attrs, &v);
	} else if (field_string(&v, F_METHOD)) {
		id = server ? METRIC_HTTP_SERVER_DURATION : METRIC_HTTP_CLIENT_DURATION;
		http_attrs(&attrs, &v, route, sizeof(route));
	} else {
		return;
	}
	struct exemplar ex = {.time_unix_ns = s->end_unix_ns, .value = span_seconds(s)};
	memcpy(ex.trace_id, s->trace_id, sizeof(ex.trace_id));
	memcpy(ex.span_id, s->span_id, sizeof(ex.span_id));
	metric_store_record(m->store, s->resource, id, &attrs, ex.value, exported ? &ex : NULL,
			    s->end_unix_ns);
}

static uint64_t id_key(const uint8_t *id)
{
	uint64_t k;
	memcpy(&k, id, sizeof(k));
	return k;
}

static const char *service_of(const struct resource *r)
{
	return r && r->service_name ? r->service_name : "unknown_service";
}

static void count_edge(struct span_metrics *m, const struct graph_side *client,
		       const struct graph_side *server, uint64_t now_unix_ns)
{
	struct metric_attrs a = {0};
	metric_attrs_add_str(&a, "client", service_of(client->resource));
	metric_attrs_add_str(&a, "server", service_of(server->resource));
	metric_store_record(m->store, NULL, METRIC_SERVICE_GRAPH_REQUESTS, &a, 0, NULL,
			    now_unix_ns);
	if (client->failed || server->failed)
		metric_store_record(m->store, NULL, METRIC_SERVICE_GRAPH_FAILED, &a, 0, NULL,
				    now_unix_ns);
	metric_store_record(m->store, NULL, METRIC_SERVICE_GRAPH_SERVER_SECONDS, &a,
			    server->seconds, NULL, now_unix_ns);
	metric_store_record(m->store, NULL, METRIC_SERVICE_GRAPH_CLIENT_SECONDS, &a,
			    client->seconds, NULL, now_unix_ns);
}

/* The client span's id is the server span's parent id: the key of both. */
static void record_graph(struct span_metrics *m, const struct span *s, uint64_t now_mono_ns)
{
	bool server = s->kind == SPAN_KIND_SERVER;
	if ((!server && s->kind != SPAN_KIND_CLIENT) || (server && !span_has_parent(s)))
		return;
	struct graph_side me = {.kind = s->kind,
				.resource = s->resource,
				.seconds = span_seconds(s),
				.failed = s->status_code == SPAN_STATUS_ERROR,
				.since_mono_ns = now_mono_ns};
	memcpy(me.trace_id, s->trace_id, sizeof(me.trace_id));
	uint64_t key = id_key(server ? s->parent_span_id : s->span_id);
	struct graph_side *other = u64_map_get(&m->waiting, key);
	if (other && other->kind != me.kind && !memcmp(other->trace_id, me.trace_id, 16)) {
		u64_map_remove(&m->waiting, key);
		count_edge(m, server ? other : &me, server ? &me : other, s->end_unix_ns);
		free_side(0, other, NULL);
		return;
	}
	if (other || m->waiting.count >= SERVICE_GRAPH_MAX_WAITING) {
		STAT_INC(m->stats, service_graph_unpaired);
		return;
	}
	struct graph_side *g = malloc(sizeof(*g));
	if (!g)
		return;
	*g = me;
	g->resource = me.resource ? resource_ref(me.resource) : NULL;
	if (u64_map_put(&m->waiting, key, g))
		free_side(0, g, NULL);
}

void span_metrics_record(struct span_metrics *m, const struct span *s, bool exported,
			 uint64_t now_mono_ns)
{
	record_red(m, s, exported);
	record_graph(m, s, now_mono_ns);
}

struct expiry {
	uint64_t now;
	uint64_t expired;
};

static int expire_side(uint64_t key, void *value, void *arg)
{
	struct graph_side *g = value;
	struct expiry *e = arg;
	if (e->now - g->since_mono_ns < SERVICE_GRAPH_WAIT_NS)
		return 0;
	e->expired++;
	return free_side(key, value, NULL);
}

void span_metrics_tick(struct span_metrics *m, uint64_t now_mono_ns, uint64_t now_unix_ns)
{
	struct expiry e = {.now = now_mono_ns};
	u64_map_visit(&m->waiting, expire_side, &e);
	STAT_ADD(m->stats, service_graph_unpaired, e.expired);
	if (now_mono_ns >= m->next_idle_check_ns) {
		metric_store_remove_idle(m->store, now_unix_ns, METRIC_STREAM_IDLE_NS);
		m->next_idle_check_ns = now_mono_ns + 60 * NS_PER_SEC;
	}
}
