/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* pipeline.h - what happens to a finished span: every span comes here,
 * sampled or not (span assembly decided, config/sampler.h: trace_flags bit 0);
 * metrics record every one (whatever the sampler decided), a sampled one goes
 * to every configured exporter, an unsampled one is counted
 * (spans_sampled_out) and dropped. */
#ifndef KSPAN_PIPELINE_H
#define KSPAN_PIPELINE_H

#include <stdint.h>

#include "lib/clock.h"
#include "model/agent_stats.h"
#include "model/exporter.h"
#include "model/span_sink.h"
#include "metrics/span_metrics.h"

#define PIPELINE_MAX_EXPORTERS 4

struct pipeline {
	struct span_sink sink;	      /* what span assembly submits to */
	struct span_metrics *metrics; /* NULL: no metrics */
	struct exporter *exporters[PIPELINE_MAX_EXPORTERS];
	int exporter_count;
	struct agent_stats *stats;
	/* CLOCK_MONOTONIC at the last tick (or init): the metrics' time for a
	 * span, precise enough for the service graph's 10 s wait without a
	 * clock read per span */
	uint64_t now_mono_ns;
	/* Unix time of a tick, from its monotonic time; NULL: CLOCK_REALTIME.
	 * The agent's own clock keeps the metrics' times on one scale with
	 * the spans' (and the replay's recorded times with theirs). */
	const struct mono_to_unix *clock;
};

/* An empty pipeline (no exporter) that counts into stats. */
void pipeline_init(struct pipeline *p, struct agent_stats *stats);
/* Returns 0, -ENOMEM for a NULL exporter (its constructor failed), or
 * -ENOSPC when PIPELINE_MAX_EXPORTERS are configured already. */
int pipeline_add_exporter(struct pipeline *p, struct exporter *e);
/* Takes ownership of the caller's reference. */
void pipeline_submit(struct pipeline *p, struct span *s);
void pipeline_tick(struct pipeline *p, uint64_t now_mono_ns);
/* 0 when every exporter works; else the first problem's errno, why naming it. */
int pipeline_check(struct pipeline *p, uint64_t now_mono_ns, char *why, size_t len);
void pipeline_shutdown(struct pipeline *p, uint64_t deadline_mono_ns);

#endif /* KSPAN_PIPELINE_H */
