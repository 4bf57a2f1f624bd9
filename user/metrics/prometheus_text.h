/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * prometheus_text.h - a cumulative metric snapshot in the Prometheus text
 * format (0.0.4) or OpenMetrics 1.0 (with exemplars), named as the
 * OpenTelemetry specification maps OTLP to Prometheus
 * (compatibility/prometheus_and_openmetrics.md): dots and other characters a
 * name may not hold become "_", the unit is a suffix ("s" -> "_seconds"),
 * counters end in "_total"; attributes become labels the same way; the
 * resource becomes job (service.namespace/service.name) and instance
 * (service.instance.id, which kspan's resources lack: host.name:process.pid
 * instead, one per process as the instance is meant to be) on every sample,
 * and all its attributes are labels of one target_info sample per resource.
 */
#ifndef KSPAN_PROMETHEUS_TEXT_H
#define KSPAN_PROMETHEUS_TEXT_H

#include <stdbool.h>
#include <stdio.h>

#include "metrics/metric_store.h"

/* snap must be cumulative. openmetrics: the OpenMetrics text format, with
 * exemplars on _bucket samples; the caller writes "# EOF" after the last
 * family (kspan's own counters follow these). */
void prometheus_write_metrics(const struct metric_snapshot *snap, FILE *out, bool openmetrics);

/* A Prometheus label or metric name for an OTel name: [a-zA-Z0-9_] kept,
 * every other byte "_" (a leading digit gets a "_" before it). */
void prometheus_name(const char *in, char *out, size_t out_size);

#endif /* KSPAN_PROMETHEUS_TEXT_H */
