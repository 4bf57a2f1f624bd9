// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_otlp_encoding.c - the OTLP encoder, the OTLP/HTTP exporter's
 * configuration from the environment, and the exporter against a one-thread
 * HTTP server on 127.0.0.1.
 *
 * The encoder's output is read back with the protobuf-c code generated from
 * the same .proto files, and every field kspan sets is compared with the
 * span it came from.
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

static ExportRequest *unpack_request(const uint8_t *buf, size_t len)
{
	ExportRequest *req =
	    opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
		NULL, len, buf);
	assert_non_null(req);
	return req;
}

static void free_request(ExportRequest *req)
{
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
	    req, NULL);
}

static const AnyValue *find_value(KeyValue *const *kvs, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(kvs[i]->key, key) == 0)
			return kvs[i]->value;
	fail_msg("attribute %s missing", key);
	return NULL;
}

static void assert_str_value(KeyValue *const *kvs, size_t n, const char *key, const char *want)
{
	const AnyValue *v = find_value(kvs, n, key);
	assert_non_null(v);
	assert_int_equal(v->value_case, ANY_CASE(STRING_VALUE));
	assert_string_equal(v->string_value, want);
}

static void fill_bytes(uint8_t *b, size_t n, uint8_t first)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(first + i);
}

/* ================================ encoder ================================== */

struct fixture {
	struct resource *res_a, *res_b;
	struct span *spans[4];
};

static struct resource *make_resource(uint32_t pid, const char *service)
{
	struct resource *r = resource_new(pid);
	assert_non_null(r);
	r->service_name = strdup(service);
	assert_int_equal(attribute_list_add_str(&r->attrs, "service.name", service), 0);
	assert_int_equal(attribute_list_add_int(&r->attrs, "process.pid", pid), 0);
	return r;
}

static struct span *make_span(struct resource *r, const char *name, enum span_kind kind,
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

/*
 * spans[0]: root SERVER of process A with every attribute type and a tracestate.
 * spans[1]: its CLIENT child, status ERROR with a message.
 * spans[2]: SERVER of process B whose parent came from another process.
 * spans[3]: INTERNAL span of process A again, after B: grouping is by resource.
 */
static int setup_fixture(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->res_a = make_resource(100, "svc-a");
	f->res_b = make_resource(200, "svc-b");

	struct span *root = make_span(f->res_a, "GET /users/{id}", SPAN_KIND_SERVER, 0x10);
	root->trace_flags = 0x01;
	assert_int_equal(span_set_trace_state(root, "vendor=abc,other=1", 18), 0);
	assert_int_equal(attribute_list_add_str(&root->attrs, "http.request.method", "GET"), 0);
	assert_int_equal(attribute_list_add_int(&root->attrs, "http.response.status_code", 200), 0);
	assert_int_equal(attribute_list_add_int(&root->attrs, "big.negative", INT64_MIN), 0);
	assert_int_equal(attribute_list_add_bool(&root->attrs, "kspan.truncated", true), 0);
	assert_int_equal(attribute_list_add_bool(&root->attrs, "kspan.false", false), 0);
	assert_int_equal(attribute_list_add_double(&root->attrs, "ratio", 0.625), 0);
	const char *args[] = {"/usr/bin/app", "--port", "", "8080"};
	assert_int_equal(
	    attribute_list_add_str_array(&root->attrs, "process.command_args", args, 4), 0);
	assert_int_equal(attribute_list_add_str_array(&root->attrs, "empty.array", NULL, 0), 0);
	f->spans[0] = root;

	struct span *child = make_span(f->res_a, "GET", SPAN_KIND_CLIENT, 0x20);
	child->trace_flags = 0x01;
	memcpy(child->parent_span_id, root->span_id, sizeof(root->span_id));
	child->status_code = SPAN_STATUS_ERROR;
	child->status_message = strdup("connection reset");
	assert_int_equal(attribute_list_add_str(&child->attrs, "server.address", "db.local"), 0);
	f->spans[1] = child;

	struct span *remote = make_span(f->res_b, "POST /orders", SPAN_KIND_SERVER, 0x30);
	fill_bytes(remote->trace_id, sizeof(remote->trace_id), 0x51);
	fill_bytes(remote->parent_span_id, sizeof(remote->parent_span_id), 0xe0);
	remote->trace_flags = 0x00;
	remote->status_code = SPAN_STATUS_OK;
	f->spans[2] = remote;

	struct span *internal = make_span(f->res_a, "work", SPAN_KIND_INTERNAL, 0x40);
	f->spans[3] = internal;
	*state = f;
	return 0;
}

static int teardown_fixture(void **state)
{
	struct fixture *f = *state;
	for (size_t i = 0; i < 4; i++)
		span_unref(f->spans[i]);
	resource_unref(f->res_a);
	resource_unref(f->res_b);
	free(f);
	return 0;
}

/* The fields every span carries, compared with the span they came from. */
static void assert_span_matches(const Span *got, const struct span *want, uint32_t want_flags)
{
	assert_int_equal(got->trace_id.len, 16);
	assert_memory_equal(got->trace_id.data, want->trace_id, 16);
	assert_int_equal(got->span_id.len, 8);
	assert_memory_equal(got->span_id.data, want->span_id, 8);
	if (span_has_parent(want)) {
		assert_int_equal(got->parent_span_id.len, 8);
		assert_memory_equal(got->parent_span_id.data, want->parent_span_id, 8);
	} else {
		assert_int_equal(got->parent_span_id.len, 0);
	}
	assert_string_equal(got->name, want->name);
	assert_string_equal(got->trace_state, want->trace_state ? want->trace_state : "");
	assert_int_equal(got->kind, want->kind);
	assert_int_equal(got->start_time_unix_nano, want->start_unix_ns);
	assert_int_equal(got->end_time_unix_nano, want->end_unix_ns);
	assert_int_equal(got->flags, want_flags);
	assert_int_equal(got->n_attributes, want->attrs.count);
	assert_int_equal(got->dropped_attributes_count, 0);
	assert_int_equal(got->n_events, 0);
	assert_int_equal(got->n_links, 0);
	if (want->status_code == SPAN_STATUS_UNSET && !want->status_message) {
		assert_null(got->status);
	} else {
		assert_non_null(got->status);
		assert_int_equal(got->status->code, want->status_code);
		assert_string_equal(got->status->message,
				    want->status_message ? want->status_message : "");
	}
}

static void assert_scope_is_kspan(const ResourceSpans *rs, size_t n_spans)
{
	assert_int_equal(rs->n_scope_spans, 1);
	assert_non_null(rs->scope_spans[0]->scope);
	assert_string_equal(rs->scope_spans[0]->scope->name, "kspan");
	assert_string_equal(rs->scope_spans[0]->scope->version, KSPAN_VERSION);
	assert_int_equal(rs->scope_spans[0]->n_spans, n_spans);
}

static void test_encode_every_field(void **state)
{
	struct fixture *f = *state;
	uint8_t *buf;
	size_t len;
	assert_int_equal(otlp_encode_traces(f->spans, 4, &buf, &len), 0);
	ExportRequest *req = unpack_request(buf, len);
	otlp_encode_free(buf);

	/* Two resources, A first (order of first appearance). */
	assert_int_equal(req->n_resource_spans, 2);
	ResourceSpans *a = req->resource_spans[0], *b = req->resource_spans[1];
	assert_non_null(a->resource);
	assert_int_equal(a->resource->n_attributes, 2);
	assert_str_value(a->resource->attributes, 2, "service.name", "svc-a");
	const AnyValue *pid = find_value(a->resource->attributes, 2, "process.pid");
	assert_int_equal(pid->value_case, ANY_CASE(INT_VALUE));
	assert_int_equal(pid->int_value, 100);
	assert_non_null(b->resource);
	assert_str_value(b->resource->attributes, b->resource->n_attributes, "service.name",
			 "svc-b");
	assert_scope_is_kspan(a, 3);
	assert_scope_is_kspan(b, 1);

	Span **sa = a->scope_spans[0]->spans;
	/* Root: W3C flags only, no remote bits (no parent). */
	assert_span_matches(sa[0], f->spans[0], 0x01);
	/* Local child: the parent is known not to be remote. */
	assert_span_matches(sa[1], f->spans[1], 0x01 | 0x100);
	assert_span_matches(sa[2], f->spans[3], 0x00);
	/* SERVER with a parent: parent known to be remote. */
	assert_span_matches(b->scope_spans[0]->spans[0], f->spans[2], 0x100 | 0x200);

	/* Every attribute type of the root span. */
	KeyValue **kv = sa[0]->attributes;
	size_t n = sa[0]->n_attributes;
	assert_str_value(kv, n, "http.request.method", "GET");
	const AnyValue *v = find_value(kv, n, "http.response.status_code");
	assert_int_equal(v->value_case, ANY_CASE(INT_VALUE));
	assert_int_equal(v->int_value, 200);
	v = find_value(kv, n, "big.negative");
	assert_int_equal(v->value_case, ANY_CASE(INT_VALUE));
	assert_true(v->int_value == INT64_MIN);
	v = find_value(kv, n, "kspan.truncated");
	assert_int_equal(v->value_case, ANY_CASE(BOOL_VALUE));
	assert_true(v->bool_value);
	v = find_value(kv, n, "kspan.false");
	assert_int_equal(v->value_case, ANY_CASE(BOOL_VALUE));
	assert_false(v->bool_value);
	v = find_value(kv, n, "ratio");
	assert_int_equal(v->value_case, ANY_CASE(DOUBLE_VALUE));
	assert_true(v->double_value == 0.625);
	v = find_value(kv, n, "process.command_args");
	assert_int_equal(v->value_case, ANY_CASE(ARRAY_VALUE));
	assert_int_equal(v->array_value->n_values, 4);
	const char *want_args[] = {"/usr/bin/app", "--port", "", "8080"};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(v->array_value->values[i]->value_case, ANY_CASE(STRING_VALUE));
		assert_string_equal(v->array_value->values[i]->string_value, want_args[i]);
	}
	v = find_value(kv, n, "empty.array");
	assert_int_equal(v->value_case, ANY_CASE(ARRAY_VALUE));
	assert_int_equal(v->array_value->n_values, 0);
	assert_str_value(sa[1]->attributes, sa[1]->n_attributes, "server.address", "db.local");

	free_request(req);
	/* The encoder only reads: the caller's references are untouched. */
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(f->spans[i]->refcount, 1);
}

