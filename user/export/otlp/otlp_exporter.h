/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * otlp_exporter.h - OTLP exporter (gRPC, HTTP protobuf, HTTP JSON) with a
 * batch span processor (OpenTelemetry specification: protocol/otlp.md,
 * "Batching processor" in trace/sdk.md), a queue bounded in spans and bytes
 * that drops its oldest batches when full, and retries per protocol/otlp.md.
 *
 * Counters (agent_stats.h): spans_export_queued on the way in; then every span
 * ends in exactly one of spans_exported, spans_export_dropped_{queue,
 * rejected, partial, expired, shutdown} or spans_export_failed (encoding).
 */
#ifndef KSPAN_OTLP_EXPORTER_H
#define KSPAN_OTLP_EXPORTER_H

#include "model/exporter.h"
#include "export/otlp/otlp_config.h"

struct agent_stats;

/*
 * Start the exporter and its sender thread. cfg is copied. stats must outlive
 * the exporter. Returns NULL (after one stderr line) on failure.
 */
struct exporter *otlp_exporter_new(const struct otlp_config *cfg, struct agent_stats *stats);

/*
 * Queue a request body encoded elsewhere (the metrics exporter's), owned by
 * the exporter from now on (free()d), holding `items` data points that the
 * exporter's counters count as it counts spans. Compressed as configured.
 * Main thread; 0 or a negative errno (counted).
 */
int otlp_exporter_send_encoded(struct exporter *e, uint8_t *raw, size_t len, uint32_t items);

#endif /* KSPAN_OTLP_EXPORTER_H */
