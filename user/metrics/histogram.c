// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* histogram.c - explicit-bucket histograms with exemplars. */
#include <string.h>

#include "metrics/histogram.h"

/* Semantic conventions, http-metrics.md and rpc-metrics.md: "explicit bucket
 * boundaries [ 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1,
 * 2.5, 5, 7.5, 10 ]". */
const double semconv_duration_bounds[SEMCONV_DURATION_BOUNDS] = {
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10};

/* opentelemetry-collector-contrib connector/servicegraphconnector: the
 * default latency_histogram_buckets (2ms .. 15s). */
const double service_graph_bounds[SERVICE_GRAPH_BOUNDS] = {
    0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1, 1.4, 2, 5, 10, 15};

size_t histogram_bucket(const double *bounds, size_t n, double v)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (v <= bounds[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

void histogram_record(struct histogram *h, const double *bounds, size_t n, double v,
		      const struct exemplar *ex)
{
	size_t b = histogram_bucket(bounds, n, v);

	if (!h->count || v < h->min)
		h->min = v;
	if (!h->count || v > h->max)
		h->max = v;
	h->counts[b]++;
	h->count++;
	h->sum += v;
	if (ex)
		h->exemplars[b] = *ex;
}

void histogram_delta(const struct histogram *now, const struct histogram *before,
		     uint64_t since_unix_ns, struct histogram *out)
{
	*out = *now;
	out->count = now->count - before->count;
	out->sum = now->sum - before->sum;
	for (size_t i = 0; i < HISTOGRAM_MAX_BUCKETS; i++) {
		out->counts[i] = now->counts[i] - before->counts[i];
		if (out->exemplars[i].time_unix_ns < since_unix_ns || !out->counts[i])
			memset(&out->exemplars[i], 0, sizeof(out->exemplars[i]));
	}
}
