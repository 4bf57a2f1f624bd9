/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* pipeline.h - what happens to a finished span: sampling, then every
 * configured exporter. */
#ifndef KSPAN_PIPELINE_H
#define KSPAN_PIPELINE_H

#include <stdint.h>

#include "model/agent_stats.h"
#include "model/exporter.h"
#include "pipeline/sampler.h"

#define PIPELINE_MAX_EXPORTERS 4

struct pipeline {
	struct sampler sampler;
	struct exporter *exporters[PIPELINE_MAX_EXPORTERS];
	int exporter_count;
	struct agent_stats *stats;
};

/* Takes ownership of the caller's reference. */
void pipeline_submit(struct pipeline *p, struct span *s);
void pipeline_tick(struct pipeline *p, uint64_t now_mono_ns);
void pipeline_shutdown(struct pipeline *p, uint64_t deadline_mono_ns);

#endif /* KSPAN_PIPELINE_H */
