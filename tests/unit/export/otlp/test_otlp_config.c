// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_otlp_config.c - the OTLP exporter's configuration from the OTEL_*
 * environment variables (protocol/exporter.md).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "model/agent_stats.h"
#include "lib/clock.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "export/otlp/otlp_encoder.h"
#include "export/otlp/otlp_exporter.h"
#include "export/otlp/otlp_json.h"
#include "model/span.h"

#include "support/otlp_test_data.h"

static const char *header_value(const struct otlp_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_headers; i++)
		if (strcasecmp(cfg->headers[i].name, name) == 0)
			return cfg->headers[i].value;
	return NULL;
}

static void test_config_defaults(void **state)
{
	(void)state;
	struct otlp_config cfg;
	assert_int_equal(otlp_config_from_env(&cfg, NULL), 0);
	assert_string_equal(cfg.endpoint, "http://localhost:4318/v1/traces");
	assert_int_equal(cfg.n_headers, 0);
	assert_int_equal(cfg.compression, OTLP_COMPRESSION_NONE);
	assert_int_equal(cfg.timeout_ms, 10000);
	assert_int_equal(cfg.schedule_delay_ms, 5000);
	assert_int_equal(cfg.export_timeout_ms, 30000);
	assert_int_equal(cfg.max_queue_size, 32768);
	assert_int_equal(cfg.max_export_batch_size, 512);
	assert_int_equal(cfg.protocol, OTLP_PROTOCOL_HTTP_PROTOBUF);
	assert_int_equal(cfg.queue_max_bytes, 32u << 20);
	assert_int_equal(cfg.retry_initial_ms, 1000);
	assert_int_equal(cfg.retry_max_ms, 30000);
	assert_int_equal(cfg.retry_max_elapsed_ms, 300000);
	assert_null(cfg.certificate);
	assert_int_equal(cfg.attr_value_limit, 0);
	otlp_config_free(&cfg);
	setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "100", 1);
	assert_int_equal(otlp_config_from_env(&cfg, NULL), 0);
	assert_int_equal(cfg.attr_value_limit, 100);
	otlp_config_free(&cfg);
	setenv("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "7", 1);
	assert_int_equal(otlp_config_from_env(&cfg, NULL), 0);
	assert_int_equal(cfg.attr_value_limit, 7);
	otlp_config_free(&cfg);
}

static void assert_endpoint(const char *override, const char *want);

static void test_config_grpc(void **state)
{
	(void)state;
	struct otlp_config cfg;
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", 1);
	assert_int_equal(otlp_config_from_env(&cfg, NULL), 0);
	assert_int_equal(cfg.protocol, OTLP_PROTOCOL_GRPC);
	assert_string_equal(cfg.endpoint, "http://localhost:4317");
	otlp_config_free(&cfg);
	/* No /v1/traces for gRPC; no scheme means TLS unless INSECURE. */
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317", 1);
	assert_endpoint(NULL, "http://collector:4317");
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317", 1);
	assert_endpoint(NULL, "https://collector:4317");
	setenv("OTEL_EXPORTER_OTLP_INSECURE", "true", 1);
	assert_endpoint(NULL, "http://collector:4317");
	setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json", 1);
	setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/ca.pem", 1);
	assert_int_equal(otlp_config_from_env(&cfg, "http://c:4318"), 0);
	assert_int_equal(cfg.protocol, OTLP_PROTOCOL_HTTP_JSON);
	assert_string_equal(cfg.endpoint, "http://c:4318/v1/traces");
	assert_string_equal(cfg.certificate, "/etc/ca.pem");
	struct otlp_config copy;
	assert_int_equal(otlp_config_copy(&copy, &cfg), 0);
	assert_string_equal(copy.certificate, "/etc/ca.pem");
	otlp_config_free(&copy);
	otlp_config_free(&cfg);
	setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "thrift", 1);
	assert_int_equal(otlp_config_from_env(&cfg, "http://c:4318"), 0);
	assert_int_equal(cfg.protocol, OTLP_PROTOCOL_HTTP_PROTOBUF);
	otlp_config_free(&cfg);
}

static void assert_endpoint(const char *override, const char *want)
{
	struct otlp_config cfg;
	assert_int_equal(otlp_config_from_env(&cfg, override), 0);
	assert_string_equal(cfg.endpoint, want);
	otlp_config_free(&cfg);
}

