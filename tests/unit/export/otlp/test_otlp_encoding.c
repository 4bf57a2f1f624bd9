// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_otlp_encoding.c - the OTLP encoders (protobuf and JSON) and the export
 * response decoders.
 *
 * The encoder's output is read back with the protobuf-c code generated from
 * the same .proto files, and every field kspan sets is compared with the
 * span it came from; the JSON encoding is checked against the protobuf one.
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

/* ================================ encoder ================================== */

struct fixture {
	struct resource *res_a, *res_b;
	struct span *spans[4];
};

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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
