// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_span_metrics.c - which metric and attributes a span gives
 * (semantic conventions' HTTP and RPC metrics), the route from kspan's path
 * template, exemplars only from exported spans, and service-graph edges from
 * a client span and the server span under it, in either order; the route
 * of a span assembly named is its name's template, the same text as
 * templating url.path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "assembly/http_naming.h"
#include "assembly/http_span.h"
#include "metrics/span_metrics.h"

struct fixture {
	struct agent_stats stats;
	struct metric_store store;
	struct span_metrics sm;
	struct resource *res;
};

static int setup(void **state)
{
	struct fixture *f = test_calloc(1, sizeof(*f));
	assert_int_equal(metric_store_init(&f->store, 2000, 0, &f->stats), 0);
	assert_int_equal(span_metrics_init(&f->sm, &f->store, &f->stats), 0);
	f->res = resource_new(42);
	f->res->service_name = strdup("shop");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	span_metrics_free(&f->sm);
	metric_store_free(&f->store);
	resource_unref(f->res);
	test_free(f);
	return 0;
}

static struct span *http_span(struct fixture *f, enum span_kind kind, const char *path, int status,
			      uint64_t ms)
{
	struct span *s = span_new();
	s->kind = kind;
	s->start_unix_ns = 1000000000;
	s->end_unix_ns = s->start_unix_ns + ms * 1000000;
	s->resource = resource_ref(f->res);
	span_random_id(s->trace_id, 16);
	span_random_id(s->span_id, 8);
	attribute_list_add_str(&s->attrs, "http.request.method", "GET");
	attribute_list_add_str(&s->attrs, "url.scheme", "http");
	attribute_list_add_str(&s->attrs, "url.path", path);
	attribute_list_add_str(&s->attrs, "network.protocol.version", "1.1");
	attribute_list_add_str(&s->attrs, "server.address", "10.0.0.7");
	attribute_list_add_int(&s->attrs, "server.port", 8080);
	attribute_list_add_int(&s->attrs, "http.response.status_code", status);
	if (status >= 500 || (kind == SPAN_KIND_CLIENT && status >= 400)) {
		char code[8];
		snprintf(code, sizeof(code), "%d", status);
		s->status_code = SPAN_STATUS_ERROR;
		attribute_list_add_str(&s->attrs, "error.type", code);
	}
	return s;
}

static const struct metric_attr *attr(const struct metric_stream *st, const char *key)
{
	for (size_t i = 0; i < st->attrs.n; i++)
		if (!strcmp(st->attrs.a[i].key, key))
			return &st->attrs.a[i];
	return NULL;
}

static struct metric_snapshot collect(struct fixture *f)
{
	struct metric_snapshot snap;
	assert_int_equal(metric_store_collect(&f->store, false, 2000000000, &snap), 0);
	return snap;
}

static void server_span_attributes_and_route(void **state)
{
	struct fixture *f = *state;
	struct span *s = http_span(f, SPAN_KIND_SERVER, "/users/12345/orders", 500, 30);
	span_metrics_record(&f->sm, s, true, 0);
	struct metric_snapshot snap = collect(f);
	assert_int_equal(snap.n, 1);
	const struct metric_stream *st = snap.points[0].stream;
	assert_int_equal(st->id, METRIC_HTTP_SERVER_DURATION);
	assert_ptr_equal(st->resource, f->res);
	assert_string_equal(attr(st, "http.route")->str, "/users/{id}/orders");
	assert_string_equal(attr(st, "http.request.method")->str, "GET");
	assert_string_equal(attr(st, "url.scheme")->str, "http");
	assert_string_equal(attr(st, "network.protocol.version")->str, "1.1");
	assert_int_equal(attr(st, "http.response.status_code")->i, 500);
	assert_string_equal(attr(st, "error.type")->str, "500");
	/* the server's own address is not an attribute of server metrics */
	assert_null(attr(st, "server.address"));
	assert_null(attr(st, "url.path"));
	assert_int_equal(snap.points[0].h.counts[3], 1); /* 0.03 s: (0.025, 0.05] */
	/* exported: its ids are the bucket's exemplar */
	assert_memory_equal(snap.points[0].h.exemplars[3].span_id, s->span_id, 8);
	assert_memory_equal(snap.points[0].h.exemplars[3].trace_id, s->trace_id, 16);
	metric_snapshot_free(&snap);
	span_unref(s);
}

static void client_span_and_unexported_spans(void **state)
{
	struct fixture *f = *state;
	struct span *s = http_span(f, SPAN_KIND_CLIENT, "/x", 200, 2);
	span_metrics_record(&f->sm, s, false, 0);
	struct metric_snapshot snap = collect(f);
	assert_int_equal(snap.n, 1);
	const struct metric_stream *st = snap.points[0].stream;
	assert_int_equal(st->id, METRIC_HTTP_CLIENT_DURATION);
	assert_string_equal(attr(st, "server.address")->str, "10.0.0.7");
	assert_int_equal(attr(st, "server.port")->i, 8080);
	assert_null(attr(st, "http.route"));
	assert_null(attr(st, "error.type"));
	assert_int_equal(snap.points[0].h.count, 1);
	/* not exported: no exemplar */
	assert_int_equal(snap.points[0].h.exemplars[0].time_unix_ns, 0);
	metric_snapshot_free(&snap);
	span_unref(s);
}

static void grpc_span_gives_rpc_metric(void **state)
{
	struct fixture *f = *state;
	struct span *s = http_span(f, SPAN_KIND_SERVER, "/shop.Cart/Add", 200, 1);
	attribute_list_add_str(&s->attrs, "rpc.system", "grpc");
	attribute_list_add_str(&s->attrs, "rpc.service", "shop.Cart");
	attribute_list_add_str(&s->attrs, "rpc.method", "Add");
	attribute_list_add_int(&s->attrs, "rpc.grpc.status_code", 5);
	span_metrics_record(&f->sm, s, true, 0);
	struct metric_snapshot snap = collect(f);
	assert_int_equal(snap.n, 1);
	const struct metric_stream *st = snap.points[0].stream;
	assert_int_equal(st->id, METRIC_RPC_SERVER_DURATION);
	assert_string_equal(attr(st, "rpc.system")->str, "grpc");
	assert_string_equal(attr(st, "rpc.service")->str, "shop.Cart");
	assert_string_equal(attr(st, "rpc.method")->str, "Add");
	assert_int_equal(attr(st, "rpc.grpc.status_code")->i, 5);
	assert_null(attr(st, "http.route"));
	metric_snapshot_free(&snap);
	span_unref(s);
}

static uint64_t metric_total(const struct metric_snapshot *snap, enum metric_id id)
{
	uint64_t n = 0;
	for (size_t i = 0; i < snap->n; i++)
		if (snap->points[i].stream->id == id)
			n += snap->points[i].h.count;
	return n;
}

static void service_graph_pairs_either_order(void **state)
{
	struct fixture *f = *state;
	struct resource *backend = resource_new(43);
	backend->service_name = strdup("backend");
	for (int order = 0; order < 2; order++) {
		struct span *c = http_span(f, SPAN_KIND_CLIENT, "/x", order ? 503 : 200, 20);
		struct span *s = http_span(f, SPAN_KIND_SERVER, "/x", order ? 503 : 200, 10);
		resource_unref(s->resource);
		s->resource = resource_ref(backend);
		memcpy(s->trace_id, c->trace_id, 16);
		memcpy(s->parent_span_id, c->span_id, 8);
		span_metrics_record(&f->sm, order ? s : c, true, 0);
		span_metrics_record(&f->sm, order ? c : s, true, 0);
		span_unref(c);
		span_unref(s);
	}
	struct metric_snapshot snap = collect(f);
	assert_int_equal(metric_total(&snap, METRIC_SERVICE_GRAPH_REQUESTS), 2);
	assert_int_equal(metric_total(&snap, METRIC_SERVICE_GRAPH_FAILED), 1);
	for (size_t i = 0; i < snap.n; i++) {
		const struct metric_point *p = &snap.points[i];
		if (p->stream->id == METRIC_SERVICE_GRAPH_REQUESTS) {
			assert_null(p->stream->resource);
			assert_string_equal(attr(p->stream, "client")->str, "shop");
			assert_string_equal(attr(p->stream, "server")->str, "backend");
		}
		if (p->stream->id == METRIC_SERVICE_GRAPH_SERVER_SECONDS)
			assert_int_equal(p->h.counts[4], 2); /* 10 ms: (8 ms, 10 ms] */
		if (p->stream->id == METRIC_SERVICE_GRAPH_CLIENT_SECONDS)
			assert_int_equal(p->h.counts[5], 2); /* 20 ms: (10 ms, 50 ms] */
	}
	assert_int_equal(f->sm.waiting.count, 0);
	metric_snapshot_free(&snap);
	resource_unref(backend);
}

static void lone_side_expires_counted(void **state)
{
	struct fixture *f = *state;
	struct span *c = http_span(f, SPAN_KIND_CLIENT, "/x", 200, 1);
	span_metrics_record(&f->sm, c, true, NS_PER_SEC);
	span_metrics_tick(&f->sm, NS_PER_SEC + SERVICE_GRAPH_WAIT_NS - 1, 0);
	assert_int_equal(f->stats.service_graph_unpaired, 0);
	span_metrics_tick(&f->sm, NS_PER_SEC + SERVICE_GRAPH_WAIT_NS, 0);
	assert_int_equal(f->stats.service_graph_unpaired, 1);
	assert_int_equal(f->sm.waiting.count, 0);
	span_unref(c);
}

/* A server span named by assembly (http_span_add_request) carries its
 * path template in its name (name_route), which the metrics reuse; a span
 * named again (span_set_name, as gRPC does) has none, and its route is
 * templated from url.path. Both give the route of the old templating: cut
 * at 255 bytes, so one stream counts both. */
static void route_from_span_name_or_path(void **state)
{
	struct fixture *f = *state;
	static const struct kspan_conn_tuple tuple = {
	    .family = KSPAN_AF_INET,
	    .local_addr = {127, 0, 0, 1},
	    .remote_addr = {127, 0, 0, 1},
	    .local_port = 8080,
	    .remote_port = 54321,
	};
	char path[400], want[256];
	struct span *s[2];

	strcpy(path, "/users/12345/");
	memset(path + strlen(path), 'x', 300);
	path[13 + 300] = '\0';
	http_path_template(path, strlen(path), want, sizeof(want));
	assert_int_equal(strlen(want), 255);
	struct http_request_view req = {
	    .method = {"GET", 3},
	    .target = {path, strlen(path)},
	    .protocol_version = "1.1",
	};
	for (int i = 0; i < 2; i++) {
		s[i] = http_span_new(SPAN_KIND_SERVER, 1, f->res, 1000000000, 0);
		http_span_add_request(s[i], &req, &tuple, NULL, false);
		s[i]->end_unix_ns = s[i]->start_unix_ns + 1000000;
	}
	assert_int_equal(s[0]->name_route, 4);
	assert_memory_equal(s[0]->name, "GET /users/{id}/xxx", 19);
	span_set_name(s[1], "renamed");
	assert_int_equal(s[1]->name_route, 0);
	for (int i = 0; i < 2; i++) {
		span_metrics_record(&f->sm, s[i], false, 0);
		span_unref(s[i]);
	}
	struct metric_snapshot snap = collect(f);
	assert_int_equal(snap.n, 1);
	assert_int_equal(snap.points[0].h.count, 2);
	assert_string_equal(attr(snap.points[0].stream, "http.route")->str, want);
	metric_snapshot_free(&snap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(server_span_attributes_and_route, setup, teardown),
	    cmocka_unit_test_setup_teardown(route_from_span_name_or_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(client_span_and_unexported_spans, setup, teardown),
	    cmocka_unit_test_setup_teardown(grpc_span_gives_rpc_metric, setup, teardown),
	    cmocka_unit_test_setup_teardown(service_graph_pairs_either_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(lone_side_expires_counted, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
