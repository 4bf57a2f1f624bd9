// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_otlp_metrics_encoder.c - metric snapshots to ExportMetricsServiceRequest,
 * read back with protobuf-c: resources, histogram points (bounds, counts, sum,
 * min/max only when cumulative), exemplars, counters as monotonic Sums, the
 * overflow attribute, the temporality; and the same in OTLP JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "export/otlp/otlp_metrics_encoder.h"

typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest Request;
#define M(x) OPENTELEMETRY__PROTO__METRICS__V1__##x

struct fixture {
	struct agent_stats stats;
	struct metric_store store;
	struct resource *res;
};

static int setup(void **state)
{
	struct fixture *f = test_calloc(1, sizeof(*f));
	struct metric_attrs a = {0}, edge = {0};
	struct exemplar ex = {.time_unix_ns = 77, .value = 0.03};

	memset(ex.trace_id, 0x11, 16);
	memset(ex.span_id, 0x22, 8);
	f->res = resource_new(7);
	attribute_list_add_str(&f->res->attrs, "service.name", "shop");
	assert_int_equal(metric_store_init(&f->store, 2, 5, &f->stats), 0);
	metric_attrs_add_str(&a, "http.route", "/a");
	metric_attrs_add_int(&a, "http.response.status_code", 200);
	metric_store_record(&f->store, f->res, METRIC_HTTP_SERVER_DURATION, &a, 0.03, &ex, 10);
	metric_store_record(&f->store, f->res, METRIC_HTTP_SERVER_DURATION, &a, 0.2, NULL, 11);
	a.a[0].str = "/b"; /* over the limit of 2: the overflow set */
	metric_store_record(&f->store, f->res, METRIC_HTTP_SERVER_DURATION, &a, 0.2, NULL, 12);
	metric_attrs_add_str(&edge, "client", "curl");
	metric_attrs_add_str(&edge, "server", "shop");
	metric_store_record(&f->store, NULL, METRIC_SERVICE_GRAPH_REQUESTS, &edge, 0, NULL, 13);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	metric_store_free(&f->store);
	resource_unref(f->res);
	test_free(f);
	return 0;
}

static Request *encode(struct fixture *f, bool delta)
{
	struct metric_snapshot snap;
	uint8_t *buf;
	size_t len;
	assert_int_equal(metric_store_collect(&f->store, delta, 100, &snap), 0);
	assert_int_equal(otlp_encode_metrics(&snap, false, &buf, &len), 0);
	metric_snapshot_free(&snap);
	Request *r =
	    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
		NULL, len, buf);
	free(buf);
	assert_non_null(r);
	return r;
}

static void request_free(Request *r)
{
	opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
	    r, NULL);
}

