// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_prometheus_text.c - metric snapshots in the Prometheus text format
 * and OpenMetrics, named per the OpenTelemetry-to-Prometheus mapping:
 * _seconds unit suffix, cumulative _bucket/_sum/_count, dots in label names
 * to underscores, job/instance from the resource and target_info, the
 * overflow label, OpenMetrics counter families without _total, exemplars.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/prometheus_text.h"

static char *render(struct metric_store *s, bool openmetrics)
{
	struct metric_snapshot snap;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(metric_store_collect(s, false, 1, &snap), 0);
	prometheus_write_metrics(&snap, f, openmetrics);
	fclose(f);
	metric_snapshot_free(&snap);
	return buf;
}

static void assert_has_line(const char *text, const char *line)
{
	const char *p = text;
	size_t n = strlen(line);
	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return;
		p++;
	}
	fail_msg("no line\n  %s\nin\n%s", line, text);
}

static struct resource *shop(void)
{
	struct resource *r = resource_new(4242);
	r->service_name = strdup("shop");
	attribute_list_add_str(&r->attrs, "service.name", "shop");
	attribute_list_add_str(&r->attrs, "host.name", "node1");
	attribute_list_add_int(&r->attrs, "process.pid", 4242);
	return r;
}

static void histogram_in_text_format(void **state)
{
	struct agent_stats stats = {0};
	struct metric_store s;
	struct metric_attrs a = {0};
	struct resource *r = shop();
	struct exemplar ex = {.time_unix_ns = 1700000000123456789ull, .value = 0.2};
	(void)state;
	memset(ex.trace_id, 0xab, 16);
	memset(ex.span_id, 0xcd, 8);
	metric_attrs_add_str(&a, "http.route", "/say \"hi\"\\");
	metric_attrs_add_int(&a, "http.response.status_code", 200);
	assert_int_equal(metric_store_init(&s, 2000, 0, &stats), 0);
	metric_store_record(&s, r, METRIC_HTTP_SERVER_DURATION, &a, 0.2, &ex, 1);
	metric_store_record(&s, r, METRIC_HTTP_SERVER_DURATION, &a, 3, NULL, 1);
	char *t = render(&s, false);
#define L                                                                                          \
	"job=\"shop\",instance=\"node1:4242\",http_route=\"/say "                                  \
	"\\\"hi\\\"\\\\\",http_response_status_code=\"200\""
	assert_has_line(t, "# TYPE http_server_request_duration_seconds histogram");
	assert_has_line(t, "http_server_request_duration_seconds_bucket{" L ",le=\"0.1\"} 0");
	assert_has_line(t, "http_server_request_duration_seconds_bucket{" L ",le=\"0.25\"} 1");
	assert_has_line(t, "http_server_request_duration_seconds_bucket{" L ",le=\"2.5\"} 1");
	/* every le a float, as OpenMetrics wants it (Prometheus reads both) */
	assert_has_line(t, "http_server_request_duration_seconds_bucket{" L ",le=\"5.0\"} 2");
	assert_has_line(t, "http_server_request_duration_seconds_bucket{" L ",le=\"+Inf\"} 2");
	assert_has_line(t, "http_server_request_duration_seconds_sum{" L "} 3.2");
	assert_has_line(t, "http_server_request_duration_seconds_count{" L "} 2");
	assert_has_line(t, "# TYPE target_info gauge");
	assert_has_line(t, "target_info{job=\"shop\",instance=\"node1:4242\",service_name=\"shop\","
			   "host_name=\"node1\",process_pid=\"4242\"} 1");
	assert_null(strstr(t, "# {")); /* no exemplars in the text format */
	free(t);

	t = render(&s, true);
	assert_has_line(t, "# TYPE target info");
	assert_has_line(t, "# UNIT http_server_request_duration_seconds seconds");
	assert_has_line(t, "http_server_request_duration_seconds_bucket{" L ",le=\"0.25\"} 1 "
			   "# {trace_id=\"abababababababababababababababab\","
			   "span_id=\"cdcdcdcdcdcdcdcd\"} 0.2 1700000000.123456789");
	assert_has_line(t, "http_server_request_duration_seconds_bucket{" L ",le=\"+Inf\"} 2");
#undef L
	free(t);
	metric_store_free(&s);
	resource_unref(r);
}

static void counters_and_overflow(void **state)
{
	struct agent_stats stats = {0};
	struct metric_store s;
	struct metric_attrs a = {0}, b = {0};
	(void)state;
	metric_attrs_add_str(&a, "client", "curl");
	metric_attrs_add_str(&a, "server", "shop");
	metric_attrs_add_str(&b, "client", "wget");
	metric_attrs_add_str(&b, "server", "shop");
	assert_int_equal(metric_store_init(&s, 2, 0, &stats), 0);
	metric_store_record(&s, NULL, METRIC_SERVICE_GRAPH_REQUESTS, &a, 0, NULL, 1);
	metric_store_record(&s, NULL, METRIC_SERVICE_GRAPH_REQUESTS, &b, 0, NULL, 1);
	metric_store_record(&s, NULL, METRIC_SERVICE_GRAPH_REQUESTS, &b, 0, NULL, 1);
	char *t = render(&s, false);
	assert_has_line(t, "# TYPE traces_service_graph_request_total counter");
	assert_has_line(t, "traces_service_graph_request_total{client=\"curl\",server=\"shop\"} 1");
	assert_has_line(t, "traces_service_graph_request_total{otel_metric_overflow=\"true\"} 2");
	assert_null(strstr(t, "target_info"));
	free(t);
	t = render(&s, true);
	assert_has_line(t, "# TYPE traces_service_graph_request counter");
	assert_has_line(t, "traces_service_graph_request_total{client=\"curl\",server=\"shop\"} 1");
	free(t);
	metric_store_free(&s);
}

static void names(void **state)
{
	char out[64];
	(void)state;
	prometheus_name("http.response.status_code", out, sizeof(out));
	assert_string_equal(out, "http_response_status_code");
	prometheus_name("k8s.pod-uid", out, sizeof(out));
	assert_string_equal(out, "k8s_pod_uid");
	prometheus_name("2xx", out, sizeof(out));
	assert_string_equal(out, "_2xx");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(histogram_in_text_format),
	    cmocka_unit_test(counters_and_overflow),
	    cmocka_unit_test(names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
