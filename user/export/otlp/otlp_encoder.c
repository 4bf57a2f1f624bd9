// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * otlp_encoder.c - spans to an OTLP ExportTraceServiceRequest.
 *
 * The protobuf-c message tree only points at the spans' own bytes where it
 * can; everything the encoder has to allocate (messages, pointer arrays,
 * repaired strings) comes from one arena that is released in a single step
 * after packing, so no error path can leak part of the tree.
 */
#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "export/otlp/otlp_encoder.h"
#include "export/otlp/otlp_json.h"
#include "lib/utf8.h"

typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Common__V1__ArrayValue ArrayValue;
typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope InstrumentationScope;
typedef Opentelemetry__Proto__Resource__V1__Resource Resource;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans ResourceSpans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans ScopeSpans;
typedef Opentelemetry__Proto__Trace__V1__Span Span;
typedef Opentelemetry__Proto__Trace__V1__Status Status;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest ExportRequest;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse ExportResponse;

/* The generated names, shortened. */
#define request_packed_size                                                                        \
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size
#define request_pack opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack
#define response_unpack                                                                            \
	opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack
#define response_free                                                                              \
	opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked

/* The numeric values of span.h's enums are the OTLP ones; keep it that way. */
#define SAME_VALUE(a, b) ((int)(a) == (int)(b))
_Static_assert(SAME_VALUE(SPAN_KIND_INTERNAL,
			  OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL) &&
		   SAME_VALUE(SPAN_KIND_SERVER,
			      OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER) &&
		   SAME_VALUE(SPAN_KIND_CLIENT,
			      OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT),
	       "span_kind must match Span.SpanKind");
_Static_assert(
    SAME_VALUE(SPAN_STATUS_OK,
	       OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_OK) &&
	SAME_VALUE(SPAN_STATUS_ERROR,
		   OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR),
    "span_status_code must match Status.StatusCode");
_Static_assert(OTLP_SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK ==
		   OPENTELEMETRY__PROTO__TRACE__V1__SPAN_FLAGS__SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK,
	       "span flag masks must match trace.proto");

/* --- arena ---------------------------------------------------------------------------------- */

/* Large enough that a typical batch needs a handful of blocks. */
#define ARENA_BLOCK_SIZE (64 * 1024)

struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	max_align_t data[];
};

struct arena {
	struct arena_block *head;
	size_t value_limit; /* attribute string values are cut to this; 0: no limit */
};