/* ---- OTLP JSON, checked against the protobuf encoding of the same spans ---- */

static json_object *jget(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static void assert_json_hex(json_object *o, const char *key, ProtobufCBinaryData id)
{
	json_object *v = jget(o, key);
	if (!id.len || bytes_all_zero(id.data, id.len)) {
		/* An empty parent id is left out. */
		if (v)
			assert_string_equal(json_object_get_string(v), "");
		return;
	}
	char hex[40];
	hex_encode(id.data, id.len, hex);
	assert_non_null(v);
	assert_string_equal(json_object_get_string(v), hex);
}

static void assert_json_u64_string(json_object *o, const char *key, uint64_t want)
{
	json_object *v = jget(o, key);
	assert_non_null(v);
	assert_true(json_object_is_type(v, json_type_string));
	char buf[32];
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)want);
	assert_string_equal(json_object_get_string(v), buf);
}

static void assert_json_any(json_object *jv, const AnyValue *v)
{
	switch (v->value_case) {
	case ANY_CASE(STRING_VALUE):
		assert_string_equal(json_object_get_string(jget(jv, "stringValue")),
				    v->string_value);
		break;
	case ANY_CASE(INT_VALUE): {
		json_object *i = jget(jv, "intValue");
		assert_true(json_object_is_type(i, json_type_string));
		char buf[32];
		snprintf(buf, sizeof(buf), "%lld", (long long)v->int_value);
		assert_string_equal(json_object_get_string(i), buf);
		break;
	}
	case ANY_CASE(BOOL_VALUE):
		assert_true(json_object_is_type(jget(jv, "boolValue"), json_type_boolean));
		assert_int_equal(json_object_get_boolean(jget(jv, "boolValue")), v->bool_value);
		break;
	case ANY_CASE(DOUBLE_VALUE):
		assert_true(json_object_get_double(jget(jv, "doubleValue")) == v->double_value);
		break;
	case ANY_CASE(ARRAY_VALUE): {
		json_object *arr = jget(jv, "arrayValue");
		assert_non_null(arr);
		json_object *vals = jget(arr, "values");
		/* An empty repeated field is left out. */
		assert_int_equal(vals ? json_object_array_length(vals) : 0,
				 v->array_value->n_values);
		for (size_t i = 0; i < v->array_value->n_values; i++)
			assert_json_any(json_object_array_get_idx(vals, i),
					v->array_value->values[i]);
		break;
	}
	default:
		fail_msg("unexpected AnyValue case %d", v->value_case);
	}
}

