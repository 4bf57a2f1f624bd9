// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pipeline.c - sampler, then exporters. */
#include "pipeline/pipeline.h"

void pipeline_submit(struct pipeline *p, struct span *s)
{
	STAT_INC(p->stats, spans_created);
	if (!sampler_should_sample(&p->sampler, s)) {
		STAT_INC(p->stats, spans_sampled_out);
	} else {
		for (int i = 0; i < p->exporter_count; i++)
			p->exporters[i]->export_span(p->exporters[i], s);
	}
	span_unref(s);
}

void pipeline_tick(struct pipeline *p, uint64_t now_mono_ns)
{
	for (int i = 0; i < p->exporter_count; i++)
		if (p->exporters[i]->tick)
			p->exporters[i]->tick(p->exporters[i], now_mono_ns);
}

void pipeline_shutdown(struct pipeline *p, uint64_t deadline_mono_ns)
{
	for (int i = 0; i < p->exporter_count; i++) {
		p->exporters[i]->shutdown(p->exporters[i], deadline_mono_ns);
		p->exporters[i]->destroy(p->exporters[i]);
		p->exporters[i] = NULL;
	}
	p->exporter_count = 0;
}
