// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_otlp_encoder.c - spans with arbitrary strings (names, trace state,
 * status message, attribute values and string arrays, any bytes, any length)
 * go through both OTLP encoders with an arbitrary attribute value length
 * limit; every output is read back by an independent decoder: protobuf-c's
 * unpack of the generated types for protobuf, json-c for JSON. Both must hold
 * exactly the span's strings (string values cut to the limit at a UTF-8
 * boundary), valid UTF-8, and agree with each other.
 *
 * Input: byte 0 = number of spans (1..3), bytes 1-2 = limit (0: none), then
 * pieces separated by 0xff, used in turn as strings.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "export/otlp/otlp_encoder.h"
#include "model/span.h"
#include "lib/utf8.h"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest ExportRequest;
typedef Opentelemetry__Proto__Trace__V1__Span Span;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

struct pieces {
	const uint8_t *p;
	size_t len, off;
};

static const char *next_piece(struct pieces *in, size_t *n)
{
	if (in->off > in->len) {
		*n = 0;
		return "";
	}
	const uint8_t *start = in->p + in->off;
	const uint8_t *end = memchr(start, 0xff, in->len - in->off);
	*n = end ? (size_t)(end - start) : in->len - in->off;
	in->off += *n + 1;
	return (const char *)start;
}

/* What the encoder must send for a stored attribute string. */
static size_t expected_len(const char *s, size_t limit)
{
	size_t len = strlen(s);
	return limit && len > limit ? utf8_cut_len(s, limit) : len;
}

static bool valid_utf8(const char *s)
{
	size_t len = strlen(s), out_len;
	char *clean = utf8_sanitized_dup(s, len, &out_len);
	bool same = clean && out_len == len && memcmp(clean, s, len) == 0;
	free(clean);
	return same;
}

static void check_string(const char *got, const char *stored, size_t limit)
{
	size_t want = expected_len(stored, limit);
	CHECK(strlen(got) == want);
	CHECK(memcmp(got, stored, want) == 0);
	CHECK(valid_utf8(got));
}

static json_object *jget(json_object *o, const char *k)
{
	json_object *v = NULL;
	json_object_object_get_ex(o, k, &v);
	return v;
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v = jget(o, k);
	return v ? json_object_get_string(v) : "";
}

static void check_span(const Span *ps, json_object *js, const struct span *s, size_t limit)
{
	CHECK(strcmp(ps->name, s->name ? s->name : "") == 0);
	CHECK(strcmp(jstr(js, "name"), ps->name) == 0);
	CHECK(strcmp(ps->trace_state, s->trace_state ? s->trace_state : "") == 0);
	CHECK(strcmp(jstr(js, "traceState"), ps->trace_state) == 0);
	CHECK(ps->n_attributes == s->attrs.count);
	json_object *jattrs = jget(js, "attributes");
	CHECK(jattrs && json_object_array_length(jattrs) == ps->n_attributes);
	for (size_t i = 0; i < ps->n_attributes; i++) {
		const struct attribute *a = &s->attrs.items[i];
		const AnyValue *v = ps->attributes[i]->value;
		json_object *jv = jget(json_object_array_get_idx(jattrs, i), "value");
		CHECK(strcmp(ps->attributes[i]->key, a->key) == 0);
		if (a->type == ATTR_STRING) {
			check_string(v->string_value, a->str, limit);
			CHECK(strcmp(jstr(jv, "stringValue"), v->string_value) == 0);
		} else if (a->type == ATTR_STRING_ARRAY) {
			json_object *vals = jget(jget(jv, "arrayValue"), "values");
			size_t n = v->array_value->n_values;
			CHECK((vals ? json_object_array_length(vals) : 0) == n);
			const char *elem = a->str;
			for (size_t k = 0; k < n; k++) {
				const char *got = v->array_value->values[k]->string_value;
				check_string(got, elem, limit);
				CHECK(
				    strcmp(jstr(json_object_array_get_idx(vals, k), "stringValue"),
					   got) == 0);
				elem += strlen(elem) + 1;
			}
		} else if (a->type == ATTR_INT) {
			CHECK(v->int_value == a->i);
			CHECK(json_object_get_int64(jget(jv, "intValue")) == a->i);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	size_t n_spans = 1 + data[0] % 3;
	size_t limit = (size_t)(data[1] | data[2] << 8) % 5000;
	struct pieces in = {.p = data + 3, .len = size - 3};
	struct resource *r = resource_new(1234);
	struct span *spans[3] = {0};
	size_t n;
	const char *p;
	for (size_t i = 0; i < n_spans; i++) {
		struct span *s = spans[i] = span_new();
		s->resource = resource_ref(r);
		s->kind = SPAN_KIND_SERVER;
		s->trace_id[0] = (uint8_t)(i + 1);
		s->span_id[0] = (uint8_t)(i + 1);
		p = next_piece(&in, &n);
		char *name = strndup(p, n);
		span_set_name(s, name);
		free(name);
		p = next_piece(&in, &n);
		span_set_trace_state(s, p, n);
		p = next_piece(&in, &n);
		attribute_list_add_strn(&s->attrs, "fuzz.a", p, n);
		p = next_piece(&in, &n);
		attribute_list_add_strn(&s->attrs, "fuzz.b", p, n);
		attribute_list_add_int(&s->attrs, "fuzz.n", (int64_t)n * -7919);
		const char *args[3];
		char *copies[3];
		for (size_t k = 0; k < 3; k++) {
			p = next_piece(&in, &n);
			args[k] = copies[k] = strndup(p, n);
		}
		attribute_list_add_str_array(&s->attrs, "fuzz.args", args, 3);
		for (size_t k = 0; k < 3; k++)
			free(copies[k]);
	}

	struct otlp_encode_options pb_opts = {.attr_value_limit = limit};
	struct otlp_encode_options json_opts = {.json = true, .attr_value_limit = limit};
	uint8_t *pb = NULL, *js = NULL;
	size_t pb_len, js_len;
	CHECK(otlp_encode_request(spans, n_spans, &pb_opts, &pb, &pb_len) == 0);
	CHECK(otlp_encode_request(spans, n_spans, &json_opts, &js, &js_len) == 0);

	ExportRequest *req =
	    opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
		NULL, pb_len, pb);
	CHECK(req);
	json_tokener *tok = json_tokener_new();
	json_object *root = json_tokener_parse_ex(tok, (const char *)js, (int)js_len);
	CHECK(root && json_tokener_get_error(tok) == json_tokener_success);
	json_tokener_free(tok);

	CHECK(req->n_resource_spans == 1 && req->resource_spans[0]->n_scope_spans == 1);
	const struct Opentelemetry__Proto__Trace__V1__ScopeSpans *ss =
	    req->resource_spans[0]->scope_spans[0];
	CHECK(ss->n_spans == n_spans);
	json_object *jspans = jget(
	    json_object_array_get_idx(
		jget(json_object_array_get_idx(jget(root, "resourceSpans"), 0), "scopeSpans"), 0),
	    "spans");
	CHECK(jspans && json_object_array_length(jspans) == n_spans);
	for (size_t i = 0; i < n_spans; i++)
		check_span(ss->spans[i], json_object_array_get_idx(jspans, i), spans[i], limit);

	json_object_put(root);
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
	    req, NULL);
	otlp_encode_free(pb);
	otlp_encode_free(js);
	for (size_t i = 0; i < n_spans; i++)
		span_unref(spans[i]);
	resource_unref(r);
	return 0;
}