static void assert_json_attributes(json_object *arr, KeyValue **kv, size_t n)
{
	if (!n) {
		assert_null(arr);
		return;
	}
	assert_int_equal(json_object_array_length(arr), n);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		assert_string_equal(json_object_get_string(jget(e, "key")), kv[i]->key);
		assert_json_any(jget(e, "value"), kv[i]->value);
	}
}

/* Every field of the JSON request equals the protobuf request's (parsed by json-c). */
static void assert_json_matches_protobuf(const char *json, size_t json_len,
					 const ExportRequest *req)
{
	json_tokener *tok = json_tokener_new();
	json_object *root = json_tokener_parse_ex(tok, json, (int)json_len);
	assert_int_equal(json_tokener_get_error(tok), json_tokener_success);
	json_tokener_free(tok);
	assert_non_null(root);
	json_object *rss = jget(root, "resourceSpans");
	assert_int_equal(rss ? json_object_array_length(rss) : 0, req->n_resource_spans);
	for (size_t r = 0; r < req->n_resource_spans; r++) {
		const ResourceSpans *prs = req->resource_spans[r];
		json_object *jrs = json_object_array_get_idx(rss, r);
		assert_json_attributes(jget(jget(jrs, "resource"), "attributes"),
				       prs->resource->attributes, prs->resource->n_attributes);
		json_object *sss = jget(jrs, "scopeSpans");
		assert_int_equal(json_object_array_length(sss), prs->n_scope_spans);
		for (size_t s = 0; s < prs->n_scope_spans; s++) {
			json_object *jss = json_object_array_get_idx(sss, s);
			assert_string_equal(
			    json_object_get_string(jget(jget(jss, "scope"), "name")),
			    prs->scope_spans[s]->scope->name);
			json_object *spans = jget(jss, "spans");
			assert_int_equal(json_object_array_length(spans),
					 prs->scope_spans[s]->n_spans);
			for (size_t k = 0; k < prs->scope_spans[s]->n_spans; k++) {
				const Span *ps = prs->scope_spans[s]->spans[k];
				json_object *js = json_object_array_get_idx(spans, k);
				assert_json_hex(js, "traceId", ps->trace_id);
				assert_json_hex(js, "spanId", ps->span_id);
				assert_json_hex(js, "parentSpanId", ps->parent_span_id);
				assert_string_equal(json_object_get_string(jget(js, "name")),
						    ps->name);
				/* Enums are integers. */
				assert_true(json_object_is_type(jget(js, "kind"), json_type_int));
				assert_int_equal(json_object_get_int(jget(js, "kind")), ps->kind);
				assert_json_u64_string(js, "startTimeUnixNano",
						       ps->start_time_unix_nano);
				assert_json_u64_string(js, "endTimeUnixNano",
						       ps->end_time_unix_nano);
				if (ps->flags)
					assert_int_equal(json_object_get_int64(jget(js, "flags")),
							 ps->flags);
				if (ps->trace_state && ps->trace_state[0])
					assert_string_equal(
					    json_object_get_string(jget(js, "traceState")),
					    ps->trace_state);
				if (ps->status && ps->status->code)
					assert_int_equal(
					    json_object_get_int(jget(jget(js, "status"), "code")),
					    ps->status->code);
				assert_json_attributes(jget(js, "attributes"), ps->attributes,
						       ps->n_attributes);
			}
		}
	}
	json_object_put(root);
	/* No proto field name leaks through unconverted. */
	assert_null(strstr(json, "\"trace_id\""));
	assert_null(strstr(json, "\"start_time_unix_nano\""));
}

static void test_encode_json_matches_protobuf(void **state)
{
	struct fixture *f = *state;
	uint8_t *pb, *json;
	size_t pb_len, json_len;
	assert_int_equal(otlp_encode_traces(f->spans, 4, &pb, &pb_len), 0);
	assert_int_equal(otlp_encode_traces_json(f->spans, 4, &json, &json_len), 0);
	ExportRequest *req = unpack_request(pb, pb_len);
	assert_json_matches_protobuf((const char *)json, json_len, req);
	free_request(req);
	otlp_encode_free(pb);
	otlp_encode_free(json);
}

/* Attribute string values are cut to the limit without splitting a UTF-8 character. */
static void test_encode_attribute_value_limit(void **state)
{
	(void)state;
	struct resource *r = make_resource(1, "svc");
	struct span *s = make_span(r, "GET /", SPAN_KIND_SERVER, 1);
	assert_int_equal(attribute_list_add_str(&s->attrs, "v", "h\xc3\xa9llo"), 0);
	const char *args[] = {"abcdef", "\xe2\x82\xac\xe2\x82\xac"};
	assert_int_equal(attribute_list_add_str_array(&s->attrs, "a", args, 2), 0);
	/* Limit 2 would split é and the first €: they go whole. */
	const char *want[][3] = {{"h", "ab", ""}, {"h\xc3\xa9l", "abcd", "\xe2\x82\xac"}};
	size_t limits[] = {2, 4};
	for (size_t t = 0; t < 2; t++) {
		struct otlp_encode_options o = {.attr_value_limit = limits[t]};
		uint8_t *buf;
		size_t len;
		assert_int_equal(otlp_encode_request(&s, 1, &o, &buf, &len), 0);
		ExportRequest *req = unpack_request(buf, len);
		Span *ps = req->resource_spans[0]->scope_spans[0]->spans[0];
		size_t base = ps->n_attributes - 2;
		assert_string_equal(ps->attributes[base]->value->string_value, want[t][0]);
		AnyValue *arr = ps->attributes[base + 1]->value;
		assert_string_equal(arr->array_value->values[0]->string_value, want[t][1]);
		assert_string_equal(arr->array_value->values[1]->string_value, want[t][2]);
		/* Resource attributes and the span name are not attribute values here. */
		assert_string_equal(ps->name, "GET /");
		free_request(req);
		otlp_encode_free(buf);
	}
	span_unref(s);
	resource_unref(r);
}

