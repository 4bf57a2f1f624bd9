/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * trace_sampling.h - the head sampling decision, shared by the BPF programs
 * (which decide the sampled flag where a trace starts and write it into the
 * traceparent they insert) and the agent (which decides the same for the
 * spans whose context it chose itself). Both must answer alike for the same
 * trace id, or a trace would be kept on one side and dropped on the other.
 *
 * The built-in samplers of the OpenTelemetry SDK specification
 * (OTEL_TRACES_SAMPLER): AlwaysOn, AlwaysOff, TraceIdRatioBased, each alone
 * or as the root of ParentBased, which follows a parent's sampled flag.
 *
 * TraceIdRatioBased, as the specification now defines it (trace/sdk.md,
 * "TraceIdRatioBased sampler algorithm"; trace/tracestate-probability-
 * sampling.md, "Rejection Threshold"): the randomness R is the
 * least-significant 56 bits of the trace id (W3C Trace Context Level 2,
 * "Random Trace Id Flag"), the rejection threshold is
 * T = (1 - probability) * 2^56, and a trace is kept when R >= T. A ratio of
 * 1 gives T = 0 (every trace), a ratio of 0 gives T = 2^56 (none: R < 2^56).
 * The agent converts the ratio to T once (sampler.c); the kernel receives T.
 */
#ifndef KSPAN_TRACE_SAMPLING_H
#define KSPAN_TRACE_SAMPLING_H

#include "kspan_bytes.h"

/* The root sampler: what decides a span without a parent (or every span,
 * when not parent-based). Values are .rodata of the BPF object. */
enum kspan_sampler_root {
	KSPAN_SAMPLER_ALWAYS_ON = 0,
	KSPAN_SAMPLER_ALWAYS_OFF = 1,
	KSPAN_SAMPLER_TRACE_ID_RATIO = 2,
};

/* 2^56: the rejection threshold of a ratio of 0. */
#define KSPAN_SAMPLING_THRESHOLD_NONE (1ull << 56)

/* R: the trace id's last 7 bytes, big-endian (the W3C Level 2 random part). */
KSPAN_INLINE __u64 kspan_trace_id_randomness(const __u8 *trace_id)
{
	__u64 r = 0;

	for (int i = 9; i < 16; i++)
		r = r << 8 | trace_id[i];
	return r;
}

/* TraceIdRatioBased: keep when R >= T. */
KSPAN_INLINE int kspan_trace_id_ratio_keep(const __u8 *trace_id, __u64 threshold)
{
	return kspan_trace_id_randomness(trace_id) >= threshold;
}

/*
 * The sampled flag (0 or 1) of a span of trace trace_id. has_parent: the
 * span has a parent, local or remote, whose flag is parent_sampled (bit 0).
 * ParentBased with its defaults follows the parent either way (sdk.md,
 * "ParentBased": remoteParentSampled/localParentSampled -> AlwaysOn,
 * ...NotSampled -> AlwaysOff).
 */
KSPAN_INLINE __u8 kspan_sample(__u8 root, __u8 parent_based, __u64 threshold, const __u8 *trace_id,
			       int has_parent, __u8 parent_sampled)
{
	if (parent_based && has_parent)
		return parent_sampled & 1;
	if (root == KSPAN_SAMPLER_ALWAYS_OFF)
		return 0;
	if (root == KSPAN_SAMPLER_TRACE_ID_RATIO)
		return kspan_trace_id_ratio_keep(trace_id, threshold) ? 1 : 0;
	return 1;
}

#endif /* KSPAN_TRACE_SAMPLING_H */
