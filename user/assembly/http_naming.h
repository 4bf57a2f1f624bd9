/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http_naming.h - low-cardinality span names and request-target splitting
 * (query redaction: lib/secret_redact.h).
 *
 * kspan does not know the application's routes, so the span name uses the
 * path with identifier-like segments replaced by "{id}" ("GET /users/{id}"),
 * which keeps names groupable without inventing an http.route attribute.
 */
#ifndef KSPAN_HTTP_NAMING_H
#define KSPAN_HTTP_NAMING_H

#include <stdbool.h>
#include <stddef.h>

/* Writes the path with numeric, UUID, long hex and long mixed segments
 * replaced by "{id}" into out (always NUL-terminated). */
void http_path_template(const char *path, size_t len, char *out, size_t out_size);

/* Splits a request-target into path and query (without '?'); an
 * absolute-form target ("http://h/p?q") is reduced to its path. */
void http_split_target(const char *target, size_t len, const char **path, size_t *path_len,
		       const char **query, size_t *query_len);

#endif /* KSPAN_HTTP_NAMING_H */