static void test_decode_json_export_response(void **state)
{
	(void)state;
	int64_t rejected;
	char msg[16];
	const char *ok = "{}";
	assert_int_equal(
	    otlp_json_decode_export_response((const uint8_t *)ok, 2, &rejected, msg, sizeof(msg)),
	    0);
	assert_int_equal(rejected, 0);
	const char *partial = "{\"partialSuccess\":{\"rejectedSpans\":\"3\",\"errorMessage\":\"too "
			      "old spans here\"}}";
	assert_int_equal(otlp_json_decode_export_response((const uint8_t *)partial, strlen(partial),
							  &rejected, msg, sizeof(msg)),
			 0);
	assert_int_equal(rejected, 3);
	assert_string_equal(msg, "too old spans h");
	const char *bad = "{\"partialSuccess\":";
	assert_int_equal(otlp_json_decode_export_response((const uint8_t *)bad, strlen(bad),
							  &rejected, msg, sizeof(msg)),
			 -EBADMSG);
}

static void test_encode_span_without_resource(void **state)
{
	(void)state;
	struct span *s = span_new();
	fill_bytes(s->trace_id, 16, 1);
	fill_bytes(s->span_id, 8, 2);
	uint8_t *buf;
	size_t len;
	assert_int_equal(otlp_encode_traces(&s, 1, &buf, &len), 0);
	ExportRequest *req = unpack_request(buf, len);
	assert_int_equal(req->n_resource_spans, 1);
	assert_null(req->resource_spans[0]->resource);
	Span *got = req->resource_spans[0]->scope_spans[0]->spans[0];
	assert_string_equal(got->name, "");
	assert_int_equal(got->kind, SPAN_KIND_UNSPECIFIED);
	free_request(req);
	otlp_encode_free(buf);
	span_unref(s);
}

static void test_invalid_utf8_is_repaired_before_encoding(void **state)
{
	(void)state;
	struct span *s = span_new();
	fill_bytes(s->trace_id, 16, 1);
	fill_bytes(s->span_id, 8, 2);
	/* \xff never starts a sequence; \xc3 needs a continuation byte; \xed\xa0\x80 is a
	 * surrogate; \xe2\x82\xac is a valid euro sign and must survive. */
	assert_int_equal(span_set_name(s, "GET /\xff"), 0);
	assert_int_equal(attribute_list_add_str(&s->attrs, "v", "a\xc3(\xe2\x82\xac\xed\xa0\x80"),
			 0);
	uint8_t *buf;
	size_t len;
	assert_int_equal(otlp_encode_traces(&s, 1, &buf, &len), 0);
	ExportRequest *req = unpack_request(buf, len);
	Span *got = req->resource_spans[0]->scope_spans[0]->spans[0];
	assert_string_equal(got->name, "GET /\xef\xbf\xbd");
	assert_str_value(got->attributes, got->n_attributes, "v",
			 "a\xef\xbf\xbd(\xe2\x82\xac\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	free_request(req);
	otlp_encode_free(buf);
	/* The repair happened when the name was set: the span itself holds
	 * valid UTF-8, so every exporter sees the same text. */
	assert_string_equal(s->name, "GET /\xef\xbf\xbd");
	span_unref(s);
}

static void test_encode_empty_and_bad_arguments(void **state)
{
	(void)state;
	uint8_t *buf;
	size_t len = 99;
	assert_int_equal(otlp_encode_traces(NULL, 0, &buf, &len), 0);
	assert_int_equal(len, 0);
	ExportRequest *req = unpack_request(buf, len);
	assert_int_equal(req->n_resource_spans, 0);
	free_request(req);
	otlp_encode_free(buf);

	assert_int_equal(otlp_encode_traces(NULL, 1, &buf, &len), -EINVAL);
	struct span *none = NULL;
	assert_int_equal(otlp_encode_traces(&none, 1, &buf, &len), -EINVAL);
	assert_int_equal(otlp_encode_traces(&none, 0, NULL, &len), -EINVAL);
}

static uint8_t *pack_response(int64_t rejected, const char *msg, size_t *len)
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

static void test_decode_export_response(void **state)
{
	(void)state;
	int64_t rejected = -1;
	char msg[16];
	size_t len;
	uint8_t *buf = pack_response(3, "spans too large for this test", &len);
	assert_int_equal(otlp_decode_export_response(buf, len, &rejected, msg, sizeof(msg)), 0);
	assert_int_equal(rejected, 3);
	assert_string_equal(msg, "spans too large"); /* cut to fit */
	free(buf);

	assert_int_equal(otlp_decode_export_response(NULL, 0, &rejected, msg, sizeof(msg)), 0);
	assert_int_equal(rejected, 0);
	assert_string_equal(msg, "");

	static const uint8_t garbage[] = {0x0a, 0x7f, 0x01};
	assert_int_equal(
	    otlp_decode_export_response(garbage, sizeof(garbage), &rejected, msg, sizeof(msg)),
	    -EBADMSG);
}

/* ============================ configuration =============================== */

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

static int clear_otel_env(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(otel_vars) / sizeof(otel_vars[0]); i++)
		unsetenv(otel_vars[i]);
	return 0;
}

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
	assert_int_equal(cfg.max_queue_size, 2048);
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
	assert_int_equal(cfg.max_queue_size, 2048);
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

/* ============================ HTTP exporter ================================ */

#define SERVER_MAX_REQUESTS 4
/* Only so that a broken exporter fails the test instead of hanging it. */
#define SERVER_IO_TIMEOUT_S 20

struct captured_request {
	char *head; /* request line and headers */
	uint8_t *body;
	size_t body_len;
	uint64_t received_ns; /* CLOCK_MONOTONIC */
};