static void *arena_alloc(struct arena *a, size_t size)
{
	size = (size + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
	struct arena_block *b = a->head;
	if (!b || b->cap - b->used < size) {
		size_t cap = size > ARENA_BLOCK_SIZE ? size : ARENA_BLOCK_SIZE;
		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = a->head;
		b->used = 0;
		b->cap = cap;
		a->head = b;
	}
	void *p = (char *)b->data + b->used;
	b->used += size;
	return p;
}

static void arena_free(struct arena *a)
{
	while (a->head) {
		struct arena_block *next = a->head->next;
		free(a->head);
		a->head = next;
	}
}

/* --- strings ---------------------------------------------------------------------------------- */

/* protobuf-c skips empty proto3 strings; it only reads this, never writes. */
static char empty_string[] = "";

/*
 * A string for a proto3 string field. Span and resource strings are valid
 * UTF-8 already (span.c repairs them when they are set), so they are used
 * as they are; NULL becomes "".
 */
static char *wire_string(const char *s)
{
	return s ? (char *)s : empty_string;
}

/* --- attributes ------------------------------------------------------------------------------- */

/* s cut to the attribute value length limit (sdk.md, "Attribute Limits"). */
static char *limited_string(struct arena *a, char *s)
{
	size_t len;
	if (!s || !a->value_limit || (len = strlen(s)) <= a->value_limit)
		return wire_string(s);
	len = utf8_cut_len(s, a->value_limit);
	char *cut = arena_alloc(a, len + 1);
	if (!cut)
		return NULL;
	memcpy(cut, s, len);
	cut[len] = '\0';
	return cut;
}

static AnyValue *new_string_value(struct arena *a, char *s)
{
	AnyValue *v = arena_alloc(a, sizeof(*v));
	if (!v)
		return NULL;
	*v = (AnyValue)OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
	v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
	v->string_value = limited_string(a, s);
	return v->string_value ? v : NULL;
}

/* ATTR_STRING_ARRAY holds its elements back to back, each NUL-terminated. */
static ArrayValue *new_string_array(struct arena *a, char *packed, size_t packed_len)
{
	ArrayValue *arr = arena_alloc(a, sizeof(*arr));
	if (!arr)
		return NULL;
	*arr = (ArrayValue)OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
	size_t n = 0;
	for (size_t i = 0; i < packed_len; i++)
		n += packed[i] == '\0';
	if (!n)
		return arr;
	arr->values = arena_alloc(a, n * sizeof(*arr->values));
	if (!arr->values)
		return NULL;
	char *elem = packed;
	for (size_t i = 0; i < n; i++) {
		arr->values[i] = new_string_value(a, elem);
		if (!arr->values[i])
			return NULL;
		elem += strlen(elem) + 1;
	}
	arr->n_values = n;
	return arr;
}

static AnyValue *new_any_value(struct arena *a, const struct attribute *attr)
{
	if (attr->type == ATTR_STRING)
		return new_string_value(a, attr->str);
	AnyValue *v = arena_alloc(a, sizeof(*v));
	if (!v)
		return NULL;
	*v = (AnyValue)OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
	switch (attr->type) {
	case ATTR_INT:
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
		v->int_value = attr->i;
		break;
	case ATTR_BOOL:
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
		v->bool_value = attr->b;
		break;
	case ATTR_DOUBLE:
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
		v->double_value = attr->d;
		break;
	case ATTR_STRING_ARRAY:
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
		v->array_value = new_string_array(a, attr->str, attr->str_len);
		if (!v->array_value)
			return NULL;
		break;
	default:
		/* An unknown type is sent as an empty value rather than guessed at. */
		break;
	}
	return v;
}

static int encode_attributes(struct arena *a, const struct attribute_list *l, KeyValue ***out,
			     size_t *n_out)
{
	*out = NULL;
	*n_out = 0;
	if (!l->count)
		return 0;
	KeyValue **kvs = arena_alloc(a, l->count * sizeof(*kvs));
	if (!kvs)
		return -ENOMEM;
	for (size_t i = 0; i < l->count; i++) {
		KeyValue *kv = arena_alloc(a, sizeof(*kv));
		if (!kv)
			return -ENOMEM;
		*kv = (KeyValue)OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
		kv->key = wire_string(l->items[i].key);
		kv->value = new_any_value(a, &l->items[i]);
		if (!kv->key || !kv->value)
			return -ENOMEM;
		kvs[i] = kv;
	}
	*out = kvs;
	*n_out = l->count;
	return 0;
}

/* --- spans ------------------------------------------------------------------------------------ */

uint32_t otlp_span_flags(const struct span *s)
{
	uint32_t flags = s->trace_flags & OTLP_SPAN_FLAGS_TRACE_FLAGS_MASK;
	if (!span_has_parent(s))
		return flags;
	/*
	 * A SERVER span's parent came in with the request (traceparent), so it
	 * ran in the caller's process; any other span's parent is a span this
	 * agent made for the same process.
	 */
	flags |= OTLP_SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK;
	if (s->kind == SPAN_KIND_SERVER)
		flags |= OTLP_SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK;
	return flags;
}

static Status *encode_status(struct arena *a, struct span *s)
{
	Status *st = arena_alloc(a, sizeof(*st));
	if (!st)
		return NULL;
	*st = (Status)OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
	st->code = (Opentelemetry__Proto__Trace__V1__Status__StatusCode)s->status_code;
	st->message = wire_string(s->status_message);
	return st->message ? st : NULL;
}

static Span *encode_span(struct arena *a, struct span *s)
{
	Span *out = arena_alloc(a, sizeof(*out));
	if (!out)
		return NULL;
	*out = (Span)OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
	out->trace_id = (ProtobufCBinaryData){sizeof(s->trace_id), s->trace_id};
	out->span_id = (ProtobufCBinaryData){sizeof(s->span_id), s->span_id};
	/* trace.proto: "If this is a root span, then this field must be empty." */
	if (span_has_parent(s))
		out->parent_span_id =
		    (ProtobufCBinaryData){sizeof(s->parent_span_id), s->parent_span_id};
	out->flags = otlp_span_flags(s);
	out->trace_state = wire_string(s->trace_state);
	out->name = wire_string(s->name);
	out->kind = (Opentelemetry__Proto__Trace__V1__Span__SpanKind)s->kind;
	out->start_time_unix_nano = s->start_unix_ns;
	out->end_time_unix_nano = s->end_unix_ns;
	if (!out->trace_state || !out->name)
		return NULL;
	if (encode_attributes(a, &s->attrs, &out->attributes, &out->n_attributes))
		return NULL;
	/* An absent Status means UNSET, so only a set one is sent. */
	if (s->status_code != SPAN_STATUS_UNSET || s->status_message) {
		out->status = encode_status(a, s);
		if (!out->status)
			return NULL;
	}
	return out;
}

/* --- request ---------------------------------------------------------------------------------- */

/* All spans of one resource, in the order they were given. */
struct resource_group {
	struct resource *resource;
	ResourceSpans *resource_spans;
	ScopeSpans *scope_spans;
};

static ResourceSpans *new_resource_spans(struct arena *a, struct resource *r,
					 InstrumentationScope *scope, size_t n_spans,
					 ScopeSpans **scope_spans_out)
{
	ResourceSpans *rs = arena_alloc(a, sizeof(*rs));
	ScopeSpans *ss = arena_alloc(a, sizeof(*ss));
	ScopeSpans **ss_list = arena_alloc(a, sizeof(*ss_list));
	Span **spans = arena_alloc(a, n_spans * sizeof(*spans));
	if (!rs || !ss || !ss_list || !spans)
		return NULL;
	*rs = (ResourceSpans)OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
	*ss = (ScopeSpans)OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
	ss->scope = scope;
	ss->spans = spans; /* n_spans grows as the spans are encoded */
	ss_list[0] = ss;
	rs->scope_spans = ss_list;
	rs->n_scope_spans = 1;
	/* A span without a resource goes out without one: "no resource info is known". */
	if (r) {
		Resource *res = arena_alloc(a, sizeof(*res));
		if (!res)
			return NULL;
		*res = (Resource)OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
		if (encode_attributes(a, &r->attrs, &res->attributes, &res->n_attributes))
			return NULL;
		rs->resource = res;
	}
	*scope_spans_out = ss;
	return rs;
}

static int build_request(struct arena *a, struct span *const *spans, size_t n, ExportRequest *req)
{
	if (!n)
		return 0;
	static char scope_name[] = OTLP_SCOPE_NAME;
	static char scope_version[] = KSPAN_VERSION;
	InstrumentationScope *scope = arena_alloc(a, sizeof(*scope));
	struct resource_group *groups = arena_alloc(a, n * sizeof(*groups));
	size_t *group_of = arena_alloc(a, n * sizeof(*group_of));
	size_t *group_len = arena_alloc(a, n * sizeof(*group_len));
	if (!scope || !groups || !group_of || !group_len)
		return -ENOMEM;
	*scope =
	    (InstrumentationScope)OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
	scope->name = scope_name;
	scope->version = scope_version;

	/* A batch holds spans of few processes, so a linear search is enough. */
	size_t n_groups = 0;
	for (size_t i = 0; i < n; i++) {
		if (!spans[i])
			return -EINVAL;
		size_t g = 0;
		while (g < n_groups && groups[g].resource != spans[i]->resource)
			g++;
		if (g == n_groups) {
			groups[g].resource = spans[i]->resource;
			group_len[g] = 0;
			n_groups++;
		}
		group_of[i] = g;
		group_len[g]++;
	}

	req->resource_spans = arena_alloc(a, n_groups * sizeof(*req->resource_spans));
	if (!req->resource_spans)
		return -ENOMEM;
	for (size_t g = 0; g < n_groups; g++) {
		groups[g].resource_spans = new_resource_spans(a, groups[g].resource, scope,
							      group_len[g], &groups[g].scope_spans);
		if (!groups[g].resource_spans)
			return -ENOMEM;
		req->resource_spans[g] = groups[g].resource_spans;
	}
	req->n_resource_spans = n_groups;

	for (size_t i = 0; i < n; i++) {
		ScopeSpans *ss = groups[group_of[i]].scope_spans;
		Span *span = encode_span(a, spans[i]);
		if (!span)
			return -ENOMEM;
		ss->spans[ss->n_spans++] = span;
	}
	return 0;
}

int otlp_encode_request(struct span *const *spans, size_t n, const struct otlp_encode_options *o,
			uint8_t **out, size_t *out_len)
{
	if (!out || !out_len || (n && !spans))
		return -EINVAL;
	*out = NULL;
	*out_len = 0;

	struct arena arena = {.value_limit = o ? o->attr_value_limit : 0};
	ExportRequest req =
	    OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
	int err = build_request(&arena, spans, n, &req);
	if (!err && o && o->json) {
		err = otlp_json_write(&req.base, (char **)out, out_len);
	} else if (!err) {
		size_t len = request_packed_size(&req);
		/* malloc(0) may return NULL; an empty request is still a success. */
		uint8_t *buf = malloc(len ? len : 1);
		if (buf) {
			*out_len = request_pack(&req, buf);
			*out = buf;
		} else {
			err = -ENOMEM;
		}
	}
	arena_free(&arena);
	return err;
}

int otlp_encode_traces(struct span *const *spans, size_t n, uint8_t **out, size_t *out_len)
{
	return otlp_encode_request(spans, n, NULL, out, out_len);
}

int otlp_encode_traces_json(struct span *const *spans, size_t n, uint8_t **out, size_t *out_len)
{
	struct otlp_encode_options o = {.json = true};
	return otlp_encode_request(spans, n, &o, out, out_len);
}

void otlp_encode_free(uint8_t *buf)
{
	free(buf);
}

/* --- response --------------------------------------------------------------------------------- */

int otlp_decode_export_response(const uint8_t *buf, size_t len, int64_t *rejected_spans, char *msg,
				size_t msg_size)
{
	*rejected_spans = 0;
	if (msg_size)
		msg[0] = '\0';
	ExportResponse *resp = response_unpack(NULL, len, buf);
	if (!resp)
		return -EBADMSG;
	if (resp->partial_success) {
		*rejected_spans = resp->partial_success->rejected_spans;
		if (msg_size && resp->partial_success->error_message)
			snprintf(msg, msg_size, "%s", resp->partial_success->error_message);
	}
	response_free(resp, NULL);
	return 0;
}
