/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * otlp_test_data.h - what the OTLP unit tests share: spans and resources to
 * encode, the generated protobuf-c types to read the encoding back with, an
 * export response to answer with, and an environment without OTEL_*
 * variables. Include after <cmocka.h>.
 */
#ifndef KSPAN_TEST_OTLP_TEST_DATA_H
#define KSPAN_TEST_OTLP_TEST_DATA_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/span.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest ExportRequest;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse ExportResponse;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess PartialSuccess;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans ResourceSpans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans ScopeSpans;
typedef Opentelemetry__Proto__Trace__V1__Span Span;
typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;

#define response_packed_size                                                                       \
	opentelemetry__proto__collector__trace__v1__export_trace_service_response__get_packed_size
#define response_pack                                                                              \
	opentelemetry__proto__collector__trace__v1__export_trace_service_response__pack
#define ANY_CASE(name) OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_##name

static inline ExportRequest *unpack_request(const uint8_t *buf, size_t len)
{
	ExportRequest *req =
	    opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
		NULL, len, buf);
	assert_non_null(req);
	return req;
}

static inline void free_request(ExportRequest *req)
{
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
	    req, NULL);
}

static inline const AnyValue *find_value(KeyValue *const *kvs, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(kvs[i]->key, key) == 0)
			return kvs[i]->value;
	fail_msg("attribute %s missing", key);
	return NULL;
}

static inline void assert_str_value(KeyValue *const *kvs, size_t n, const char *key,
				    const char *want)
{
	const AnyValue *v = find_value(kvs, n, key);
	assert_non_null(v);
	assert_int_equal(v->value_case, ANY_CASE(STRING_VALUE));
	assert_string_equal(v->string_value, want);
}

static inline void fill_bytes(uint8_t *b, size_t n, uint8_t first)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(first + i);
}

static inline struct resource *make_resource(uint32_t pid, const char *service)
{
	struct resource *r = resource_new(pid);
	assert_non_null(r);
	r->service_name = strdup(service);
	assert_int_equal(attribute_list_add_str(&r->attrs, "service.name", service), 0);
	assert_int_equal(attribute_list_add_int(&r->attrs, "process.pid", pid), 0);
	return r;
}

static inline struct span *make_span(struct resource *r, const char *name, enum span_kind kind,
				     uint8_t id_seed)
{
	struct span *s = span_new();
	assert_non_null(s);
	fill_bytes(s->trace_id, sizeof(s->trace_id), 0xa0);
	fill_bytes(s->span_id, sizeof(s->span_id), id_seed);
	assert_int_equal(span_set_name(s, name), 0);
	s->kind = kind;
	s->start_unix_ns = 1700000000123456789ull + id_seed;
	s->end_unix_ns = s->start_unix_ns + 2500000;
	s->resource = resource_ref(r);
	return s;
}

static inline uint8_t *pack_response(int64_t rejected, const char *msg, size_t *len)
{
	ExportResponse resp =
	    OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
	PartialSuccess ps =
	    OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
	ps.rejected_spans = rejected;
	ps.error_message = (char *)msg;
	resp.partial_success = &ps;
	*len = response_packed_size(&resp);
	uint8_t *buf = malloc(*len);
	response_pack(&resp, buf);
	return buf;
}

/* Every variable otlp_config reads: unset before each test that reads it. */
static const char *const otel_vars[] = {
    "OTEL_EXPORTER_OTLP_ENDPOINT",	 "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",	 "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_COMPRESSION",	 "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
    "OTEL_EXPORTER_OTLP_TIMEOUT",	 "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_BSP_SCHEDULE_DELAY",		 "OTEL_BSP_EXPORT_TIMEOUT",
    "OTEL_BSP_MAX_QUEUE_SIZE",		 "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_EXPORTER_OTLP_PROTOCOL",	 "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_INSECURE",	 "OTEL_EXPORTER_OTLP_TRACES_INSECURE",
    "OTEL_EXPORTER_OTLP_CERTIFICATE",	 "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
    "KSPAN_OTLP_QUEUE_MAX_BYTES",	 "KSPAN_OTLP_RETRY_INITIAL_INTERVAL",
    "KSPAN_OTLP_RETRY_MAX_INTERVAL",	 "KSPAN_OTLP_RETRY_MAX_ELAPSED_TIME",
    "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
};

static inline int clear_otel_env(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(otel_vars) / sizeof(otel_vars[0]); i++)
		unsetenv(otel_vars[i]);
	return 0;
}

#endif /* KSPAN_TEST_OTLP_TEST_DATA_H */
