// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* agent_stats.c - printing the self-counters. */
#include <inttypes.h>

#include "agent_stats.h"

uint64_t agent_stats_total_drops(const struct agent_stats *s)
{
	return STAT_GET(s, kernel_ringbuf_drops) + STAT_GET(s, kernel_capture_faults) +
	       STAT_GET(s, kernel_inflight_full) + STAT_GET(s, kernel_conn_table_full) +
	       STAT_GET(s, http_pipeline_overflow) + STAT_GET(s, requests_lost_to_gaps) +
	       STAT_GET(s, spans_export_dropped_queue) + STAT_GET(s, spans_export_failed) +
	       STAT_GET(s, events_malformed) + STAT_GET(s, h2_streams_dropped);
}

void agent_stats_print_line(const struct agent_stats *s, FILE *out, const char *prefix)
{
	fputs(prefix, out);
#define AGENT_STATS_PRINT(name, help) fprintf(out, " " #name "=%" PRIu64, STAT_GET(s, name));
	AGENT_STATS_FIELDS(AGENT_STATS_PRINT)
#undef AGENT_STATS_PRINT
	fputc('\n', out);
}
