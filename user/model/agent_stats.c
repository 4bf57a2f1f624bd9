// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* agent_stats.c - printing the self-counters. */
#include <inttypes.h>

#include "model/agent_stats.h"
#include "model/process_runtime.h"

_Static_assert(AGENT_RUNTIMES == PROCESS_RUNTIME_COUNT, "one unattributed counter per runtime");

uint64_t agent_stats_unattributed_total(const struct agent_stats *s)
{
	uint64_t n = 0;

	for (int i = 0; i < AGENT_RUNTIMES; i++)
		n += STAT_GET(s, client_requests_unattributed[i]);
	return n;
}

uint64_t agent_stats_total_drops(const struct agent_stats *s)
{
	return STAT_GET(s, kernel_ringbuf_drops) + STAT_GET(s, kernel_capture_faults) +
	       STAT_GET(s, kernel_inflight_full) + STAT_GET(s, kernel_conn_table_full) +
	       STAT_GET(s, http_pipeline_overflow) + STAT_GET(s, requests_lost_to_gaps) +
	       STAT_GET(s, spans_export_dropped_queue) + STAT_GET(s, spans_export_failed) +
	       STAT_GET(s, spans_export_dropped_rejected) +
	       STAT_GET(s, spans_export_dropped_partial) +
	       STAT_GET(s, spans_export_dropped_expired) +
	       STAT_GET(s, spans_export_dropped_shutdown) + STAT_GET(s, spans_spool_dropped) +
	       STAT_GET(s, events_malformed) + STAT_GET(s, h2_streams_dropped) +
	       STAT_GET(s, h2_early_responses_expired) + STAT_GET(s, requests_forgotten) +
	       STAT_GET(s, h2_streams_evicted) + STAT_GET(s, h2_stream_contexts_evicted);
}

void agent_stats_print_line(const struct agent_stats *s, FILE *out, const char *prefix)
{
	fputs(prefix, out);
#define AGENT_STATS_PRINT(name, help) fprintf(out, " " #name "=%" PRIu64, STAT_GET(s, name));
	AGENT_STATS_FIELDS(AGENT_STATS_PRINT)
	AGENT_GAUGES_FIELDS(AGENT_STATS_PRINT)
#undef AGENT_STATS_PRINT
	for (int i = 0; i < AGENT_RUNTIMES; i++)
		fprintf(out, " client_requests_unattributed_%s=%" PRIu64, process_runtime_name(i),
			STAT_GET(s, client_requests_unattributed[i]));
	fputc('\n', out);
}

static const uint64_t latency_bounds_us[EXPORT_LATENCY_BUCKETS - 1] = EXPORT_LATENCY_BOUNDS_US;

void agent_stats_observe_export_latency(struct agent_stats *s, uint64_t us)
{
	size_t i = 0;
	while (i < EXPORT_LATENCY_BUCKETS - 1 && us > latency_bounds_us[i])
		i++;
	STAT_INC(s, export_latency_buckets[i]);
	STAT_ADD(s, export_latency_sum_us, us);
}

/*
 * Names follow the Prometheus conventions: a kspan_ prefix, counters end in
 * _total, durations are seconds.
 */
void agent_stats_write_prometheus(const struct agent_stats *s, FILE *out)
{
	agent_stats_write_metrics_text(s, out, false);
}

void agent_stats_write_metrics_text(const struct agent_stats *s, FILE *out, bool openmetrics)
{
	/* OpenMetrics names a counter family without the _total of its sample. */
	const char *family_total = openmetrics ? "" : "_total";
#define AGENT_STATS_PROM_COUNTER(name, help)                                                       \
	fprintf(out,                                                                               \
		"# HELP kspan_" #name "%s " help "\n# TYPE kspan_" #name                           \
		"%s counter\nkspan_" #name "_total %" PRIu64 "\n",                                 \
		family_total, family_total, STAT_GET(s, name));
	AGENT_STATS_FIELDS(AGENT_STATS_PROM_COUNTER)
#undef AGENT_STATS_PROM_COUNTER
#define AGENT_STATS_PROM_GAUGE(name, help)                                                         \
	fprintf(out,                                                                               \
		"# HELP kspan_" #name " " help "\n# TYPE kspan_" #name " gauge\nkspan_" #name      \
		" %" PRIu64 "\n",                                                                  \
		STAT_GET(s, name));
	AGENT_GAUGES_FIELDS(AGENT_STATS_PROM_GAUGE)
#undef AGENT_STATS_PROM_GAUGE
	fprintf(out,
		"# HELP kspan_client_requests_unattributed%s CLIENT requests without a "
		"traceparent of their own, written by a thread that serves several connections "
		"at once, that no mechanism linked (they start their own trace), by runtime\n"
		"# TYPE kspan_client_requests_unattributed%s counter\n",
		family_total, family_total);
	for (int i = 0; i < AGENT_RUNTIMES; i++)
		fprintf(out,
			"kspan_client_requests_unattributed_total{runtime=\"%s\"} %" PRIu64 "\n",
			process_runtime_name(i), STAT_GET(s, client_requests_unattributed[i]));
	fputs("# HELP kspan_export_duration_seconds time from sending an export request to its "
	      "answer\n# TYPE kspan_export_duration_seconds histogram\n",
	      out);
	uint64_t cumulative = 0;
	for (size_t i = 0; i < EXPORT_LATENCY_BUCKETS; i++) {
		cumulative += STAT_GET(s, export_latency_buckets[i]);
		if (i < EXPORT_LATENCY_BUCKETS - 1)
			fprintf(out,
				"kspan_export_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
				(double)latency_bounds_us[i] / 1e6, cumulative);
		else
			fprintf(out,
				"kspan_export_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n",
				cumulative);
	}
	fprintf(out, "kspan_export_duration_seconds_sum %.6f\n",
		(double)STAT_GET(s, export_latency_sum_us) / 1e6);
	fprintf(out, "kspan_export_duration_seconds_count %" PRIu64 "\n", cumulative);
}
