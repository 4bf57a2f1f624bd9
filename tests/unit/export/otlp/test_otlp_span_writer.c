// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_otlp_span_writer.c - the hand-written OTLP writer against protobuf-c:
 * for the same spans, the writer's request and the protobuf-c encoder's
 * request (otlp_encoder.c) are the same bytes, and protobuf-c decodes the
 * writer's request into the same fields. Spans cover every field and every
 * attribute type kspan sends, several resources, spans without a resource,
 * the attribute value limit, and batches written one span at a time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "export/otlp/otlp_encoder.h"
#include "export/otlp/otlp_span_writer.h"
#include "support/otlp_request_compare.h"
#include "support/otlp_test_data.h"

#define N_SPANS 7

struct fixture {
	struct resource *res[2];
	struct span *spans[N_SPANS];
};

static struct resource *writer_resource(uint32_t pid, const char *service)
{
	struct resource *r = resource_new(pid);
	assert_non_null(r);
	assert_int_equal(attribute_list_add_str(&r->attrs, "service.name", service), 0);
	assert_int_equal(attribute_list_add_int(&r->attrs, "process.pid", pid), 0);
	const char *args[] = {"/usr/bin/app", "--port", "8080"};
	assert_int_equal(attribute_list_add_str_array(&r->attrs, "process.command_args", args, 3),
			 0);
	return r;
}

static struct span *writer_span(struct resource *r, unsigned i)
{
	struct span *s = span_new();
	assert_non_null(s);
	for (int k = 0; k < 16; k++)
		s->trace_id[k] = (uint8_t)(i * 17 + k + 1);
	for (int k = 0; k < 8; k++)
		s->span_id[k] = (uint8_t)(i * 5 + k + 1);
	s->resource = r ? resource_ref(r) : NULL;
	s->kind = (enum span_kind)(i % 4);
	s->trace_flags = (uint8_t)(i & 1);
	if (i % 3)
		s->start_unix_ns = 1700000000000000000ull + i;
	if (i % 5)
		s->end_unix_ns = 1700000000000000000ull + 1000 * i;
	if (i % 2)
		for (int k = 0; k < 8; k++)
			s->parent_span_id[k] = (uint8_t)(0xa0 + k);
	if (i != 4)
		assert_int_equal(span_set_name(s, i == 3 ? "caf\xc3\xa9 \xff" : "GET /orders/{id}"),
				 0);
	if (i == 1)
		assert_int_equal(span_set_trace_state(s, "k1=v1,k2=v2", 11), 0);
	if (i == 2)
		s->status_code = SPAN_STATUS_ERROR;
	if (i == 5)
		assert_int_equal(span_set_status_message(s, "connection reset"), 0);
	struct attribute_list *a = &s->attrs;
	assert_int_equal(attribute_list_add_str(a, "http.request.method", "GET"), 0);
	assert_int_equal(attribute_list_add_str(a, "url.path", "/orders/12345?x=\xe2\x82\xac"), 0);
	assert_int_equal(attribute_list_add_str(a, "empty", ""), 0);
	assert_int_equal(attribute_list_add_str(a, "", "an empty key is left out"), 0);
	assert_int_equal(attribute_list_add_int(a, "http.response.status_code", 200 + i), 0);
	assert_int_equal(attribute_list_add_int(a, "zero", 0), 0);
	assert_int_equal(attribute_list_add_int(a, "negative", -(int64_t)i - 1), 0);
	assert_int_equal(attribute_list_add_int(a, "large", INT64_MAX - i), 0);
	assert_int_equal(attribute_list_add_bool(a, "flag", i & 1), 0);
	assert_int_equal(attribute_list_add_double(a, "ratio", 0.25 * i), 0);
	const char *args[] = {"a", "", "\xce\xb1\xce\xb2\xce\xb3 long enough to be cut"};
	assert_int_equal(attribute_list_add_str_array(a, "args", args, i % 4), 0);
	if (i == 6) {
		char big[600];
		memset(big, 'x', sizeof(big));
		memcpy(big + 200, "\xe2\x82\xac", 3); /* a cut lands inside this sequence */
		assert_int_equal(attribute_list_add_strn(a, "big", big, sizeof(big)), 0);
	}
	return s;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->res[0] = writer_resource(100, "checkout");
	f->res[1] = writer_resource(200, "payments");
	/* Resources interleaved, and one span without any. */
	struct resource *order[N_SPANS] = {f->res[0], f->res[1], f->res[0], NULL,
					   f->res[1], f->res[0], f->res[1]};
	for (unsigned i = 0; i < N_SPANS; i++)
		f->spans[i] = writer_span(order[i], i);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	for (unsigned i = 0; i < N_SPANS; i++)
		span_unref(f->spans[i]);
	resource_unref(f->res[0]);
	resource_unref(f->res[1]);
	free(f);
	return 0;
}

