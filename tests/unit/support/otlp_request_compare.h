/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * otlp_request_compare.h - two ExportTraceServiceRequests, as protobuf-c
 * decoded them, compared field by field: every field kspan sends (resource
 * and span attributes with every AnyValue case, ids, times, kind, flags,
 * status, scope) and the counts of those it does not. Returns NULL when they
 * are equal, else the path of the first difference. Shared by the unit test
 * and the fuzz target of otlp_span_writer.c; no cmocka.
 */
#ifndef KSPAN_TEST_OTLP_REQUEST_COMPARE_H
#define KSPAN_TEST_OTLP_REQUEST_COMPARE_H

#include <stdbool.h>
#include <string.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#define CMP_FAIL_IF(cond, what)                                                                    \
	do {                                                                                       \
		if (cond)                                                                          \
			return what;                                                               \
	} while (0)

static inline bool cmp_str_differs(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") != 0;
}

static inline bool cmp_bytes_differ(ProtobufCBinaryData a, ProtobufCBinaryData b)
{
	return a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0);
}

static inline const char *cmp_any_value(const Opentelemetry__Proto__Common__V1__AnyValue *a,
					const Opentelemetry__Proto__Common__V1__AnyValue *b)
{
	CMP_FAIL_IF(!a != !b, "AnyValue presence");
	if (!a)
		return NULL;
	CMP_FAIL_IF(a->value_case != b->value_case, "AnyValue case");
	switch (a->value_case) {
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
		CMP_FAIL_IF(cmp_str_differs(a->string_value, b->string_value), "string_value");
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
		CMP_FAIL_IF(a->int_value != b->int_value, "int_value");
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
		CMP_FAIL_IF(a->bool_value != b->bool_value, "bool_value");
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
		CMP_FAIL_IF(memcmp(&a->double_value, &b->double_value, sizeof(double)) != 0,
			    "double_value");
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
		CMP_FAIL_IF(!a->array_value != !b->array_value, "array_value presence");
		if (!a->array_value)
			break;
		CMP_FAIL_IF(a->array_value->n_values != b->array_value->n_values,
			    "array_value count");
		for (size_t i = 0; i < a->array_value->n_values; i++) {
			const char *why =
			    cmp_any_value(a->array_value->values[i], b->array_value->values[i]);
			if (why)
				return why;
		}
		break;
	default:
		CMP_FAIL_IF(true, "AnyValue case kspan does not send");
	}
	return NULL;
}

static inline const char *cmp_attributes(Opentelemetry__Proto__Common__V1__KeyValue *const *a,
					 size_t na,
					 Opentelemetry__Proto__Common__V1__KeyValue *const *b,
					 size_t nb)
{
	CMP_FAIL_IF(na != nb, "attribute count");
	for (size_t i = 0; i < na; i++) {
		CMP_FAIL_IF(cmp_str_differs(a[i]->key, b[i]->key), "attribute key");
		const char *why = cmp_any_value(a[i]->value, b[i]->value);
		if (why)
			return why;
	}
	return NULL;
}

static inline const char *cmp_span(const Opentelemetry__Proto__Trace__V1__Span *a,
				   const Opentelemetry__Proto__Trace__V1__Span *b)
{
	CMP_FAIL_IF(cmp_bytes_differ(a->trace_id, b->trace_id), "trace_id");
	CMP_FAIL_IF(cmp_bytes_differ(a->span_id, b->span_id), "span_id");
	CMP_FAIL_IF(cmp_str_differs(a->trace_state, b->trace_state), "trace_state");
	CMP_FAIL_IF(cmp_bytes_differ(a->parent_span_id, b->parent_span_id), "parent_span_id");
	CMP_FAIL_IF(a->flags != b->flags, "flags");
	CMP_FAIL_IF(cmp_str_differs(a->name, b->name), "name");
	CMP_FAIL_IF(a->kind != b->kind, "kind");
	CMP_FAIL_IF(a->start_time_unix_nano != b->start_time_unix_nano, "start_time_unix_nano");
	CMP_FAIL_IF(a->end_time_unix_nano != b->end_time_unix_nano, "end_time_unix_nano");
	const char *why =
	    cmp_attributes(a->attributes, a->n_attributes, b->attributes, b->n_attributes);
	if (why)
		return why;
	CMP_FAIL_IF(a->dropped_attributes_count != b->dropped_attributes_count,
		    "dropped_attributes_count");
	CMP_FAIL_IF(a->n_events != b->n_events || a->n_links != b->n_links, "events or links");
	CMP_FAIL_IF(!a->status != !b->status, "status presence");
	if (a->status) {
		CMP_FAIL_IF(a->status->code != b->status->code, "status code");
		CMP_FAIL_IF(cmp_str_differs(a->status->message, b->status->message),
			    "status message");
	}
	return NULL;
}

static inline const char *
cmp_export_requests(const Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *a,
		    const Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *b)
{
	CMP_FAIL_IF(a->n_resource_spans != b->n_resource_spans, "resource_spans count");
	for (size_t r = 0; r < a->n_resource_spans; r++) {
		const Opentelemetry__Proto__Trace__V1__ResourceSpans *ra = a->resource_spans[r];
		const Opentelemetry__Proto__Trace__V1__ResourceSpans *rb = b->resource_spans[r];
		CMP_FAIL_IF(!ra->resource != !rb->resource, "resource presence");
		if (ra->resource) {
			const char *why =
			    cmp_attributes(ra->resource->attributes, ra->resource->n_attributes,
					   rb->resource->attributes, rb->resource->n_attributes);
			if (why)
				return why;
		}
		CMP_FAIL_IF(cmp_str_differs(ra->schema_url, rb->schema_url), "schema_url");
		CMP_FAIL_IF(ra->n_scope_spans != rb->n_scope_spans, "scope_spans count");
		for (size_t s = 0; s < ra->n_scope_spans; s++) {
			const Opentelemetry__Proto__Trace__V1__ScopeSpans *sa = ra->scope_spans[s];
			const Opentelemetry__Proto__Trace__V1__ScopeSpans *sb = rb->scope_spans[s];
			CMP_FAIL_IF(!sa->scope != !sb->scope, "scope presence");
			if (sa->scope) {
				CMP_FAIL_IF(cmp_str_differs(sa->scope->name, sb->scope->name),
					    "scope name");
				CMP_FAIL_IF(cmp_str_differs(sa->scope->version, sb->scope->version),
					    "scope version");
			}
			CMP_FAIL_IF(sa->n_spans != sb->n_spans, "span count");
			for (size_t i = 0; i < sa->n_spans; i++) {
				const char *why = cmp_span(sa->spans[i], sb->spans[i]);
				if (why)
					return why;
			}
		}
	}
	return NULL;
}

#endif /* KSPAN_TEST_OTLP_REQUEST_COMPARE_H */
