/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * span_sink.h - the edge between span assembly and the pipeline.
 *
 * An assembler hands every finished span to a sink; it does not know what is
 * behind it (the pipeline in the agent, a capture in tests). main.c wires the
 * pipeline's sink into the assemblers, so assembly never includes a later stage.
 */
#ifndef KSPAN_SPAN_SINK_H
#define KSPAN_SPAN_SINK_H

#include "model/span.h"

struct span_sink {
	/* Takes ownership of the caller's reference. */
	void (*submit)(struct span_sink *sink, struct span *s);
};

static inline void span_sink_submit(struct span_sink *sink, struct span *s)
{
	sink->submit(sink, s);
}

#endif /* KSPAN_SPAN_SINK_H */
