// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* sampler.c - OTEL_TRACES_SAMPLER. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "pipeline/sampler.h"

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
	if (s->root == SAMPLER_TRACE_ID_RATIO) {
		size_t n = strlen(s->description);
		snprintf(s->description + n, sizeof(s->description) - n, "(%g)", s->ratio);
	}
}

/* TraceIdRatioBased: the decision must be a function of the trace id alone so
 * that every participant decides alike. The lowest 56 bits of the trace id are
 * the random part (W3C Trace Context Level 2 "random" flag). */
static bool ratio_sample(double ratio, const uint8_t trace_id[16])
{
	/* Compared as integers: a double cannot hold every 56-bit value, and
	 * ids near the top would round up and go unsampled even at 1.0. */
	uint64_t bound = (uint64_t)(ratio * (double)(1ull << 56));
	uint64_t v = 0;

	for (int i = 9; i < 16; i++)
		v = v << 8 | trace_id[i];
	return v < bound;
}

bool sampler_should_sample(const struct sampler *s, struct span *span)
{
	bool sampled;

	if (s->parent_based && span_has_parent(span)) {
		sampled = span->trace_flags & 1;
	} else {
		switch (s->root) {
		case SAMPLER_ALWAYS_OFF:
			sampled = false;
			break;
		case SAMPLER_TRACE_ID_RATIO:
			sampled = ratio_sample(s->ratio, span->trace_id);
			break;
		default:
			sampled = true;
		}
	}
	span->trace_flags = (uint8_t)((span->trace_flags & ~1u) | (sampled ? 1u : 0u));
	return sampled;
}
