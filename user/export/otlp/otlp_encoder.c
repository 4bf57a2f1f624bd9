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
#include "export/otlp/otlp_proto_common.h"
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

static Status *encode_status(struct otlp_arena *a, struct span *s)
{
	Status *st = otlp_arena_alloc(a, sizeof(*st));
	if (!st)
		return NULL;
	*st = (Status)OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
	st->code = (Opentelemetry__Proto__Trace__V1__Status__StatusCode)s->status_code;
	st->message = otlp_wire_string(s->status_message);
	return st->message ? st : NULL;
}

static Span *encode_span(struct otlp_arena *a, struct span *s)
{
	Span *out = otlp_arena_alloc(a, sizeof(*out));
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
	out->trace_state = otlp_wire_string(s->trace_state);
	out->name = otlp_wire_string(s->name);
	out->kind = (Opentelemetry__Proto__Trace__V1__Span__SpanKind)s->kind;
	out->start_time_unix_nano = s->start_unix_ns;
	out->end_time_unix_nano = s->end_unix_ns;
	if (!out->trace_state || !out->name)
		return NULL;
	if (otlp_encode_attributes(a, &s->attrs, &out->attributes, &out->n_attributes))
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

static ResourceSpans *new_resource_spans(struct otlp_arena *a, struct resource *r,
					 InstrumentationScope *scope, size_t n_spans,
					 ScopeSpans **scope_spans_out)
{
	ResourceSpans *rs = otlp_arena_alloc(a, sizeof(*rs));
	ScopeSpans *ss = otlp_arena_alloc(a, sizeof(*ss));
	ScopeSpans **ss_list = otlp_arena_alloc(a, sizeof(*ss_list));
	Span **spans = otlp_arena_alloc(a, n_spans * sizeof(*spans));
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
		Resource *res = otlp_arena_alloc(a, sizeof(*res));
		if (!res)
			return NULL;
		*res = (Resource)OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
		if (otlp_encode_attributes(a, &r->attrs, &res->attributes, &res->n_attributes))
			return NULL;
		rs->resource = res;
	}
	*scope_spans_out = ss;
	return rs;
}

static int build_request(struct otlp_arena *a, struct span *const *spans, size_t n,
			 ExportRequest *req)
{
	if (!n)
		return 0;
	static char scope_name[] = OTLP_SCOPE_NAME;
	static char scope_version[] = KSPAN_VERSION;
	InstrumentationScope *scope = otlp_arena_alloc(a, sizeof(*scope));
	struct resource_group *groups = otlp_arena_alloc(a, n * sizeof(*groups));
	size_t *group_of = otlp_arena_alloc(a, n * sizeof(*group_of));
	size_t *group_len = otlp_arena_alloc(a, n * sizeof(*group_len));
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

	req->resource_spans = otlp_arena_alloc(a, n_groups * sizeof(*req->resource_spans));
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

	struct otlp_arena arena = {.value_limit = o ? o->attr_value_limit : 0};
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
	otlp_arena_free(&arena);
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