struct test_server {
	int listen_fd;
	uint16_t port;
	int status;
	int statuses[SERVER_MAX_REQUESTS]; /* per request when set, else status */
	const char *extra_header;	   /* e.g. "Retry-After: 1\r\n" on non-2xx */
	const uint8_t *response_body;
	size_t response_len;
	size_t expect_requests;
	bool hold_first_response; /* until release_first() */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t n_requests; /* under lock */
	struct captured_request requests[SERVER_MAX_REQUESTS];
};

static void set_io_timeout(int fd)
{
	struct timeval tv = {.tv_sec = SERVER_IO_TIMEOUT_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int listen_loopback(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in addr = {.sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(fd, 4), 0);
	socklen_t alen = sizeof(addr);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &alen), 0);
	*port = ntohs(addr.sin_port);
	return fd;
}

/* Index just past "\r\n\r\n" in buf, or 0. */
static size_t head_end(const uint8_t *buf, size_t len)
{
	for (size_t i = 3; i < len; i++)
		if (memcmp(buf + i - 3, "\r\n\r\n", 4) == 0)
			return i + 1;
	return 0;
}

/*
 * Read one request from a connection. Returns false when the peer closed it
 * instead (curl may open a new connection). Runs on the server thread, where
 * cmocka assertions cannot be used: the test thread checks what was captured.
 */
static bool read_request(int fd, struct captured_request *out)
{
	size_t cap = 4096, len = 0, head_len = 0, body_len = 0;
	uint8_t *buf = malloc(cap);
	for (;;) {
		if (!head_len && (head_len = head_end(buf, len))) {
			out->head = strndup((char *)buf, head_len);
			const char *cl = strcasestr(out->head, "\r\nContent-Length:");
			if (cl)
				body_len = strtoul(cl + strlen("\r\nContent-Length:"), NULL, 10);
		}
		if (head_len && len >= head_len + body_len)
			break;
		if (len == cap)
			buf = realloc(buf, cap *= 2);
		ssize_t n = read(fd, buf + len, cap - len);
		if (n <= 0) {
			free(out->head);
			out->head = NULL;
			free(buf);
			return false;
		}
		len += (size_t)n;
	}
	out->body = malloc(body_len ? body_len : 1);
	memcpy(out->body, buf + head_len, body_len);
	out->body_len = body_len;
	free(buf);
	return true;
}

static void send_response(struct test_server *srv, int fd, size_t nth)
{
	char head[256];
	int status = srv->statuses[nth] ? srv->statuses[nth] : srv->status;
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: application/x-protobuf\r\n"
			 "%sContent-Length: %zu\r\n\r\n",
			 status, status == 200 ? "OK" : "Error",
			 status != 200 && srv->extra_header ? srv->extra_header : "",
			 srv->response_len);
	/* A short write shows up as a failed export in the test's counters. */
	if (write(fd, head, (size_t)n) == n && srv->response_len)
		(void)!write(fd, srv->response_body, srv->response_len);
}

static void *server_main(void *arg)
{
	struct test_server *srv = arg;
	int conn = -1;
	size_t served = 0;
	while (served < srv->expect_requests) {
		if (conn < 0) {
			conn = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (conn < 0)
				break; /* timed out: the test's assertions will say what is missing
					*/
			set_io_timeout(conn);
		}
		struct captured_request req = {0};
		if (!read_request(conn, &req)) {
			close(conn);
			conn = -1;
			continue;
		}
		req.received_ns = clock_mono_ns();
		pthread_mutex_lock(&srv->lock);
		srv->requests[srv->n_requests++] = req;
		pthread_cond_broadcast(&srv->cond);
		while (served == 0 && srv->hold_first_response)
			pthread_cond_wait(&srv->cond, &srv->lock);
		pthread_mutex_unlock(&srv->lock);
		send_response(srv, conn, served);
		served++;
	}
	if (conn >= 0)
		close(conn);
	return NULL;
}

static void server_start(struct test_server *srv, int status, size_t expect_requests)
{
	memset(srv, 0, sizeof(*srv));
	srv->status = status;
	srv->expect_requests = expect_requests;
	srv->listen_fd = listen_loopback(&srv->port);
	set_io_timeout(srv->listen_fd);
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->cond, NULL);
}

static void server_run(struct test_server *srv)
{
	assert_int_equal(pthread_create(&srv->thread, NULL, server_main, srv), 0);
}

static void server_wait_requests(struct test_server *srv, size_t n)
{
	pthread_mutex_lock(&srv->lock);
	while (srv->n_requests < n)
		pthread_cond_wait(&srv->cond, &srv->lock);
	pthread_mutex_unlock(&srv->lock);
}

static void server_release_first(struct test_server *srv)
{
	pthread_mutex_lock(&srv->lock);
	srv->hold_first_response = false;
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
}

/* Wait for the server thread to serve what it expected, then close it. */
static void server_stop(struct test_server *srv)
{
	pthread_join(srv->thread, NULL);
	close(srv->listen_fd);
}

/* Release the captured requests once the test has looked at them. */
static void server_free(struct test_server *srv)
{
	for (size_t i = 0; i < srv->n_requests; i++) {
		free(srv->requests[i].head);
		free(srv->requests[i].body);
	}
	pthread_cond_destroy(&srv->cond);
	pthread_mutex_destroy(&srv->lock);
}

/* Config for a server on this port; no export happens by timer during a test. */
static void exporter_config(struct otlp_config *cfg, uint16_t port)
{
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/traces", port);
	assert_int_equal(otlp_config_from_env(cfg, url), 0);
	cfg->schedule_delay_ms = 3600 * 1000;
}

static struct span *numbered_span(struct resource *r, unsigned i)
{
	char name[32];
	snprintf(name, sizeof(name), "span-%u", i);
	return make_span(r, name, SPAN_KIND_SERVER, (uint8_t)i);
}

/* Queue spans i in [first, first+n) into e; e keeps its own references. */
static void export_spans(struct exporter *e, struct resource *r, unsigned first, unsigned n)
{
	for (unsigned i = first; i < first + n; i++) {
		struct span *s = numbered_span(r, i);
		assert_int_equal(e->export_span(e, s), 0);
		span_unref(s);
	}
}

static uint64_t far_deadline(void)
{
	return clock_mono_ns() + 60ull * 1000 * 1000 * 1000;
}

