// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* otlp_metrics_exporter.c - collect the metric store periodically, send it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "export/otlp/otlp_exporter.h"
#include "export/otlp/otlp_metrics_encoder.h"
#include "export/otlp/otlp_metrics_exporter.h"
#include "lib/log.h"
#include "model/agent_stats.h"

struct metrics_exporter {
	struct exporter base;
	struct otlp_metrics_settings settings;
	struct exporter *otlp; /* NULL with console */
	bool json;
	struct agent_stats otlp_stats; /* the inner exporter's own counters */
	struct agent_stats *stats;
	struct metric_store *store;
	const struct mono_to_unix *clock;
	uint64_t next_ns;
};

void otlp_metrics_settings_from_env(struct otlp_metrics_settings *s)
{
	const char *v = getenv("OTEL_METRIC_EXPORT_INTERVAL");
	const char *t = getenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE");
	char *end;

	memset(s, 0, sizeof(*s));
	s->interval_ms = OTLP_METRIC_DEFAULT_INTERVAL_MS;
	if (v && *v) {
		unsigned long n = strtoul(v, &end, 10);
		if (*end || !n || n > 0x7fffffff)
			log_warn("OTEL_METRIC_EXPORT_INTERVAL=\"%s\" is not a number of "
				 "milliseconds; using %u",
				 v, s->interval_ms);
		else
			s->interval_ms = (uint32_t)n;
	}
	/* sdk-environment-variables / exporter.md: cumulative (default), delta,
	 * lowmemory (delta for counters and histograms: the same here). */
	if (t && *t) {
		if (!strcasecmp(t, "delta") || !strcasecmp(t, "lowmemory"))
			s->delta = true;
		else if (strcasecmp(t, "cumulative"))
			log_warn("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=\"%s\" is not "
				 "cumulative, delta or lowmemory; using cumulative",
				 t);
	}
}

/* The inner exporter counts data points where it would count spans. */
static void mirror_counters(struct metrics_exporter *m)
{
	const struct agent_stats *o = &m->otlp_stats;
	uint64_t dropped =
	    STAT_GET(o, spans_export_dropped_queue) + STAT_GET(o, spans_export_dropped_rejected) +
	    STAT_GET(o, spans_export_dropped_partial) + STAT_GET(o, spans_export_dropped_expired) +
	    STAT_GET(o, spans_export_dropped_shutdown) + STAT_GET(o, spans_export_failed);

	STAT_SET(m->stats, metric_points_exported, STAT_GET(o, spans_exported));
	STAT_SET(m->stats, metric_points_export_dropped, dropped);
	STAT_SET(m->stats, metric_export_requests_failed, STAT_GET(o, export_requests_failed));
}

static void export_now(struct metrics_exporter *m)
{
	struct metric_snapshot snap;
	uint8_t *body;
	size_t len;
	uint64_t now_unix = mono_to_unix_ns(m->clock, clock_mono_ns());

	if (metric_store_collect(m->store, m->settings.delta, now_unix, &snap))
		return;
	if (!snap.n || otlp_encode_metrics(&snap, m->json, &body, &len)) {
		metric_snapshot_free(&snap);
		return;
	}
	if (m->otlp) {
		otlp_exporter_send_encoded(m->otlp, body, len, (uint32_t)snap.n);
	} else {
		fwrite(body, 1, len, m->settings.console);
		fputc('\n', m->settings.console);
		fflush(m->settings.console);
		free(body);
	}
	metric_snapshot_free(&snap);
}

static int ignore_span(struct exporter *e, struct span *s)
{
	(void)e;
	(void)s;
	return 0;
}

static void metrics_tick(struct exporter *e, uint64_t now)
{
	struct metrics_exporter *m = e->state;

	if (m->otlp)
		m->otlp->tick(m->otlp, now);
	if (now >= m->next_ns) {
		export_now(m);
		m->next_ns = now + (uint64_t)m->settings.interval_ms * NS_PER_MS;
	}
	mirror_counters(m);
}

static int metrics_check(struct exporter *e, uint64_t now, char *why, size_t len)
{
	struct metrics_exporter *m = e->state;
	return m->otlp && m->otlp->check ? m->otlp->check(m->otlp, now, why, len) : 0;
}

static void metrics_shutdown(struct exporter *e, uint64_t deadline)
{
	struct metrics_exporter *m = e->state;

	export_now(m);
	if (m->otlp)
		m->otlp->shutdown(m->otlp, deadline);
	mirror_counters(m);
}

static void metrics_destroy(struct exporter *e)
{
	struct metrics_exporter *m = e->state;
	if (m->otlp)
		m->otlp->destroy(m->otlp);
	free(m);
}

struct exporter *otlp_metrics_exporter_new(const struct otlp_config *cfg,
					   const struct otlp_metrics_settings *settings,
					   struct metric_store *store,
					   const struct mono_to_unix *clock,
					   struct agent_stats *stats)
{
	struct metrics_exporter *m = calloc(1, sizeof(*m));
	if (!m) {
		log_warn("OTLP metrics exporter: out of memory");
		return NULL;
	}
	m->base = (struct exporter){.name = "otlp-metrics",
				    .export_span = ignore_span,
				    .tick = metrics_tick,
				    .check = metrics_check,
				    .shutdown = metrics_shutdown,
				    .destroy = metrics_destroy,
				    .state = m};
	m->settings = *settings;
	m->store = store;
	m->clock = clock;
	m->stats = stats;
	m->json = settings->console || cfg->protocol == OTLP_PROTOCOL_HTTP_JSON;
	m->next_ns = clock_mono_ns() + (uint64_t)settings->interval_ms * NS_PER_MS;
	if (!settings->console) {
		m->otlp = otlp_exporter_new(cfg, &m->otlp_stats);
		if (!m->otlp) {
			free(m);
			return NULL;
		}
	}
	return &m->base;
}
