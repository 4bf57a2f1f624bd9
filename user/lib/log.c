// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* log.c - diagnostics on stderr. */
#include <stdarg.h>
#include <stdio.h>

#include "lib/log.h"

/* The only process-wide setting outside struct agent: logging is needed by
 * every module, including the libbpf print callback, which has no context. */
static bool verbose_enabled;

void log_set_verbose(bool verbose)
{
	verbose_enabled = verbose;
}

bool log_is_verbose(void)
{
	return verbose_enabled;
}

static void log_line(const char *level, const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	/* One fprintf per line so lines from exporter threads do not interleave. */
	fprintf(stderr, "kspan: %s%s\n", level, line);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("", fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("warning: ", fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!verbose_enabled)
		return;
	va_start(ap, fmt);
	log_line("debug: ", fmt, ap);
	va_end(ap);
}
