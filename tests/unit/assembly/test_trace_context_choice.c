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

static enum trace_context_source choose(struct span *s, const struct kspan_trace_ctx *k,
					const char *tp, const char *ts, struct agent_stats *stats)
{
	struct trace_context_inputs in = {
	    .kernel = k,
	    .traceparent = tp,
	    .traceparent_len = tp ? strlen(tp) : 0,
	    .tracestate = ts,
	    .tracestate_len = ts ? strlen(ts) : 0,
	};

	return trace_context_choose(s, &in, stats);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_wins_kernel_id_kept),
	    cmocka_unit_test(test_invalid_header_kernel_used),
	    cmocka_unit_test(test_invalid_kernel_new_trace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
