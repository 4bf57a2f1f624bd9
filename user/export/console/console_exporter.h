/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * console_exporter.h - prints spans for a human, one indented tree per trace.
 *
 * Spans of one trace arrive one at a time, children usually before their
 * parents (a span ends when its response is seen). The console exporter holds
 * them, grouped by trace id, and prints a trace once it has been quiet for
 * trace_idle_ms: a header line (trace id, span count, duration), then one
 * line per span with kind, name, service, HTTP status, duration and a bar
 * placed on the trace's time line. Output goes to `out` (the program's
 * stdout: the console exporter is kspan's output; logs go to stderr).
 * A span that arrives after its trace was printed starts a new block with the
 * same trace id: the tree of a trace is only as complete as its quiet time.
 *
 * Single-threaded: every call comes from the agent's main thread.
 */
#ifndef KSPAN_CONSOLE_EXPORTER_H
#define KSPAN_CONSOLE_EXPORTER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "model/exporter.h"

#define CONSOLE_TRACE_IDLE_MS_DEFAULT  1000
#define CONSOLE_MAX_HELD_SPANS_DEFAULT 10000

struct console_exporter_config {
	/* A trace is printed once no span of it arrived for this long; 0: default. */
	uint32_t trace_idle_ms;
	/* Above this many held spans the longest-quiet trace is printed early
	 * (never dropped); 0: default. */
	uint32_t max_held_spans;
	/* ANSI colours and Unicode bars; otherwise plain ASCII. */
	bool use_color;
};

/* Defaults; colour on when `out` is a terminal and NO_COLOR is not set
 * (https://no-color.org). */
void console_exporter_config_init(struct console_exporter_config *cfg, FILE *out);

/*
 * out: where traces are printed (NULL: stdout); not closed by the exporter.
 * stats: counts spans lost to write errors on `out` (spans_export_failed).
 * cfg: NULL for console_exporter_config_init() defaults.
 * Returns NULL (after a message on stderr) when out of memory.
 */
struct exporter *console_exporter_new(FILE *out, struct agent_stats *stats,
				      const struct console_exporter_config *cfg);

#endif /* KSPAN_CONSOLE_EXPORTER_H */