static void test_config_endpoint(void **state)
{
	(void)state;
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", 1);
	assert_endpoint(NULL, "http://collector:4318/v1/traces");
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318/", 1);
	assert_endpoint(NULL, "https://collector:4318/v1/traces");
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://gw/otlp", 1);
	assert_endpoint(NULL, "http://gw/otlp/v1/traces");

	/* An empty variable is unset, so the general one still applies. */
	setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "", 1);
	assert_endpoint(NULL, "http://gw/otlp/v1/traces");
	/* The traces variable wins and is used as-is, no path added. */
	setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:9999/custom", 1);
	assert_endpoint(NULL, "http://traces:9999/custom");
	setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:9999", 1);
	assert_endpoint(NULL, "http://traces:9999");

	/* The command line wins over both; only a path-less URL gets /v1/traces. */
	assert_endpoint("http://cli:4318", "http://cli:4318/v1/traces");
	assert_endpoint("http://cli:4318/", "http://cli:4318/v1/traces");
	assert_endpoint("http://cli:4318/v1/traces", "http://cli:4318/v1/traces");
	assert_endpoint("https://cli/ingest", "https://cli/ingest");

	struct otlp_config cfg;
	assert_int_equal(otlp_config_from_env(&cfg, "ftp://cli/x"), -EINVAL);
	assert_null(cfg.endpoint);
	setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "collector:4318", 1);
	assert_int_equal(otlp_config_from_env(&cfg, NULL), -EINVAL);
	setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://", 1);
	assert_int_equal(otlp_config_from_env(&cfg, NULL), -EINVAL);
}

static void test_config_headers(void **state)
{
	(void)state;
	setenv("OTEL_EXPORTER_OTLP_HEADERS",
	       "api-key=secret%20value, x-tenant = a%2Cb ,novalue,bad name=1,"
	       "Authorization=Basic%20dXNlcjpwYXNz,x-inject=a%0d%0aEvil: 1,x-pct=100%,,",
	       1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "X-Tenant=override,x-empty=", 1);
	struct otlp_config cfg;
	assert_int_equal(otlp_config_from_env(&cfg, NULL), 0);
	assert_int_equal(cfg.n_headers, 5);
	assert_string_equal(header_value(&cfg, "api-key"), "secret value");
	/* Same name (any case) in the traces variable replaces the general one. */
	assert_string_equal(header_value(&cfg, "x-tenant"), "override");
	assert_string_equal(header_value(&cfg, "Authorization"), "Basic dXNlcjpwYXNz");
	/* A '%' without two hex digits stays as it is. */
	assert_string_equal(header_value(&cfg, "x-pct"), "100%");
	assert_string_equal(header_value(&cfg, "x-empty"), "");
	/* No "=", a space in the name, CR LF in the value: skipped. */
	assert_null(header_value(&cfg, "novalue"));
	assert_null(header_value(&cfg, "bad name"));
	assert_null(header_value(&cfg, "x-inject"));
	otlp_config_free(&cfg);

	setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "", 1);
	setenv("OTEL_EXPORTER_OTLP_HEADERS", "k=a%2Cb%3Dc", 1);
	assert_int_equal(otlp_config_from_env(&cfg, NULL), 0);
	assert_int_equal(cfg.n_headers, 1);
	assert_string_equal(header_value(&cfg, "k"), "a,b=c");
	otlp_config_free(&cfg);
}