/*
 * One exporter against one test server. A test opens the run, tunes the
 * server (x.srv) and the configuration (x.cfg), starts it, exports, stops it
 * (shutdown flushes, the server thread ends), checks, and closes it.
 */
struct export_run {
	struct test_server srv;
	struct otlp_config cfg;
	struct agent_stats stats;
	struct exporter *e;
	struct resource *r;
};

static void run_open(struct export_run *x, int status, size_t expect_requests)
{
	memset(x, 0, sizeof(*x));
	server_start(&x->srv, status, expect_requests);
	exporter_config(&x->cfg, x->srv.port);
}

static void run_start(struct export_run *x)
{
	server_run(&x->srv);
	x->e = otlp_exporter_new(&x->cfg, &x->stats);
	otlp_config_free(&x->cfg);
	assert_non_null(x->e);
	x->r = make_resource(42, "svc");
}

static void run_stop(struct export_run *x)
{
	x->e->shutdown(x->e, far_deadline());
	server_stop(&x->srv);
}

static void run_close(struct export_run *x)
{
	x->e->destroy(x->e);
	resource_unref(x->r);
	server_free(&x->srv);
}

static uint8_t *gunzip(const uint8_t *in, size_t in_len, size_t *out_len)
{
	z_stream zs = {0};
	assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
	size_t cap = 4 * in_len + 64;
	uint8_t *out = malloc(cap);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)in_len;
	int rc;
	do {
		if (zs.total_out == cap)
			out = realloc(out, cap *= 2);
		zs.next_out = out + zs.total_out;
		zs.avail_out = (uInt)(cap - zs.total_out);
		rc = inflate(&zs, Z_NO_FLUSH);
	} while (rc == Z_OK);
	assert_int_equal(rc, Z_STREAM_END);
	*out_len = zs.total_out;
	inflateEnd(&zs);
	return out;
}

static void assert_has_header(const char *head, const char *line)
{
	if (!strcasestr(head, line))
		fail_msg("header \"%s\" missing in:\n%s", line, head);
}

static void test_exporter_gzip_post_on_shutdown(void **state)
{
	(void)state;
	struct export_run x;
	/* Before run_open: the configuration is read from the environment. */
	setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s3cr%65t", 1);
	setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", 1);
	run_open(&x, 200, 1);
	run_start(&x);
	export_spans(x.e, x.r, 1, 3);
	x.e->tick(x.e, clock_mono_ns());
	/* The schedule delay is an hour: only shutdown's flush sends these. */
	run_stop(&x);

	assert_int_equal(x.srv.n_requests, 1);
	const char *head = x.srv.requests[0].head;
	assert_true(strncmp(head, "POST /v1/traces HTTP/1.1\r\n", 26) == 0);
	assert_has_header(head, "\r\nContent-Type: application/x-protobuf\r\n");
	assert_has_header(head, "\r\nContent-Encoding: gzip\r\n");
	assert_has_header(head, "\r\nUser-Agent: kspan/" KSPAN_VERSION "\r\n");
	assert_has_header(head, "\r\nx-api-key: s3cret\r\n");

	size_t len;
	uint8_t *raw = gunzip(x.srv.requests[0].body, x.srv.requests[0].body_len, &len);
	ExportRequest *req = unpack_request(raw, len);
	assert_int_equal(req->n_resource_spans, 1);
	assert_str_value(req->resource_spans[0]->resource->attributes,
			 req->resource_spans[0]->resource->n_attributes, "service.name", "svc");
	assert_int_equal(req->resource_spans[0]->scope_spans[0]->n_spans, 3);
	for (unsigned i = 0; i < 3; i++) {
		char want[32];
		snprintf(want, sizeof(want), "span-%u", i + 1);
		assert_string_equal(req->resource_spans[0]->scope_spans[0]->spans[i]->name, want);
	}
	free_request(req);
	free(raw);

	assert_int_equal(STAT_GET(&x.stats, spans_exported), 3);
	assert_int_equal(STAT_GET(&x.stats, spans_export_failed), 0);
	assert_int_equal(STAT_GET(&x.stats, export_requests_failed), 0);
	assert_int_equal(STAT_GET(&x.stats, spans_export_dropped_queue), 0);
	run_close(&x);
}

static void test_exporter_http_500_is_not_retried(void **state)
{
	(void)state;
	struct export_run x;
	run_open(&x, 500, 1);
	run_start(&x);
	export_spans(x.e, x.r, 1, 2);
	run_stop(&x);

	assert_int_equal(x.srv.n_requests, 1);
	/* No compression configured: the body is the protobuf itself. */
	assert_null(strcasestr(x.srv.requests[0].head, "Content-Encoding"));
	ExportRequest *req = unpack_request(x.srv.requests[0].body, x.srv.requests[0].body_len);
	assert_int_equal(req->resource_spans[0]->scope_spans[0]->n_spans, 2);
	free_request(req);
	/* 500 is not one of the retryable codes: one request, then dropped. */
	assert_int_equal(STAT_GET(&x.stats, spans_exported), 0);
	assert_int_equal(STAT_GET(&x.stats, spans_export_dropped_rejected), 2);
	assert_int_equal(STAT_GET(&x.stats, export_requests), 1);
	assert_int_equal(STAT_GET(&x.stats, export_requests_failed), 1);
	run_close(&x);
}

static void test_exporter_partial_success(void **state)
{
	(void)state;
	struct export_run x;
	run_open(&x, 200, 1);
	size_t len;
	uint8_t *body = pack_response(1, "span-2 is invalid", &len);
	x.srv.response_body = body;
	x.srv.response_len = len;
	run_start(&x);
	export_spans(x.e, x.r, 1, 3);
	run_stop(&x);
	free(body);

	assert_int_equal(STAT_GET(&x.stats, spans_exported), 2);
	assert_int_equal(STAT_GET(&x.stats, spans_export_dropped_partial), 1);
	assert_int_equal(STAT_GET(&x.stats, export_requests), 1);
	assert_int_equal(STAT_GET(&x.stats, export_requests_failed), 0);
	run_close(&x);
}

