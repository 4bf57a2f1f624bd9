// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* trace_context_choice.c - the ids of an HTTP span (rule in the header). */
#include <string.h>

#include "assembly/trace_context_choice.h"
#include "w3c_traceparent.h"

/* The kernel took its parent from the first of several traceparent fields:
 * it did not see the second. */
static bool kernel_parent_from_repeated(const struct kspan_trace_ctx *k,
					const struct trace_context_inputs *in)
{
	struct w3c_trace_context tc;

	if (in->traceparent_fields < 2 || !(k->flags & KSPAN_CTX_F_HAS_PARENT) ||
	    w3c_traceparent_parse((const __u8 *)in->traceparent, 0, (__u32)in->traceparent_len,
				  &tc) != 0)
		return false;
	return memcmp(tc.trace_id, k->trace_id, 16) == 0 &&
	       memcmp(tc.parent_id, k->parent_span_id, 8) == 0;
}

static enum trace_context_source choose(struct span *s, const struct trace_context_inputs *in,
					struct agent_stats *stats)
{
	const struct kspan_trace_ctx *k = in->kernel;
	struct w3c_trace_context tc;
	bool from_kernel = k && (k->flags & KSPAN_CTX_F_VALID);
	__u32 ts_len;

	if (from_kernel && !span_kernel_ctx_valid(k)) {
		STAT_INC(stats, invalid_kernel_ids);
		from_kernel = false;
	}
	memset(s->parent_span_id, 0, sizeof(s->parent_span_id));
	if (from_kernel)
		memcpy(s->span_id, k->span_id, 8);
	else
		span_random_id(s->span_id, 8);

	/* A pass-through proxy's forwarded header: the kernel's parent is the
	 * request's true one (the proxy's SERVER span, or its CLIENT span seen
	 * on this node); the header's tracestate goes with it. */
	if (from_kernel && (k->flags & KSPAN_CTX_F_OVER_HEADER) &&
	    (k->flags & KSPAN_CTX_F_HAS_PARENT)) {
		memcpy(s->trace_id, k->trace_id, 16);
		memcpy(s->parent_span_id, k->parent_span_id, 8);
		s->trace_flags = k->trace_flags & 1;
		ts_len = in->tracestate ? w3c_tracestate_result(in->tracestate) : 0;
		if (ts_len)
			span_set_trace_state(s, in->tracestate->out, ts_len);
		return TRACE_CONTEXT_KERNEL;
	}
	if (in->traceparent_len && in->traceparent_fields == 1 &&
	    w3c_traceparent_parse((const __u8 *)in->traceparent, 0, (__u32)in->traceparent_len,
				  &tc) == 0) {
		memcpy(s->trace_id, tc.trace_id, 16);
		memcpy(s->parent_span_id, tc.parent_id, 8);
		s->trace_flags = tc.trace_flags & 1;
		ts_len = in->tracestate ? w3c_tracestate_result(in->tracestate) : 0;
		if (ts_len)
			span_set_trace_state(s, in->tracestate->out, ts_len);
		return TRACE_CONTEXT_HEADER;
	}
	if (from_kernel) {
		memcpy(s->trace_id, k->trace_id, 16);
		if ((k->flags & KSPAN_CTX_F_HAS_PARENT) && !kernel_parent_from_repeated(k, in))
			memcpy(s->parent_span_id, k->parent_span_id, 8);
		s->trace_flags = k->trace_flags & 1;
		return TRACE_CONTEXT_KERNEL;
	}
	span_random_id(s->trace_id, 16);
	s->trace_flags = 1;
	return TRACE_CONTEXT_NEW;
}

enum trace_context_source trace_context_choose(struct span *s,
					       const struct trace_context_inputs *in,
					       struct agent_stats *stats)
{
	enum trace_context_source source = choose(s, in, stats);

	if (in->sampler)
		sampler_should_sample(in->sampler, s);
	return source;
}
