/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * otlp_http_exporter.h - OTLP/HTTP binary protobuf exporter with a batch span
 * processor (OpenTelemetry specification: "OTLP/HTTP" in protocol/otlp.md,
 * "Batching processor" in trace/sdk.md).
 *
 * export_span() only puts the span in a bounded queue; a worker thread sends
 * batches with libcurl over one kept-alive connection. A full queue drops the
 * span (spans_export_dropped_queue); a failed request drops its batch
 * (export_requests_failed, spans_export_failed).
 */
#ifndef KSPAN_OTLP_HTTP_EXPORTER_H
#define KSPAN_OTLP_HTTP_EXPORTER_H

#include <stddef.h>
#include <stdint.h>

#include "exporter.h"
#include "otlp_http_config.h"

struct agent_stats;

/*
 * Start the exporter and its worker thread. cfg is copied. stats must outlive
 * the exporter. Returns NULL (after one stderr line) on failure.
 */
struct exporter *otlp_http_exporter_new(const struct otlp_http_config *cfg,
					struct agent_stats *stats);

#endif /* KSPAN_OTLP_HTTP_EXPORTER_H */
