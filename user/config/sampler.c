// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* sampler.c - OTEL_TRACES_SAMPLER, and the decision for a span. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "config/sampler.h"

void sampler_from_env(struct sampler *s)
{
	const char *name = getenv("OTEL_TRACES_SAMPLER");
	const char *arg = getenv("OTEL_TRACES_SAMPLER_ARG");

	s->root = SAMPLER_ALWAYS_ON;
	s->parent_based = true;
	s->ratio = 1.0;
	if (name && *name) {
		if (strcmp(name, "always_on") == 0) {
			s->parent_based = false;
		} else if (strcmp(name, "always_off") == 0) {
			s->parent_based = false;
			s->root = SAMPLER_ALWAYS_OFF;
		} else if (strcmp(name, "traceidratio") == 0) {
			s->parent_based = false;
			s->root = SAMPLER_TRACE_ID_RATIO;
		} else if (strcmp(name, "parentbased_always_off") == 0) {
			s->root = SAMPLER_ALWAYS_OFF;
		} else if (strcmp(name, "parentbased_traceidratio") == 0) {
			s->root = SAMPLER_TRACE_ID_RATIO;
		} else if (strcmp(name, "parentbased_always_on") != 0) {
			log_warn(
			    "OTEL_TRACES_SAMPLER=%s is not supported; using parentbased_always_on",
			    name);
		}
	}
	if (s->root == SAMPLER_TRACE_ID_RATIO && arg && *arg) {
		char *end;
		double r = strtod(arg, &end);
		if (*end || !(r >= 0.0 && r <= 1.0)) /* also rejects NaN */
			log_warn("OTEL_TRACES_SAMPLER_ARG=%s is not a ratio in [0, 1]; using 1.0",
				 arg);
		else
			s->ratio = r;
	}
	snprintf(s->description, sizeof(s->description), "%s%s",
		 s->parent_based ? "parentbased_" : "",
		 s->root == SAMPLER_ALWAYS_ON	 ? "always_on"
		 : s->root == SAMPLER_ALWAYS_OFF ? "always_off"
						 : "traceidratio");
	s->threshold = sampler_ratio_threshold(s->root == SAMPLER_TRACE_ID_RATIO ? s->ratio : 1.0);
	if (s->root == SAMPLER_TRACE_ID_RATIO) {
		size_t n = strlen(s->description);
		snprintf(s->description + n, sizeof(s->description) - n, "(%g)", s->ratio);
	}
}

uint64_t sampler_ratio_threshold(double ratio)
{
	/* (1 - ratio) * 2^56 is exact in a double up to its last bit; rounded
	 * to the nearest integer, as the specification's examples round. */
	if (!(ratio > 0.0))
		return KSPAN_SAMPLING_THRESHOLD_NONE;
	if (ratio >= 1.0)
		return 0;
	return (uint64_t)((1.0 - ratio) * (double)KSPAN_SAMPLING_THRESHOLD_NONE + 0.5);
}

bool sampler_should_sample(const struct sampler *s, struct span *span)
{
	bool sampled = kspan_sample((__u8)s->root, s->parent_based, s->threshold, span->trace_id,
				    span_has_parent(span), span->trace_flags);

	span->trace_flags = (uint8_t)((span->trace_flags & ~1u) | (sampled ? 1u : 0u));
	return sampled;
}