static void cumulative_request(void **state)
{
	struct fixture *f = *state;
	Request *r = encode(f, false);

	/* the service graph (no resource) and the process */
	assert_int_equal(r->n_resource_metrics, 2);
	Opentelemetry__Proto__Metrics__V1__ResourceMetrics *graph = r->resource_metrics[0],
							   *proc = r->resource_metrics[1];
	assert_null(graph->resource);
	assert_int_equal(graph->n_scope_metrics, 1);
	assert_string_equal(graph->scope_metrics[0]->scope->name, "kspan");
	Opentelemetry__Proto__Metrics__V1__Metric *edge = graph->scope_metrics[0]->metrics[0];
	assert_string_equal(edge->name, "traces_service_graph_request_total");
	assert_int_equal(edge->data_case, M(METRIC__DATA_SUM));
	assert_true(edge->sum->is_monotonic);
	assert_int_equal(edge->sum->aggregation_temporality,
			 M(AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE));
	assert_int_equal(edge->sum->data_points[0]->as_int, 1);
	assert_int_equal(edge->sum->data_points[0]->n_attributes, 2);

	assert_string_equal(proc->resource->attributes[0]->value->string_value, "shop");
	assert_int_equal(proc->scope_metrics[0]->n_metrics, 1);
	Opentelemetry__Proto__Metrics__V1__Metric *m = proc->scope_metrics[0]->metrics[0];
	assert_string_equal(m->name, "http.server.request.duration");
	assert_string_equal(m->unit, "s");
	assert_int_equal(m->data_case, M(METRIC__DATA_HISTOGRAM));
	assert_int_equal(m->histogram->n_data_points, 2);
	Opentelemetry__Proto__Metrics__V1__HistogramDataPoint *p = m->histogram->data_points[0],
							      *o = m->histogram->data_points[1];
	assert_int_equal(p->start_time_unix_nano, 10);
	assert_int_equal(p->time_unix_nano, 100);
	assert_int_equal(p->count, 2);
	assert_int_equal(p->n_explicit_bounds, 14);
	assert_true(p->explicit_bounds[13] == 10);
	assert_int_equal(p->n_bucket_counts, 15);
	assert_int_equal(p->bucket_counts[3], 1);
	assert_int_equal(p->bucket_counts[6], 1);
	assert_int_equal(p->_sum_case, M(HISTOGRAM_DATA_POINT___SUM_SUM));
	assert_int_equal(p->_min_case, M(HISTOGRAM_DATA_POINT___MIN_MIN));
	assert_true(p->min == 0.03 && p->max == 0.2);
	assert_int_equal(p->n_exemplars, 1);
	assert_int_equal(p->exemplars[0]->trace_id.len, 16);
	assert_int_equal(p->exemplars[0]->trace_id.data[0], 0x11);
	assert_int_equal(p->exemplars[0]->span_id.len, 8);
	assert_int_equal(p->exemplars[0]->span_id.data[7], 0x22);
	assert_true(p->exemplars[0]->as_double == 0.03);
	assert_int_equal(p->exemplars[0]->time_unix_nano, 77);
	/* the overflow point */
	assert_int_equal(o->count, 1);
	assert_int_equal(o->n_attributes, 1);
	assert_string_equal(o->attributes[0]->key, "otel.metric.overflow");
	assert_true(o->attributes[0]->value->bool_value);
	request_free(r);
}

static void delta_request_has_no_min_max(void **state)
{
	struct fixture *f = *state;
	Request *r = encode(f, true);
	Opentelemetry__Proto__Metrics__V1__Metric *m =
	    r->resource_metrics[1]->scope_metrics[0]->metrics[0];
	assert_int_equal(m->histogram->aggregation_temporality,
			 M(AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_DELTA));
	assert_int_equal(m->histogram->data_points[0]->_min_case,
			 M(HISTOGRAM_DATA_POINT___MIN__NOT_SET));
	assert_int_equal(m->histogram->data_points[0]->start_time_unix_nano, 10);
	request_free(r);
	/* nothing new: an empty request */
	r = encode(f, true);
	assert_int_equal(r->n_resource_metrics, 0);
	request_free(r);
}

static void json_request(void **state)
{
	struct fixture *f = *state;
	struct metric_snapshot snap;
	uint8_t *buf;
	size_t len;
	assert_int_equal(metric_store_collect(&f->store, false, 100, &snap), 0);
	assert_int_equal(otlp_encode_metrics(&snap, true, &buf, &len), 0);
	metric_snapshot_free(&snap);
	char *s = (char *)buf;
	assert_non_null(strstr(s, "\"resourceMetrics\""));
	assert_non_null(strstr(s, "\"traceId\":\"11111111111111111111111111111111\""));
	assert_non_null(strstr(s, "\"spanId\":\"2222222222222222\""));
	assert_non_null(strstr(s, "\"aggregationTemporality\":2"));
	assert_non_null(strstr(s, "\"asInt\":\"1\""));
	assert_non_null(strstr(s, "\"bucketCounts\":[\"0\",\"0\",\"0\",\"1\""));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(cumulative_request, setup, teardown),
	    cmocka_unit_test_setup_teardown(delta_request_has_no_min_max, setup, teardown),
	    cmocka_unit_test_setup_teardown(json_request, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
