// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_http1_trace_context.c - which ids an HTTP/1 span gets: the kernel's context, the
 * request's traceparent and tracestate, or its own.
 * The fixture and its rules: support/http1_harness.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/http1_harness.h"

static void test_ctx_kernel_parent_and_tracestate(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x7771);
	struct kspan_trace_ctx k = kernel_ctx(K_TRACE, K_SPAN, K_PARENT);
	const struct span *s;

	serve(h, &c, T0 + 100,
	      "GET /t HTTP/1.1\r\nHost: h\r\ntraceparent: 00-" K_TRACE "-" K_PARENT
	      "-01\r\ntracestate: vendor=opaque,other=1\r\n\r\n",
	      &k);
	s = nth_span(h, 1);
	assert_ids(s, K_TRACE, K_SPAN, K_PARENT);
	assert_int_equal(s->trace_flags & 1, 1);
	assert_non_null(s->trace_state);
	assert_string_equal(s->trace_state, "vendor=opaque,other=1");
	assert_int_equal(STAT(h, invalid_kernel_ids), 0);
}

/* Ids the kernel sent that cannot be valid are replaced, and counted. */
static void test_ctx_invalid_kernel_ids_replaced(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x7772);
	struct kspan_trace_ctx zero_trace = kernel_ctx(ZERO_TRACE, K_SPAN, NULL);
	struct kspan_trace_ctx zero_span = kernel_ctx(K_TRACE, "0000000000000000", NULL);
	struct kspan_trace_ctx zero_parent = kernel_ctx(K_TRACE, K_SPAN, NO_PARENT);
	const struct kspan_trace_ctx *bad[] = {&zero_trace, &zero_span, &zero_parent};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const struct span *s;

		serve(h, &c, T0 + 1000 * i, "GET /bad HTTP/1.1\r\nHost: h\r\n\r\n", bad[i]);
		s = nth_span(h, i + 1);
		assert_fresh_ids(s, K_TRACE, K_SPAN);
		assert_hex(s->parent_span_id, 8, NO_PARENT, "parent span id");
		assert_int_equal(s->trace_flags, 1);
		assert_int_equal(STAT(h, invalid_kernel_ids), i + 1);
	}
	/* Every span got ids of its own. */
	assert_memory_not_equal(span_at(h, 0)->span_id, span_at(h, 1)->span_id, 8);
	assert_memory_not_equal(span_at(h, 1)->trace_id, span_at(h, 2)->trace_id, 16);

	/* An invalid kernel context does not hide a valid header. */
	serve(h, &c, T0 + 5000,
	      "GET /bad HTTP/1.1\r\nHost: h\r\ntraceparent: 00-" H_TRACE "-" H_PARENT "-01\r\n\r\n",
	      &zero_trace);
	assert_hex(nth_span(h, 4)->trace_id, 16, H_TRACE, "trace id");
	assert_hex(span_at(h, 3)->parent_span_id, 8, H_PARENT, "parent span id");
	assert_int_equal(STAT(h, invalid_kernel_ids), 4);
}

/* The kernel saw no traceparent (past its scan window, or split across
 * reads); userspace finds it: trace and parent come from the header, the
 * span keeps the id the kernel gave it. */
static void test_ctx_parent_from_header(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x7773);
	struct kspan_trace_ctx k = kernel_ctx(K_TRACE, K_SPAN, NULL);
	const struct span *s;

	serve(h, &c, T0 + 100,
	      "GET /t HTTP/1.1\r\nHost: h\r\ntraceparent: 00-" H_TRACE "-" H_PARENT
	      "-01\r\ntracestate: congo=t61rcWkgMzE\r\n\r\n",
	      &k);
	s = nth_span(h, 1);
	assert_ids(s, H_TRACE, K_SPAN, H_PARENT);
	assert_int_equal(s->trace_flags, 1);
	assert_non_null(s->trace_state);
	assert_string_equal(s->trace_state, "congo=t61rcWkgMzE");

	/* The parent said "not sampled": parentbased_always_on drops it. */
	serve(h, &c, T0 + 300,
	      "GET /t HTTP/1.1\r\nHost: h\r\ntraceparent: 00-" H_TRACE "-" H_PARENT "-00\r\n\r\n",
	      &k);
	assert_span_count(h, 1);
	assert_int_equal(STAT(h, spans_created), 2);
	assert_int_equal(STAT(h, spans_sampled_out), 1);
}

/* W3C Trace Context section 3.3: tracestate means nothing without a valid
 * traceparent. */
static void test_ctx_tracestate_only_with_parent(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x7774);
	struct kspan_trace_ctx k = kernel_ctx(K_TRACE, K_SPAN, NULL);

	serve(h, &c, T0 + 100, "GET /t HTTP/1.1\r\nHost: h\r\ntracestate: a=b\r\n\r\n", &k);
	/* Uppercase hex: an invalid traceparent, so no parent either. */
	serve(h, &c, T0 + 300,
	      "GET /t HTTP/1.1\r\nHost: h\r\n"
	      "traceparent: 00-0AF7651916CD43DD8448EB211C80319C-" H_PARENT "-01\r\n"
	      "tracestate: a=b\r\n\r\n",
	      NULL);
	assert_span_count(h, 2);
	assert_ids(span_at(h, 0), K_TRACE, K_SPAN, NO_PARENT);
	assert_null(span_at(h, 0)->trace_state);
	assert_hex(span_at(h, 1)->parent_span_id, 8, NO_PARENT, "parent span id");
	assert_null(span_at(h, 1)->trace_state);
}

/* No context from the kernel at all: userspace decides, nothing counted. */
static void test_ctx_userspace_when_kernel_has_none(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x7775);
	struct kspan_trace_ctx k = kernel_ctx(K_TRACE, K_SPAN, NULL);
	const struct span *s;

	k.flags = 0; /* ids present but not marked valid: not to be used */
	serve(h, &c, T0 + 100, "GET /t HTTP/1.1\r\nHost: h\r\n\r\n", &k);
	s = nth_span(h, 1);
	assert_fresh_ids(s, K_TRACE, K_SPAN);
	assert_hex(s->parent_span_id, 8, NO_PARENT, "parent span id");
	assert_int_equal(s->trace_flags, 1);
	assert_int_equal(STAT(h, invalid_kernel_ids), 0);
}

int main(void)
{
#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    TEST(test_ctx_kernel_parent_and_tracestate),
	    TEST(test_ctx_invalid_kernel_ids_replaced),
	    TEST(test_ctx_parent_from_header),
	    TEST(test_ctx_tracestate_only_with_parent),
	    TEST(test_ctx_userspace_when_kernel_has_none),
	};
#undef TEST

	return cmocka_run_group_tests(tests, NULL, NULL);
}
