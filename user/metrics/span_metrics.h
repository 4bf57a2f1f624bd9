/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * span_metrics.h - every finished span to RED metrics (OpenTelemetry
 * semantic conventions, http-metrics.md and rpc-metrics.md) and to the
 * service graph, before and independent of trace sampling.
 *
 * HTTP server and client spans give http.{server,client}.request.duration;
 * spans with rpc.system=grpc give rpc.{server,client}.call.duration instead.
 * The route (http.route) of a server request is kspan's path template of its
 * url.path (assembly/http_naming.h: identifier-like segments become "{id}"),
 * never the raw path. A span's resource is its process's, the one its spans
 * carry.
 *
 * Service graph: a same-node call is a client span and the server span whose
 * parent it is (both seen by this kspan, joined by trace context). Either
 * side waits up to SERVICE_GRAPH_WAIT_NS for the other; then the edge
 * (client service, server service) is counted like the collector's
 * servicegraph connector counts it; a side left alone is counted in
 * agent_stats.service_graph_unpaired.
 */
#ifndef KSPAN_SPAN_METRICS_H
#define KSPAN_SPAN_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/clock.h"
#include "lib/u64_map.h"
#include "metrics/metric_store.h"
#include "model/span.h"

#define SERVICE_GRAPH_WAIT_NS	  (10 * NS_PER_SEC)
#define SERVICE_GRAPH_MAX_WAITING 16384

/* Attribute keys the metrics read are shorter than this. */
#define SPAN_METRICS_KEY_LEN_MAX 32

struct span_metrics {
	struct metric_store *store;
	uint16_t fields_of_len[SPAN_METRICS_KEY_LEN_MAX]; /* bit f: field f's key has this length */
	struct u64_map waiting; /* span id of the client span -> struct graph_side */
	struct agent_stats *stats;
	uint64_t next_idle_check_ns;
};

int span_metrics_init(struct span_metrics *m, struct metric_store *store,
		      struct agent_stats *stats);
void span_metrics_free(struct span_metrics *m);

/* Record s. exported: s will be exported (its ids may become exemplars). */
void span_metrics_record(struct span_metrics *m, const struct span *s, bool exported,
			 uint64_t now_mono_ns);

/* Sides that waited too long are forgotten (counted); once a minute, metric
 * streams idle for METRIC_STREAM_IDLE_NS are removed (now_unix_ns). */
void span_metrics_tick(struct span_metrics *m, uint64_t now_mono_ns, uint64_t now_unix_ns);

#endif /* KSPAN_SPAN_METRICS_H */
