/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * otlp_metrics_encoder.h - a metric snapshot (metrics/metric_store.h) to one
 * ExportMetricsServiceRequest (opentelemetry/proto/collector/metrics/v1), in
 * protobuf or OTLP JSON: one ResourceMetrics per resource (the process's, as
 * its spans carry it; the service graph's edges have none), one ScopeMetrics
 * "kspan", one Metric per metric name. Histograms carry bucket counts, sum
 * (and, cumulative only, min and max) and one exemplar per bucket that has
 * one; the overflow set has the single attribute otel.metric.overflow=true.
 */
#ifndef KSPAN_OTLP_METRICS_ENCODER_H
#define KSPAN_OTLP_METRICS_ENCODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics/metric_store.h"

/* *out is released with free(). 0, or -ENOMEM. */
int otlp_encode_metrics(const struct metric_snapshot *snap, bool json, uint8_t **out,
			size_t *out_len);

#endif /* KSPAN_OTLP_METRICS_ENCODER_H */