/* Request i carried exactly two spans, span-<first[i]> and span-<first[i]+1>. */
static void assert_requests_carry(const struct test_server *srv, const unsigned *first, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ExportRequest *req =
		    unpack_request(srv->requests[i].body, srv->requests[i].body_len);
		ScopeSpans *ss = req->resource_spans[0]->scope_spans[0];
		assert_int_equal(ss->n_spans, 2);
		for (unsigned j = 0; j < 2; j++) {
			char want[32];
			snprintf(want, sizeof(want), "span-%u", first[i] + j);
			assert_string_equal(ss->spans[j]->name, want);
		}
		free_request(req);
	}
}

/*
 * A full batch is sent without waiting for the schedule. While that request
 * is in flight the queue fills; the next batch pushes the OLDEST queued batch
 * out (counted), never blocks the caller, and is sent next.
 */
static void test_exporter_full_queue_drops_oldest(void **state)
{
	(void)state;
	struct export_run x;
	run_open(&x, 200, 2);
	x.srv.hold_first_response = true;
	x.cfg.max_queue_size = 2;
	x.cfg.max_export_batch_size = 2;
	run_start(&x);
	export_spans(x.e, x.r, 1, 2);
	/* The sender took the batch and waits for the held response. */
	server_wait_requests(&x.srv, 1);
	export_spans(x.e, x.r, 3, 2); /* queued: the queue is full */
	assert_int_equal(STAT_GET(&x.stats, export_queue_spans), 2);
	export_spans(x.e, x.r, 5, 2); /* pushes spans 3 and 4 out */
	assert_int_equal(STAT_GET(&x.stats, spans_export_dropped_queue), 2);
	assert_int_equal(STAT_GET(&x.stats, export_queue_spans), 2);
	assert_int_equal(STAT_GET(&x.stats, export_queue_batches), 1);

	server_release_first(&x.srv);
	server_wait_requests(&x.srv, 2);
	run_stop(&x);

	static const unsigned first[] = {1, 5};
	assert_requests_carry(&x.srv, first, 2);
	assert_int_equal(STAT_GET(&x.stats, spans_export_queued), 6);
	assert_int_equal(STAT_GET(&x.stats, spans_exported), 4);
	assert_int_equal(STAT_GET(&x.stats, export_queue_spans), 0);
	run_close(&x);
}

