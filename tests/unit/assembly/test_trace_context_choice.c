// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_trace_context_choice.c - which ids an HTTP span gets when the kernel
 * and the request's traceparent disagree, or either is missing or invalid
 * (the rule: assembly/trace_context_choice.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "assembly/trace_context_choice.h"

#define HEADER "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

static const uint8_t header_trace[16] = {0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd,
					 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c};
static const uint8_t header_parent[8] = {0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31};

/* A kernel context with a parent (in-process parenting). */
static struct kspan_trace_ctx kernel_with_parent(void)
{
	struct kspan_trace_ctx k = {
	    .trace_flags = 0x81, /* sampled, and a bit W3C reserves */
	    .flags = KSPAN_CTX_F_VALID | KSPAN_CTX_F_HAS_PARENT,
	};

	memset(k.trace_id, 0x11, 16);
	memset(k.span_id, 0x22, 8);
	memset(k.parent_span_id, 0x33, 8);
	return k;
}

/* The request had tp_fields traceparent fields, the first tp, and one
 * tracestate field ts (NULL: none). */
static enum trace_context_source choose_n(struct span *s, const struct kspan_trace_ctx *k,
					  const char *tp, unsigned tp_fields, const char *ts,
					  struct agent_stats *stats)
{
	static struct w3c_tracestate list;
	struct trace_context_inputs in = {
	    .kernel = k,
	    .traceparent = tp,
	    .traceparent_len = tp ? strlen(tp) : 0,
	    .traceparent_fields = tp_fields,
	    .tracestate = ts ? &list : NULL,
	};

	memset(&list, 0, sizeof(list));
	if (ts) {
		w3c_tracestate_field_begin(&list);
		for (const char *c = ts; *c; c++)
			w3c_tracestate_field_char(&list, (__u8)*c);
		w3c_tracestate_field_end(&list);
	}
	return trace_context_choose(s, &in, stats);
}

static enum trace_context_source choose(struct span *s, const struct kspan_trace_ctx *k,
					const char *tp, const char *ts, struct agent_stats *stats)
{
	return choose_n(s, k, tp, tp ? 1 : 0, ts, stats);
}

/* The request's own traceparent names trace and parent; the span keeps the
 * kernel's id (the one it may have put on the wire). */
static void test_header_wins_kernel_id_kept(void **state)
{
	struct kspan_trace_ctx k = kernel_with_parent();
	struct agent_stats stats = {0};
	struct span *s = span_new();

	(void)state;
	assert_int_equal(choose(s, &k, HEADER, "a=b", &stats), TRACE_CONTEXT_HEADER);
	assert_memory_equal(s->trace_id, header_trace, 16);
	assert_memory_equal(s->parent_span_id, header_parent, 8);
	assert_memory_equal(s->span_id, k.span_id, 8);
	assert_int_equal(s->trace_flags, 1);
	assert_string_equal(s->trace_state, "a=b");
	span_unref(s);
}

/* A pass-through proxy's forwarded header (KSPAN_CTX_F_OVER_HEADER): the
 * kernel's parent (the proxy's SERVER span) replaces the header's, whose
 * tracestate goes with it. */
static void test_kernel_over_forwarded_header(void **state)
{
	struct kspan_trace_ctx k = kernel_with_parent();
	struct agent_stats stats = {0};
	struct span *s = span_new();

	(void)state;
	memcpy(k.trace_id, header_trace, 16);
	k.flags |= KSPAN_CTX_F_OVER_HEADER;
	assert_int_equal(choose(s, &k, HEADER, "a=b", &stats), TRACE_CONTEXT_KERNEL);
	assert_memory_equal(s->trace_id, header_trace, 16);
	assert_memory_equal(s->parent_span_id, k.parent_span_id, 8);
	assert_memory_equal(s->span_id, k.span_id, 8);
	assert_int_equal(s->trace_flags, 1);
	assert_string_equal(s->trace_state, "a=b");
	span_unref(s);
	/* Without a parent the flag means nothing: the header wins. */
	s = span_new();
	k.flags &= ~KSPAN_CTX_F_HAS_PARENT;
	assert_int_equal(choose(s, &k, HEADER, NULL, &stats), TRACE_CONTEXT_HEADER);
	assert_memory_equal(s->parent_span_id, header_parent, 8);
	span_unref(s);
}

/* An invalid traceparent is no traceparent: the kernel's context stands,
 * only its sampled flag taken, and no tracestate. */
static void test_invalid_header_kernel_used(void **state)
{
	struct kspan_trace_ctx k = kernel_with_parent();
	struct agent_stats stats = {0};
	struct span *s = span_new();

	(void)state;
	assert_int_equal(choose(s, &k, "00-0AF7-bad", "a=b", &stats), TRACE_CONTEXT_KERNEL);
	assert_memory_equal(s->trace_id, k.trace_id, 16);
	assert_memory_equal(s->parent_span_id, k.parent_span_id, 8);
	assert_memory_equal(s->span_id, k.span_id, 8);
	assert_int_equal(s->trace_flags, 1);
	assert_null(s->trace_state);
	span_unref(s);
}

/* Kernel ids that cannot be valid are counted and not used; nothing else
 * known: a new trace. */
static void test_invalid_kernel_new_trace(void **state)
{
	struct kspan_trace_ctx k = kernel_with_parent();
	struct agent_stats stats = {0};
	struct span *s = span_new();

	(void)state;
	memset(k.span_id, 0, 8);
	assert_int_equal(choose(s, &k, NULL, NULL, &stats), TRACE_CONTEXT_NEW);
	assert_int_equal(STAT_GET(&stats, invalid_kernel_ids), 1);
	assert_false(bytes_all_zero(s->trace_id, 16));
	assert_false(bytes_all_zero(s->span_id, 8));
	assert_memory_not_equal(s->trace_id, k.trace_id, 16);
	assert_false(span_has_parent(s));
	assert_int_equal(s->trace_flags, 1);
	span_unref(s);
}

/* The tracestate kept is the one the kernel forwards: combined, OWS and
 * empty members dropped, nothing when invalid (W3C 3.3). */
static void test_tracestate_normalised_or_dropped(void **state)
{
	struct kspan_trace_ctx k = kernel_with_parent();
	struct agent_stats stats = {0};
	struct span *s = span_new();

	(void)state;
	choose(s, &k, HEADER, " a=b ,, c=d\t", &stats);
	assert_string_equal(s->trace_state, "a=b,c=d");
	span_unref(s);
	s = span_new();
	choose(s, &k, HEADER, "a=b,C=d", &stats);
	assert_null(s->trace_state);
	span_unref(s);
	s = span_new();
	choose(s, &k, HEADER, " , ", &stats);
	assert_null(s->trace_state);
	span_unref(s);
}

/* W3C 3.2: two traceparent fields, none valid. The kernel saw both: its new
 * trace stands. */
static void test_repeated_traceparent_kernel_saw_it(void **state)
{
	struct kspan_trace_ctx k = kernel_with_parent();
	struct agent_stats stats = {0};
	struct span *s = span_new();

	(void)state;
	k.flags &= ~KSPAN_CTX_F_HAS_PARENT;
	assert_int_equal(choose_n(s, &k, HEADER, 2, "a=b", &stats), TRACE_CONTEXT_KERNEL);
	assert_memory_equal(s->trace_id, k.trace_id, 16);
	assert_false(span_has_parent(s));
	assert_null(s->trace_state);
	span_unref(s);
}

/* The kernel saw only the first (the second past its scan window) and took
 * its parent from it: the span keeps the kernel's trace, which its CLIENT
 * children carry on the wire, but not that parent. */
static void test_repeated_traceparent_kernel_missed_it(void **state)
{
	struct kspan_trace_ctx k = kernel_with_parent();
	struct agent_stats stats = {0};
	struct span *s = span_new();

	(void)state;
	memcpy(k.trace_id, header_trace, 16);
	memcpy(k.parent_span_id, header_parent, 8);
	assert_int_equal(choose_n(s, &k, HEADER, 2, "a=b", &stats), TRACE_CONTEXT_KERNEL);
	assert_memory_equal(s->trace_id, header_trace, 16);
	assert_memory_equal(s->span_id, k.span_id, 8);
	assert_false(span_has_parent(s));
	assert_null(s->trace_state);
	span_unref(s);
	/* A parent of the kernel's own (same-node join) stays. */
	s = span_new();
	k = kernel_with_parent();
	choose_n(s, &k, HEADER, 2, NULL, &stats);
	assert_memory_equal(s->parent_span_id, k.parent_span_id, 8);
	span_unref(s);
	/* Without a kernel context: a new trace. */
	s = span_new();
	assert_int_equal(choose_n(s, NULL, HEADER, 3, "a=b", &stats), TRACE_CONTEXT_NEW);
	assert_memory_not_equal(s->trace_id, header_trace, 16);
	assert_false(span_has_parent(s));
	span_unref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tracestate_normalised_or_dropped),
	    cmocka_unit_test(test_repeated_traceparent_kernel_saw_it),
	    cmocka_unit_test(test_repeated_traceparent_kernel_missed_it),
	    cmocka_unit_test(test_header_wins_kernel_id_kept),
	    cmocka_unit_test(test_kernel_over_forwarded_header),
	    cmocka_unit_test(test_invalid_header_kernel_used),
	    cmocka_unit_test(test_invalid_kernel_new_trace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
