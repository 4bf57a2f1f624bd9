/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * otlp_metrics_exporter.h - the periodic metric reader and its exporter
 * (metrics/sdk.md, "Periodic exporting MetricReader"): every interval
 * (OTEL_METRIC_EXPORT_INTERVAL, default 60000 ms) and once more at shutdown,
 * the metric store is collected in the configured temporality
 * (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: cumulative, the
 * default, or delta) and sent as one ExportMetricsServiceRequest through an
 * OTLP exporter of its own (same transports, queue, retries and spool rules
 * as the traces; its counters appear as metric_points_* in agent_stats), or
 * printed as one line of OTLP JSON (OTEL_METRICS_EXPORTER=console).
 *
 * It is a struct exporter so that the pipeline ticks, checks and shuts it
 * down; spans given to it are ignored (metrics are recorded at pipeline
 * submit, from every span).
 */
#ifndef KSPAN_OTLP_METRICS_EXPORTER_H
#define KSPAN_OTLP_METRICS_EXPORTER_H

#include <stdbool.h>
#include <stdio.h>

#include "export/otlp/otlp_config.h"
#include "lib/clock.h"
#include "metrics/metric_store.h"
#include "model/exporter.h"

#define OTLP_METRIC_DEFAULT_INTERVAL_MS 60000

struct otlp_metrics_settings {
	uint32_t interval_ms;
	bool delta;
	FILE *console; /* non-NULL: print OTLP JSON lines here instead of sending */
};

/* OTEL_METRIC_EXPORT_INTERVAL and OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE
 * (a value that cannot be used is named in one line and the default kept). */
void otlp_metrics_settings_from_env(struct otlp_metrics_settings *s);

/* cfg: the metrics signal's OTLP config (copied; unused with console). store,
 * clock and stats must outlive the exporter. NULL after one log line on failure. */
struct exporter *otlp_metrics_exporter_new(const struct otlp_config *cfg,
					   const struct otlp_metrics_settings *settings,
					   struct metric_store *store,
					   const struct mono_to_unix *clock,
					   struct agent_stats *stats);

#endif /* KSPAN_OTLP_METRICS_EXPORTER_H */
