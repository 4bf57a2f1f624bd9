// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_otlp_span_writer.c - the hand-written OTLP writer against protobuf-c.
 * Spans built from the input (any strings, any attribute types and values,
 * several resources or none, any value length limit) are written by the
 * writer one at a time, in batches, and encoded by otlp_encoder.c's
 * protobuf-c tree; protobuf-c must decode the writer's request, its fields
 * must equal those of the protobuf-c request, and the bytes must be the same.
 *
 * Input: byte 0 = limit selector, then records: one opcode byte, then its
 * operands. Strings are taken up to the next 0xff byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "export/otlp/otlp_encoder.h"
#include "export/otlp/otlp_span_writer.h"
#include "model/span.h"
#include "../unit/support/otlp_request_compare.h"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest ExportRequest;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

#define MAX_SPANS 8

struct input {
	const uint8_t *p;
	size_t len, off;
};

static uint8_t next_byte(struct input *in)
{
	return in->off < in->len ? in->p[in->off++] : 0;
}

static uint64_t next_u64(struct input *in)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | next_byte(in);
	return v;
}

/* A NUL-terminated copy of the bytes up to the next 0xff (any bytes, NUL too). */
static char *next_string(struct input *in, size_t *n)
{
	const uint8_t *start = in->p + in->off;
	size_t avail = in->len - in->off;
	const uint8_t *end = memchr(start, 0xff, avail);
	*n = end ? (size_t)(end - start) : avail;
	in->off += *n + (end ? 1 : 0);
	char *s = malloc(*n + 1);
	CHECK(s);
	memcpy(s, start, *n);
	s[*n] = '\0';
	return s;
}

static const char *const keys[] = {"http.request.method",
				   "url.path",
				   "k",
				   "",
				   "server.port",
				   "a.much.longer.attribute.key.than.the.others.for.sizes"};

static void add_attribute(struct input *in, struct attribute_list *l)
{
	const char *key = keys[next_byte(in) % (sizeof(keys) / sizeof(keys[0]))];
	size_t n;
	char *s;
	switch (next_byte(in) % 6) {
	case 0:
		s = next_string(in, &n);
		CHECK(attribute_list_add_strn(l, key, s, n) == 0);
		free(s);
		break;
	case 1:
		CHECK(attribute_list_add_int(l, key, (int64_t)next_u64(in)) == 0);
		break;
	case 2:
		CHECK(attribute_list_add_bool(l, key, next_byte(in) & 1) == 0);
		break;
	case 3: {
		uint64_t bits = next_u64(in);
		double d;
		memcpy(&d, &bits, sizeof(d));
		CHECK(attribute_list_add_double(l, key, d) == 0);
		break;
	}
	case 4: {
		size_t count = next_byte(in) % 4;
		char *elems[3];
		for (size_t i = 0; i < count; i++)
			elems[i] = next_string(in, &n);
		CHECK(attribute_list_add_str_array(l, key, (const char *const *)elems, count) == 0);
		for (size_t i = 0; i < count; i++)
			free(elems[i]);
		break;
	}
	default:
		s = next_string(in, &n);
		CHECK(attribute_list_add_str(l, key, s) == 0);
		free(s);
	}
}

static struct span *fuzz_span(struct input *in, struct resource *const *res)
{
	struct span *s = span_new();
	CHECK(s);
	uint8_t shape = next_byte(in);
	for (size_t i = 0; i < 16; i++)
		s->trace_id[i] = next_byte(in);
	for (size_t i = 0; i < 8; i++)
		s->span_id[i] = next_byte(in);
	if (shape & 1)
		for (size_t i = 0; i < 8; i++)
			s->parent_span_id[i] = next_byte(in);
	s->trace_flags = next_byte(in);
	s->kind = (enum span_kind)(next_byte(in) % 4);
	s->start_unix_ns = shape & 2 ? next_u64(in) : 0;
	s->end_unix_ns = shape & 4 ? next_u64(in) : 0;
	s->status_code = (enum span_status_code)(next_byte(in) % 3);
	size_t n;
	char *str = next_string(in, &n);
	if (shape & 8)
		CHECK(span_set_name(s, str) == 0);
	if (shape & 16)
		CHECK(span_set_trace_state(s, str, n) == 0);
	if (shape & 32)
		CHECK(span_set_status_message(s, str) == 0);
	free(str);
	s->resource = resource_ref(res[next_byte(in) % 3]);
	size_t n_attrs = next_byte(in) % 8;
	for (size_t i = 0; i < n_attrs; i++)
		add_attribute(in, &s->attrs);
	return s;
}

static void check_same(struct span *const *spans, size_t n, size_t limit, const uint8_t *got,
		       size_t got_len)
{
	struct otlp_encode_options o = {.attr_value_limit = limit};
	uint8_t *want;
	size_t want_len;
	CHECK(otlp_encode_request(spans, n, &o, &want, &want_len) == 0);
	ExportRequest *a =
	    opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
		NULL, want_len, want);
	ExportRequest *b =
	    opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
		NULL, got_len, got);
	CHECK(a && b);
	CHECK(cmp_export_requests(a, b) == NULL);
	CHECK(got_len == want_len && memcmp(got, want, want_len) == 0);
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
	    a, NULL);
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
	    b, NULL);
	otlp_encode_free(want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t limits[] = {0, 0, 1, 2, 3, 5, 17, 64};
	struct input in = {.p = data, .len = size};
	size_t limit = limits[next_byte(&in) % 8];
	struct resource *res[3] = {resource_new(11), resource_new(22), NULL};
	CHECK(res[0] && res[1]);
	for (size_t r = 0; r < 2; r++) {
		size_t n_attrs = next_byte(&in) % 4;
		for (size_t i = 0; i < n_attrs; i++)
			add_attribute(&in, &res[r]->attrs);
	}
	struct otlp_span_writer w;
	otlp_span_writer_init(&w, limit);
	/* Batches until the input ends; each is checked when sealed. */
	while (in.off < in.len) {
		struct span *spans[MAX_SPANS];
		size_t n = 1 + next_byte(&in) % MAX_SPANS;
		for (size_t i = 0; i < n; i++) {
			spans[i] = fuzz_span(&in, res);
			CHECK(otlp_span_writer_add(&w, spans[i]) == 0);
		}
		uint8_t *got;
		size_t got_len;
		CHECK(otlp_span_writer_seal(&w, &got, &got_len) == 0);
		check_same(spans, n, limit, got, got_len);
		free(got);
		for (size_t i = 0; i < n; i++)
			span_unref(spans[i]);
	}
	otlp_span_writer_free(&w);
	resource_unref(res[0]);
	resource_unref(res[1]);
	return 0;
}
