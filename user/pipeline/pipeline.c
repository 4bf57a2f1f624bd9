// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pipeline.c - metrics from every span, then sampled spans to the exporters. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "lib/clock.h"
#include "pipeline/pipeline.h"

static void submit_to_pipeline(struct span_sink *sink, struct span *s)
{
	pipeline_submit((struct pipeline *)((char *)sink - offsetof(struct pipeline, sink)), s);
}

void pipeline_init(struct pipeline *p, struct agent_stats *stats)
{
	memset(p, 0, sizeof(*p));
	p->sink.submit = submit_to_pipeline;
	p->stats = stats;
	p->now_mono_ns = clock_mono_ns();
}

int pipeline_add_exporter(struct pipeline *p, struct exporter *e)
{
	if (!e)
		return -ENOMEM;
	if (p->exporter_count >= PIPELINE_MAX_EXPORTERS)
		return -ENOSPC;
	p->exporters[p->exporter_count++] = e;
	return 0;
}

void pipeline_submit(struct pipeline *p, struct span *s)
{
	bool sampled = s->trace_flags & 1;

	STAT_INC(p->stats, spans_created);
	/* Every span counts in the metrics, sampled or not (issue 15: a 1%
	 * sampler still gives exact request counts); only an exported span's
	 * ids may become an exemplar, so that each one leads to a trace. */
	if (p->metrics)
		span_metrics_record(p->metrics, s, sampled, p->now_mono_ns);
	if (!sampled) {
		STAT_INC(p->stats, spans_sampled_out);
	} else {
		for (int i = 0; i < p->exporter_count; i++)
			p->exporters[i]->export_span(p->exporters[i], s);
	}
	span_unref(s);
}

void pipeline_tick(struct pipeline *p, uint64_t now_mono_ns)
{
	struct timespec now;

	p->now_mono_ns = now_mono_ns;
	if (p->metrics && p->clock)
		span_metrics_tick(p->metrics, now_mono_ns, mono_to_unix_ns(p->clock, now_mono_ns));
	else if (p->metrics && clock_gettime(CLOCK_REALTIME, &now) == 0)
		span_metrics_tick(p->metrics, now_mono_ns,
				  (uint64_t)now.tv_sec * NS_PER_SEC + (uint64_t)now.tv_nsec);
	for (int i = 0; i < p->exporter_count; i++)
		if (p->exporters[i]->tick)
			p->exporters[i]->tick(p->exporters[i], now_mono_ns);
}

int pipeline_check(struct pipeline *p, uint64_t now_mono_ns, char *why, size_t len)
{
	for (int i = 0; i < p->exporter_count; i++) {
		struct exporter *e = p->exporters[i];
		int err = e->check ? e->check(e, now_mono_ns, why, len) : 0;
		if (err)
			return err;
	}
	if (len)
		why[0] = 0;
	return 0;
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
