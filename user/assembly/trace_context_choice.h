/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * trace_context_choice.h - which ids an HTTP span gets, for both protocols.
 *
 * Two sources may know a request's context:
 *   - the kernel, which decided it while the bytes passed (HTTP/1: the
 *     request starting a piece, from its traceparent or a new trace; HTTP/2
 *     CLIENT streams: the request the writing thread serves is the parent)
 *     and may have put it on the wire (header insertion);
 *   - the request's own traceparent (W3C Trace Context), which userspace
 *     reads in the whole head (the kernel sees only the start of a piece, and
 *     no HPACK).
 * The rule: the span id is the kernel's when it decided a valid one (it is
 * the id a downstream server sees when kspan inserted the header), else a new
 * one. The trace and parent are those of a valid traceparent the request
 * carries (what the application itself propagates wins: the downstream server
 * joins that trace), else the kernel's, else a new trace without a parent.
 * tracestate is kept only with the traceparent it belongs to (W3C section
 * 3.3), combined and validated as the kernel forwards it (w3c_tracestate.h).
 * Only the sampled flag is taken: the other bits are reserved. A request
 * with several traceparent fields has no valid one (section 3.2); when the
 * kernel missed the second (past its scan window) and took its parent from
 * the first, the span keeps the kernel's trace id, which went on the wire,
 * but not that parent.
 */
#ifndef KSPAN_TRACE_CONTEXT_CHOICE_H
#define KSPAN_TRACE_CONTEXT_CHOICE_H

#include <stddef.h>

#include "kspan_abi.h"
#include "model/agent_stats.h"
#include "model/span.h"
#include "config/sampler.h"
#include "w3c_tracestate.h"

/* Where the span's trace (and parent, when it has one) came from. */
enum trace_context_source {
	TRACE_CONTEXT_NEW,    /* a new trace: the span is a root */
	TRACE_CONTEXT_HEADER, /* the request's traceparent */
	TRACE_CONTEXT_KERNEL, /* the context the kernel decided */
};

struct trace_context_inputs {
	/* The kernel's decision, or NULL; used when KSPAN_CTX_F_VALID is set
	 * and its ids are (invalid ones are counted in invalid_kernel_ids). */
	const struct kspan_trace_ctx *kernel;
	/* The request's first traceparent value as sent (not NUL-terminated;
	 * len 0: absent), and how many traceparent fields it had. */
	const char *traceparent;
	size_t traceparent_len;
	unsigned traceparent_fields;
	/* Its tracestate fields, combined; NULL: none. */
	const struct w3c_tracestate *tracestate;
	/* Decides the sampled flag from the chosen ids (a parent's flag, or the
	 * root sampler on the trace id), as the kernel decided it for the
	 * same context; NULL: the flag the context carries. */
	const struct sampler *sampler;
};

/* Sets s's trace id, span id, parent span id, trace flags (bit 0: the
 * sampling decision) and trace state. */
enum trace_context_source trace_context_choose(struct span *s,
					       const struct trace_context_inputs *in,
					       struct agent_stats *stats);

#endif /* KSPAN_TRACE_CONTEXT_CHOICE_H */
