/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * span_capture.h - an exporter that keeps every span it is given, for unit
 * tests whose pipeline ends in it. Include after <cmocka.h>.
 */
#ifndef KSPAN_TEST_SPAN_CAPTURE_H
#define KSPAN_TEST_SPAN_CAPTURE_H

#include <stdlib.h>

#include "model/exporter.h"
#include "model/span.h"

struct capture {
	struct exporter exporter;
	struct span **spans;
	size_t count, cap;
};

static int capture_export(struct exporter *e, struct span *s)
{
	struct capture *c = e->state;

	if (c->count == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct span **spans = realloc(c->spans, cap * sizeof(*spans));
		assert_non_null(spans);
		c->spans = spans;
		c->cap = cap;
	}
	c->spans[c->count++] = span_ref(s);
	return 0;
}

static void capture_shutdown(struct exporter *e, uint64_t deadline_mono_ns)
{
	(void)e;
	(void)deadline_mono_ns;
}

static void capture_destroy(struct exporter *e)
{
	struct capture *c = e->state;

	for (size_t i = 0; i < c->count; i++)
		span_unref(c->spans[i]);
	free(c->spans);
	c->spans = NULL;
	c->count = c->cap = 0;
}

/* c's exporter, ready to be put in a pipeline. */
static inline void capture_init(struct capture *c)
{
	c->exporter = (struct exporter){
	    .name = "capture",
	    .export_span = capture_export,
	    .shutdown = capture_shutdown,
	    .destroy = capture_destroy,
	    .state = c,
	};
}

#endif /* KSPAN_TEST_SPAN_CAPTURE_H */