static void test_config_numbers_and_compression(void **state)
{
	(void)state;
	struct otlp_config cfg;
	/* Invalid values fall back to the spec defaults. */
	setenv("OTEL_BSP_MAX_QUEUE_SIZE", "abc", 1);
	setenv("OTEL_BSP_SCHEDULE_DELAY", "-5", 1);
	setenv("OTEL_BSP_EXPORT_TIMEOUT", "12x", 1);
	setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "0", 1);
	setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "99999999999999999999", 1);
	setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli", 1);
	assert_int_equal(otlp_config_from_env(&cfg, NULL), 0);
	assert_int_equal(cfg.max_queue_size, 32768);
	assert_int_equal(cfg.schedule_delay_ms, 5000);
	assert_int_equal(cfg.export_timeout_ms, 30000);
	assert_int_equal(cfg.max_export_batch_size, 512);
	assert_int_equal(cfg.timeout_ms, 10000);
	assert_int_equal(cfg.compression, OTLP_COMPRESSION_NONE);
	otlp_config_free(&cfg);

	/* Valid values are used; the traces variables win over the general ones. */
	setenv("OTEL_BSP_MAX_QUEUE_SIZE", " 100 ", 1);
	setenv("OTEL_BSP_SCHEDULE_DELAY", "0", 1);
	setenv("OTEL_BSP_EXPORT_TIMEOUT", "1234", 1);
	setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "200", 1);
	setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1500", 1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2500", 1);
	setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "none", 1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "GZIP", 1);
	assert_int_equal(otlp_config_from_env(&cfg, NULL), 0);
	assert_int_equal(cfg.max_queue_size, 100);
	assert_int_equal(cfg.schedule_delay_ms, 0);
	assert_int_equal(cfg.export_timeout_ms, 1234);
	/* A batch larger than the queue is cut to the queue size. */
	assert_int_equal(cfg.max_export_batch_size, 100);
	assert_int_equal(cfg.timeout_ms, 2500);
	assert_int_equal(cfg.compression, OTLP_COMPRESSION_GZIP);
	otlp_config_free(&cfg);

	setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "", 1);
	assert_int_equal(otlp_config_from_env(&cfg, NULL), 0);
	assert_int_equal(cfg.timeout_ms, 1500);
	otlp_config_free(&cfg);
}

static void assert_metrics_endpoint(const char *override, const char *want)
{
	struct otlp_config cfg;
	assert_int_equal(otlp_config_from_env_for(&cfg, override, OTLP_SIGNAL_METRICS), 0);
	assert_int_equal(cfg.signal, OTLP_SIGNAL_METRICS);
	assert_string_equal(cfg.endpoint, want);
	otlp_config_free(&cfg);
}

/* The metrics signal: its own variables, /v1/metrics, the general ones below. */
static void test_config_metrics_signal(void **state)
{
	struct otlp_config cfg;
	(void)state;
	assert_metrics_endpoint(NULL, "http://localhost:4318/v1/metrics");
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", 1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:1/t", 1);
	assert_metrics_endpoint(NULL, "http://collector:4318/v1/metrics");
	/* --otlp-endpoint: a base gets /v1/metrics, a traces URL its sibling */
	assert_metrics_endpoint("http://cli:4318", "http://cli:4318/v1/metrics");
	assert_metrics_endpoint("http://cli:4318/v1/traces", "http://cli:4318/v1/metrics");
	assert_metrics_endpoint("http://cli/otlp/v1/traces", "http://cli/otlp/v1/metrics");
	assert_metrics_endpoint("http://cli/ingest", "http://cli/ingest/v1/metrics");
	/* the signal's own variable wins, as-is */
	setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://metrics:9/m", 1);
	assert_metrics_endpoint("http://cli:4318", "http://metrics:9/m");

	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", 1);
	setenv("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc", 1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip", 1);
	setenv("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x-m=1", 1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-t=1", 1);
	setenv("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "1234", 1);
	assert_int_equal(otlp_config_from_env_for(&cfg, NULL, OTLP_SIGNAL_METRICS), 0);
	assert_int_equal(cfg.protocol, OTLP_PROTOCOL_GRPC);
	assert_int_equal(cfg.compression, OTLP_COMPRESSION_NONE);
	assert_int_equal(cfg.n_headers, 1);
	assert_string_equal(cfg.headers[0].name, "x-m");
	assert_int_equal(cfg.timeout_ms, 1234);
	otlp_config_free(&cfg);
	/* and the traces keep theirs */
	assert_int_equal(otlp_config_from_env(&cfg, NULL), 0);
	assert_int_equal(cfg.protocol, OTLP_PROTOCOL_HTTP_JSON);
	assert_int_equal(cfg.compression, OTLP_COMPRESSION_GZIP);
	assert_string_equal(cfg.headers[0].name, "x-t");
	assert_string_equal(cfg.endpoint, "http://traces:1/t");
	otlp_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_config_defaults, clear_otel_env),
	    cmocka_unit_test_setup(test_config_endpoint, clear_otel_env),
	    cmocka_unit_test_setup(test_config_headers, clear_otel_env),
	    cmocka_unit_test_setup(test_config_numbers_and_compression, clear_otel_env),
	    cmocka_unit_test_setup(test_config_grpc, clear_otel_env),
	    cmocka_unit_test_setup(test_config_metrics_signal, clear_otel_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
