/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * console_view.h - the text of one trace, as the console exporter prints it:
 * a header line (trace id, span count, duration), then one line per span with
 * kind, name, service, HTTP status, duration and a bar placed on the trace's
 * time line, children indented under their parents.
 */
#ifndef KSPAN_CONSOLE_VIEW_H
#define KSPAN_CONSOLE_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "model/span.h"

struct console_view {
	FILE *out;
	bool use_color; /* ANSI colours and Unicode bars; otherwise plain ASCII */
};

/* Writes the n (>= 1) spans of one trace and an empty line; does not flush
 * (write errors are the caller's to check with ferror). */
void console_view_print_trace(const struct console_view *v, struct span *const *spans, size_t n);

#endif /* KSPAN_CONSOLE_VIEW_H */
