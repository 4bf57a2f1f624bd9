/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * sampler.h - head sampling per the OpenTelemetry SDK specification's
 * built-in samplers, configured with OTEL_TRACES_SAMPLER and
 * OTEL_TRACES_SAMPLER_ARG: always_on, always_off, traceidratio,
 * parentbased_always_on (the default), parentbased_always_off,
 * parentbased_traceidratio.
 */
#ifndef KSPAN_SAMPLER_H
#define KSPAN_SAMPLER_H

#include <stdbool.h>

#include "model/span.h"

enum sampler_root {
	SAMPLER_ALWAYS_ON,
	SAMPLER_ALWAYS_OFF,
	SAMPLER_TRACE_ID_RATIO,
};

struct sampler {
	enum sampler_root root;
	bool parent_based;
	double ratio;
	char description[64];
};

/* Reads the environment; an invalid value logs one line and falls back to
 * the default, as the specification asks. */
void sampler_from_env(struct sampler *s);
/* Decides, and sets the span's sampled flag to the decision. */
bool sampler_should_sample(const struct sampler *s, struct span *span);

#endif /* KSPAN_SAMPLER_H */
