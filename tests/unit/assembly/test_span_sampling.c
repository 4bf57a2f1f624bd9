// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_span_sampling.c - the head sampling decision in span assembly
 * (config/sampler.h through trace_context_choose): every span reaches the
 * pipeline, its trace_flags bit 0 the decision; an unsampled one carries only
 * the request-metric attributes and the pipeline counts and drops it.
 * The fixture: support/http1_harness.h; a tap between the assembler and the
 * pipeline sees every span, sampled or not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/http1_harness.h"

/* K_TRACE's low 56 bits are 0xce929d0e0e4736 (kept at 0.5: >= 2^55),
 * H_TRACE's 0x48eb211c80319c (dropped at 0.5). */

struct tap {
	struct span_sink sink;
	struct span_sink *next;
	struct span *seen[8];
	size_t count;
};

static struct tap the_tap;

static void tap_submit(struct span_sink *sink, struct span *s)
{
	struct tap *t = (struct tap *)sink;

	if (t->count < ARRAY_SIZE(t->seen))
		t->seen[t->count++] = span_ref(s);
	span_sink_submit(t->next, s);
}

static int setup_tap(void **state)
{
	struct harness *h;

	if (setup(state))
		return -1;
	h = *state;
	the_tap = (struct tap){.sink.submit = tap_submit, .next = h->assembler.out};
	h->assembler.out = &the_tap.sink;
	return 0;
}

static int teardown_tap(void **state)
{
	for (size_t i = 0; i < the_tap.count; i++)
		span_unref(the_tap.seen[i]);
	return teardown(state);
}

static void use_sampler(struct harness *h, const char *name, const char *arg)
{
	setenv("OTEL_TRACES_SAMPLER", name, 1);
	if (arg)
		setenv("OTEL_TRACES_SAMPLER_ARG", arg, 1);
	else
		unsetenv("OTEL_TRACES_SAMPLER_ARG");
	sampler_from_env(&h->sampler);
	unsetenv("OTEL_TRACES_SAMPLER");
	unsetenv("OTEL_TRACES_SAMPLER_ARG");
}

#define REQUEST "GET /users/42?token=x HTTP/1.1\r\nHost: api:8080\r\nUser-Agent: t/1\r\n"

/* Under the default sampler a kernel context whose parent said -00 is
 * dropped: it reaches the pipeline with bit 0 clear, carrying only what
 * request metrics need, and is counted, not exported. */
static void test_unsampled_parent_dropped_with_metric_attributes(void **state)
{
	static const char *const metric_keys[] = {
	    "http.request.method",
	    "url.scheme",
	    "url.path",
	    "server.address",
	    "server.port",
	    "network.protocol.version",
	    "http.response.status_code",
	};
	struct harness *h = *state;
	struct test_conn c = server_conn(0x5a01);
	struct kspan_trace_ctx k = kernel_ctx(K_TRACE, K_SPAN, K_PARENT);
	const struct span *s;

	k.trace_flags = 0;
	serve(h, &c, T0 + 100, REQUEST "\r\n", &k);
	assert_int_equal(the_tap.count, 1);
	s = the_tap.seen[0];
	assert_int_equal(s->trace_flags & 1, 0);
	assert_string_equal(s->name, "GET /users/{id}");
	assert_keys(&s->attrs, metric_keys, ARRAY_SIZE(metric_keys));
	assert_str_attr(&s->attrs, "server.address", "api");
	assert_int_attr(&s->attrs, "server.port", 8080);
	assert_int_attr(&s->attrs, "http.response.status_code", 200);
	assert_span_count(h, 0);
	assert_int_equal(STAT(h, spans_sampled_out), 1);
	assert_int_equal(STAT(h, spans_created), 1);
}

/* The same request sampled: every attribute, exported. */
static void test_sampled_span_is_whole_and_exported(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x5a02);
	struct kspan_trace_ctx k = kernel_ctx(K_TRACE, K_SPAN, K_PARENT);
	const struct span *s;

	serve(h, &c, T0 + 100, REQUEST "\r\n", &k);
	s = nth_span(h, 1);
	assert_int_equal(s->trace_flags & 1, 1);
	assert_str_attr(&s->attrs, "url.path", "/users/42");
	assert_str_attr(&s->attrs, "user_agent.original", "t/1");
	assert_non_null(attr(&s->attrs, "network.peer.address"));
	assert_int_equal(STAT(h, spans_sampled_out), 0);
}

/* traceidratio decides on the trace id alone: a -01 parent does not keep
 * H_TRACE at 0.5, a -00 parent does not drop K_TRACE. */
static void test_ratio_ignores_parent_flag(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x5a03);
	struct kspan_trace_ctx keep = kernel_ctx(K_TRACE, K_SPAN, K_PARENT);

	use_sampler(h, "traceidratio", "0.5");
	keep.trace_flags = 0;
	serve(h, &c, T0 + 100,
	      "GET /a HTTP/1.1\r\nHost: h\r\ntraceparent: 00-" H_TRACE "-" H_PARENT "-01\r\n\r\n",
	      NULL);
	serve(h, &c, T0 + 1000, "GET /b HTTP/1.1\r\nHost: h\r\n\r\n", &keep);
	assert_int_equal(the_tap.count, 2);
	assert_int_equal(the_tap.seen[0]->trace_flags & 1, 0);
	assert_int_equal(the_tap.seen[1]->trace_flags & 1, 1);
	assert_string_equal(nth_span(h, 1)->name, "GET /b");
	assert_int_equal(STAT(h, spans_sampled_out), 1);
}

/* parentbased_traceidratio: a header's -01 keeps H_TRACE, a root span on
 * H_TRACE (the kernel's new trace) is dropped, as the kernel dropped it. */
static void test_parentbased_ratio(void **state)
{
	struct harness *h = *state;
	struct test_conn c = server_conn(0x5a04);
	struct kspan_trace_ctx root = kernel_ctx(H_TRACE, K_SPAN, NULL);

	use_sampler(h, "parentbased_traceidratio", "0.5");
	root.trace_flags = 0;
	serve(h, &c, T0 + 100,
	      "GET /a HTTP/1.1\r\nHost: h\r\ntraceparent: 00-" H_TRACE "-" H_PARENT "-01\r\n\r\n",
	      NULL);
	serve(h, &c, T0 + 1000, "GET /b HTTP/1.1\r\nHost: h\r\n\r\n", &root);
	assert_int_equal(the_tap.count, 2);
	assert_int_equal(the_tap.seen[0]->trace_flags & 1, 1);
	assert_int_equal(the_tap.seen[1]->trace_flags & 1, 0);
	assert_string_equal(nth_span(h, 1)->name, "GET /a");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_unsampled_parent_dropped_with_metric_attributes,
					    setup_tap, teardown_tap),
	    cmocka_unit_test_setup_teardown(test_sampled_span_is_whole_and_exported, setup_tap,
					    teardown_tap),
	    cmocka_unit_test_setup_teardown(test_ratio_ignores_parent_flag, setup_tap,
					    teardown_tap),
	    cmocka_unit_test_setup_teardown(test_parentbased_ratio, setup_tap, teardown_tap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