/* The writer's bytes equal protobuf-c's, and decode to the same fields. */
static void assert_same_as_protobuf_c(struct span *const *spans, size_t n, size_t limit)
{
	struct otlp_encode_options o = {.attr_value_limit = limit};
	uint8_t *want, *got;
	size_t want_len, got_len;
	assert_int_equal(otlp_encode_request(spans, n, &o, &want, &want_len), 0);
	assert_int_equal(otlp_span_writer_encode(spans, n, limit, &got, &got_len), 0);
	ExportRequest *a = unpack_request(want, want_len);
	ExportRequest *b = unpack_request(got, got_len);
	const char *why = cmp_export_requests(a, b);
	if (why)
		fail_msg("decoded requests differ: %s", why);
	assert_int_equal(got_len, want_len);
	assert_memory_equal(got, want, want_len);
	free_request(a);
	free_request(b);
	otlp_encode_free(want);
	free(got);
}

static void test_every_field_matches_protobuf_c(void **state)
{
	struct fixture *f = *state;
	assert_same_as_protobuf_c(f->spans, N_SPANS, 0);
	for (size_t i = 0; i < N_SPANS; i++)
		assert_same_as_protobuf_c(&f->spans[i], 1, 0);
}

static void test_value_limit_matches_protobuf_c(void **state)
{
	struct fixture *f = *state;
	static const size_t limits[] = {1, 2, 3, 7, 12, 201, 202, 4096};
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		assert_same_as_protobuf_c(f->spans, N_SPANS, limits[i]);
}

/* Groups are reused across batches: the second batch meets the resources in
 * another order and must list them in that order. */
static void test_batches_in_turn(void **state)
{
	struct fixture *f = *state;
	struct otlp_span_writer w;
	otlp_span_writer_init(&w, 0);
	struct span *second[] = {f->spans[1], f->spans[3], f->spans[0], f->spans[4]};
	for (int round = 0; round < 3; round++) {
		struct span *const *batch = round == 1 ? second : f->spans;
		size_t n = round == 1 ? 4 : N_SPANS;
		for (size_t i = 0; i < n; i++)
			assert_int_equal(otlp_span_writer_add(&w, batch[i]), 0);
		uint8_t *got, *want;
		size_t got_len, want_len;
		assert_int_equal(otlp_span_writer_seal(&w, &got, &got_len), 0);
		assert_int_equal(otlp_encode_request(batch, n, NULL, &want, &want_len), 0);
		assert_int_equal(got_len, want_len);
		assert_memory_equal(got, want, want_len);
		free(got);
		otlp_encode_free(want);
	}
	/* Nothing added: nothing to send. */
	uint8_t *none = (uint8_t *)"x";
	size_t none_len = 1;
	assert_int_equal(otlp_span_writer_seal(&w, &none, &none_len), 0);
	assert_null(none);
	assert_int_equal(none_len, 0);
	otlp_span_writer_free(&w);
}

/* The writer holds resources, not spans: a span can go once added. */
/*
 * The writer leaves two bytes for a Span's length and one for each KeyValue's
 * and AnyValue's, and moves a body whose length needs another size: a Span
 * under 128 bytes (ids only), one of 16384 bytes or more (five 4000-byte
 * values), values of 128 bytes and more.
 */
static void test_lengths_of_every_size(void **state)
{
	(void)state;
	struct span *small = span_new(), *large = span_new();
	assert_non_null(small);
	assert_non_null(large);
	small->span_id[0] = 1;
	large->span_id[0] = 2;
	assert_int_equal(span_set_name(large, "GET"), 0);
	char value[4000];
	memset(value, 'v', sizeof(value));
	for (size_t len = 120; len <= 136; len++)
		assert_int_equal(attribute_list_add_strn(&large->attrs, "edge", value, len), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(
		    attribute_list_add_strn(&large->attrs, "big", value, sizeof(value)), 0);
	struct span *both[] = {small, large};
	assert_same_as_protobuf_c(&small, 1, 0);
	assert_same_as_protobuf_c(&large, 1, 0);
	assert_same_as_protobuf_c(both, 2, 0);
	assert_same_as_protobuf_c(both, 2, 130);
	span_unref(small);
	span_unref(large);
}

static void test_keeps_no_span_reference(void **state)
{
	struct fixture *f = *state;
	struct otlp_span_writer w;
	otlp_span_writer_init(&w, 0);
	struct span *s = writer_span(f->res[0], 2);
	assert_int_equal(otlp_span_writer_add(&w, s), 0);
	assert_int_equal(s->refcount, 1);
	span_unref(s);
	uint8_t *got;
	size_t got_len;
	assert_int_equal(otlp_span_writer_seal(&w, &got, &got_len), 0);
	ExportRequest *req = unpack_request(got, got_len);
	assert_int_equal(req->n_resource_spans, 1);
	assert_string_equal(req->resource_spans[0]->scope_spans[0]->spans[0]->name,
			    "GET /orders/{id}");
	free_request(req);
	free(got);
	otlp_span_writer_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_every_field_matches_protobuf_c, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_value_limit_matches_protobuf_c, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batches_in_turn, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keeps_no_span_reference, setup, teardown),
	    cmocka_unit_test(test_lengths_of_every_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
