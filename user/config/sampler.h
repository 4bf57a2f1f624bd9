/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * sampler.h - head sampling per the OpenTelemetry SDK specification's
 * built-in samplers, configured with OTEL_TRACES_SAMPLER and
 * OTEL_TRACES_SAMPLER_ARG: always_on, always_off, traceidratio,
 * parentbased_always_on (the default), parentbased_always_off,
 * parentbased_traceidratio.
 *
 * One configuration, decided in two places with the same function
 * (trace_sampling.h): the kernel, where a trace starts and where kspan
 * writes the sampled flag into the traceparent it inserts (the loader puts
 * root, parent_based and threshold into the BPF object's .rodata), and span
 * assembly, for the contexts userspace chooses itself (a traceparent only it
 * could read, a new trace when the kernel's ids were invalid).
 */
#ifndef KSPAN_SAMPLER_H
#define KSPAN_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>

#include "model/span.h"
#include "trace_sampling.h"

enum sampler_root {
	SAMPLER_ALWAYS_ON = KSPAN_SAMPLER_ALWAYS_ON,
	SAMPLER_ALWAYS_OFF = KSPAN_SAMPLER_ALWAYS_OFF,
	SAMPLER_TRACE_ID_RATIO = KSPAN_SAMPLER_TRACE_ID_RATIO,
};

struct sampler {
	enum sampler_root root;
	bool parent_based;
	double ratio;
	/* The ratio's rejection threshold: (1 - ratio) * 2^56, rounded. */
	uint64_t threshold;
	char description[64];
};

/* Reads the environment; an invalid value logs one line and falls back to
 * the default, as the specification asks. */
void sampler_from_env(struct sampler *s);
/* The rejection threshold of a ratio in [0, 1] (trace_sampling.h). */
uint64_t sampler_ratio_threshold(double ratio);
/* Decides from the span's ids (a parent when parent_span_id is set, whose
 * flag is the span's trace_flags bit 0 on entry), and sets the span's
 * sampled flag to the decision. */
bool sampler_should_sample(const struct sampler *s, struct span *span);

#endif /* KSPAN_SAMPLER_H */
