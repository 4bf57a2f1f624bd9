/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* log.h - one-line diagnostics on stderr ("kspan: ..."); stdout belongs to
 * the console exporter. */
#ifndef KSPAN_LOG_H
#define KSPAN_LOG_H

#include <stdbool.h>

void log_set_verbose(bool verbose);
bool log_is_verbose(void);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* KSPAN_LOG_H */
