/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * exporter.h - what every span exporter (console, OTLP/HTTP, ...) provides.
 *
 * The pipeline calls these from the agent's main thread only. An exporter
 * that does network I/O does it on its own thread: export() must never block
 * the ring-buffer reader.
 */
#ifndef KSPAN_EXPORTER_H
#define KSPAN_EXPORTER_H

#include <stddef.h>
#include <stdint.h>

#include "model/span.h"

struct agent_stats;

struct exporter {
	const char *name;
	/* Takes its own reference (span_ref) if it keeps the span. Returns 0, or
	 * a negative errno when the span was dropped (the exporter counts it). */
	int (*export_span)(struct exporter *e, struct span *s);
	/* Called about every 100 ms with CLOCK_MONOTONIC now: flush what is due. */
	void (*tick)(struct exporter *e, uint64_t now_mono_ns);
	/* Send everything held, waiting at most until deadline (CLOCK_MONOTONIC). */
	void (*shutdown)(struct exporter *e, uint64_t deadline_mono_ns);
	void (*destroy)(struct exporter *e);
	/* Optional, for readiness (/readyz): 0 when the exporter works, or a
	 * negative errno and one phrase in why (a sender thread stuck in one
	 * request past its timeout). Not an error: a collector that is down. */
	int (*check)(struct exporter *e, uint64_t now_mono_ns, char *why, size_t len);
	void *state;
};

#endif /* KSPAN_EXPORTER_H */
