/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * histogram.h - an explicit-bucket histogram (OpenTelemetry metrics data
 * model, "Histogram") with one exemplar per bucket.
 *
 * Bucket i counts the values v with bounds[i-1] < v <= bounds[i]; the last
 * bucket those above the last bound (metrics.proto, HistogramDataPoint).
 */
#ifndef KSPAN_HISTOGRAM_H
#define KSPAN_HISTOGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HISTOGRAM_MAX_BOUNDS  16
#define HISTOGRAM_MAX_BUCKETS (HISTOGRAM_MAX_BOUNDS + 1)

/* The semantic conventions' advice for http.*.request.duration and
 * rpc.*.call.duration (seconds). */
#define SEMCONV_DURATION_BOUNDS 14
extern const double semconv_duration_bounds[SEMCONV_DURATION_BOUNDS];

/* The collector's servicegraph connector's default latency buckets (seconds). */
#define SERVICE_GRAPH_BOUNDS 16
extern const double service_graph_bounds[SERVICE_GRAPH_BOUNDS];

/* A measurement and the span it came from; time_unix_ns 0: none. */
struct exemplar {
	uint64_t time_unix_ns;
	double value;
	uint8_t trace_id[16];
	uint8_t span_id[8];
};

struct histogram {
	uint64_t counts[HISTOGRAM_MAX_BUCKETS];
	uint64_t count;
	double sum, min, max; /* min, max meaningful when count > 0 */
	struct exemplar exemplars[HISTOGRAM_MAX_BUCKETS];
};

/* The bucket v falls in: the first i with v <= bounds[i], else n. */
size_t histogram_bucket(const double *bounds, size_t n, double v);

/* Count v; when ex is given, it becomes its bucket's exemplar (the latest one
 * wins: "a recent sampled span"). */
void histogram_record(struct histogram *h, const double *bounds, size_t n, double v,
		      const struct exemplar *ex);

/* out = now - before, bucket by bucket (delta temporality). min and max
 * cannot be subtracted: they are those of now, and left out of delta points
 * by the encoders. Exemplars older than since_unix_ns are cleared. */
void histogram_delta(const struct histogram *now, const struct histogram *before,
		     uint64_t since_unix_ns, struct histogram *out);

#endif /* KSPAN_HISTOGRAM_H */