static size_t spool_files(const char *dir)
{
	size_t n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/*
 * With a spool directory, batches a full queue pushes out go to disk instead
 * of being dropped, and come back (oldest first) once the queue has drained:
 * every span is delivered exactly once, and the directory is empty after.
 */
static void test_exporter_full_queue_spills_to_spool(void **state)
{
	(void)state;
	char dir[] = "/tmp/kspan-spill-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct export_run x;
	run_open(&x, 200, 4);
	x.srv.hold_first_response = true;
	x.cfg.max_queue_size = 2;
	x.cfg.max_export_batch_size = 2;
	x.cfg.spool_dir = dir;
	x.cfg.spool_max_bytes = 1 << 20;
	run_start(&x);
	export_spans(x.e, x.r, 1, 2);
	server_wait_requests(&x.srv, 1); /* 1-2 in flight, held */
	export_spans(x.e, x.r, 3, 2);	 /* queued */
	export_spans(x.e, x.r, 5, 2);	 /* 3-4 to the spool */
	export_spans(x.e, x.r, 7, 2);	 /* 5-6 to the spool */
	assert_int_equal(STAT_GET(&x.stats, spans_spooled), 4);
	assert_int_equal(STAT_GET(&x.stats, export_spool_spans), 4);
	assert_int_equal(STAT_GET(&x.stats, spans_export_dropped_queue), 0);
	assert_int_equal(spool_files(dir), 2);

	server_release_first(&x.srv);
	server_wait_requests(&x.srv, 4);
	run_stop(&x);

	static const unsigned first[] = {1, 7, 3, 5};
	assert_requests_carry(&x.srv, first, 4);
	assert_int_equal(STAT_GET(&x.stats, spans_export_queued), 8);
	assert_int_equal(STAT_GET(&x.stats, spans_exported), 8);
	assert_int_equal(STAT_GET(&x.stats, spans_spooled), 4);
	assert_int_equal(STAT_GET(&x.stats, export_spool_spans), 0);
	assert_int_equal(STAT_GET(&x.stats, spans_spool_dropped), 0);
	assert_int_equal(spool_files(dir), 0);
	run_close(&x);
	assert_int_equal(rmdir(dir), 0);
}

/* HTTP 429 with Retry-After: 1: the second attempt comes at least 1 s later. */
static void test_exporter_429_retry_after_then_ok(void **state)
{
	(void)state;
	struct export_run x;
	run_open(&x, 200, 2);
	x.srv.statuses[0] = 429;
	x.srv.extra_header = "Retry-After: 1\r\n";
	/* The backoff alone would retry sooner: only Retry-After explains >= 1 s. */
	x.cfg.retry_initial_ms = 10;
	x.cfg.retry_max_ms = 10;
	run_start(&x);
	export_spans(x.e, x.r, 1, 3);
	run_stop(&x);

	assert_int_equal(x.srv.n_requests, 2);
	assert_true(x.srv.requests[1].received_ns - x.srv.requests[0].received_ns >=
		    1000ull * 1000 * 1000);
	/* The same bytes are sent again. */
	assert_int_equal(x.srv.requests[0].body_len, x.srv.requests[1].body_len);
	assert_memory_equal(x.srv.requests[0].body, x.srv.requests[1].body,
			    x.srv.requests[0].body_len);
	assert_int_equal(STAT_GET(&x.stats, spans_exported), 3);
	assert_int_equal(STAT_GET(&x.stats, export_requests), 2);
	assert_int_equal(STAT_GET(&x.stats, export_retries), 1);
	assert_int_equal(STAT_GET(&x.stats, export_requests_failed), 1);
	run_close(&x);
}

/* 503, 502, 504 are retried (backoff, no Retry-After), then 200. */
static void test_exporter_503_retried_with_backoff(void **state)
{
	(void)state;
	struct export_run x;
	run_open(&x, 200, 4);
	x.srv.statuses[0] = 503;
	x.srv.statuses[1] = 502;
	x.srv.statuses[2] = 504;
	x.cfg.retry_initial_ms = 20;
	x.cfg.retry_max_ms = 40;
	run_start(&x);
	export_spans(x.e, x.r, 1, 2);
	run_stop(&x);

	assert_int_equal(x.srv.n_requests, 4);
	/* Jitter is +-50%: at least half the initial interval between attempts. */
	for (unsigned i = 1; i < 4; i++)
		assert_true(x.srv.requests[i].received_ns - x.srv.requests[i - 1].received_ns >=
			    10ull * 1000 * 1000);
	assert_int_equal(STAT_GET(&x.stats, spans_exported), 2);
	assert_int_equal(STAT_GET(&x.stats, export_retries), 3);
	assert_int_equal(STAT_GET(&x.stats, spans_export_dropped_rejected), 0);
	run_close(&x);
}

/* With no schedule delay a span goes out as soon as the idle worker sees it. */
static void test_exporter_zero_delay_sends_without_shutdown(void **state)
{
	(void)state;
	struct export_run x;
	run_open(&x, 200, 2);
	x.cfg.schedule_delay_ms = 0;
	run_start(&x);
	export_spans(x.e, x.r, 1, 1);
	server_wait_requests(&x.srv, 1);
	/* The worker went idle again and wakes for the next one too. */
	export_spans(x.e, x.r, 2, 1);
	server_wait_requests(&x.srv, 2);
	run_stop(&x);

	assert_int_equal(STAT_GET(&x.stats, spans_exported), 2);
	assert_int_equal(STAT_GET(&x.stats, export_requests_failed), 0);
	run_close(&x);
}

/* A port that refuses connections: bound, then closed again. */
static uint16_t closed_port(void)
{
	uint16_t port;
	int fd = listen_loopback(&port);
	close(fd);
	return port;
}

static void test_exporter_connection_refused(void **state)
{
	(void)state;
	struct otlp_config cfg;
	exporter_config(&cfg, closed_port());
	/* Retried like any connection error, until the batch's time is up. */
	cfg.retry_initial_ms = 20;
	cfg.retry_max_ms = 50;
	cfg.retry_max_elapsed_ms = 300;
	struct agent_stats stats = {0};
	struct exporter *e = otlp_exporter_new(&cfg, &stats);
	otlp_config_free(&cfg);
	assert_non_null(e);

	struct resource *r = make_resource(42, "svc");
	export_spans(e, r, 1, 3);
	e->shutdown(e, far_deadline());
	assert_true(STAT_GET(&stats, export_requests) >= 2);
	assert_int_equal(STAT_GET(&stats, export_requests_failed),
			 STAT_GET(&stats, export_requests));
	assert_int_equal(STAT_GET(&stats, spans_export_dropped_expired), 3);
	assert_int_equal(STAT_GET(&stats, spans_exported), 0);
	e->destroy(e);
	resource_unref(r);
}

static void test_exporter_deadline_passed_and_destroy(void **state)
{
	(void)state;
	struct otlp_config cfg;
	exporter_config(&cfg, closed_port());
	struct agent_stats stats = {0};
	struct exporter *e = otlp_exporter_new(&cfg, &stats);
	assert_non_null(e);
	struct resource *r = make_resource(42, "svc");
	export_spans(e, r, 1, 4);
	/* A deadline already over: nothing is sent, everything counted. */
	e->shutdown(e, clock_mono_ns());
	assert_int_equal(STAT_GET(&stats, export_requests), 0);
	assert_int_equal(STAT_GET(&stats, spans_export_dropped_shutdown), 4);
	/* After shutdown the exporter takes nothing more. */
	struct span *late = numbered_span(r, 9);
	assert_int_equal(e->export_span(e, late), -ESHUTDOWN);
	assert_int_equal(STAT_GET(&stats, spans_export_dropped_shutdown), 5);
	span_unref(late);
	e->destroy(e);

	/* Destroy without shutdown also releases what is queued. */
	struct agent_stats stats2 = {0};
	e = otlp_exporter_new(&cfg, &stats2);
	otlp_config_free(&cfg);
	assert_non_null(e);
	export_spans(e, r, 1, 2);
	e->destroy(e);
	assert_int_equal(STAT_GET(&stats2, spans_export_dropped_shutdown), 2);
	assert_int_equal(r->refcount, 1);
	resource_unref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_encode_every_field, setup_fixture,
					    teardown_fixture),
	    cmocka_unit_test_setup_teardown(test_encode_json_matches_protobuf, setup_fixture,
					    teardown_fixture),
	    cmocka_unit_test(test_decode_json_export_response),
	    cmocka_unit_test(test_encode_attribute_value_limit),
	    cmocka_unit_test(test_encode_span_without_resource),
	    cmocka_unit_test(test_invalid_utf8_is_repaired_before_encoding),
	    cmocka_unit_test(test_encode_empty_and_bad_arguments),
	    cmocka_unit_test(test_decode_export_response),
	    cmocka_unit_test_setup(test_config_defaults, clear_otel_env),
	    cmocka_unit_test_setup(test_config_endpoint, clear_otel_env),
	    cmocka_unit_test_setup(test_config_headers, clear_otel_env),
	    cmocka_unit_test_setup(test_config_numbers_and_compression, clear_otel_env),
	    cmocka_unit_test_setup(test_config_grpc, clear_otel_env),
	    cmocka_unit_test_setup(test_exporter_gzip_post_on_shutdown, clear_otel_env),
	    cmocka_unit_test_setup(test_exporter_http_500_is_not_retried, clear_otel_env),
	    cmocka_unit_test_setup(test_exporter_429_retry_after_then_ok, clear_otel_env),
	    cmocka_unit_test_setup(test_exporter_503_retried_with_backoff, clear_otel_env),
	    cmocka_unit_test_setup(test_exporter_partial_success, clear_otel_env),
	    cmocka_unit_test_setup(test_exporter_full_queue_drops_oldest, clear_otel_env),
	    cmocka_unit_test_setup(test_exporter_full_queue_spills_to_spool, clear_otel_env),
	    cmocka_unit_test_setup(test_exporter_zero_delay_sends_without_shutdown, clear_otel_env),
	    cmocka_unit_test_setup(test_exporter_connection_refused, clear_otel_env),
	    cmocka_unit_test_setup(test_exporter_deadline_passed_and_destroy, clear_otel_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
