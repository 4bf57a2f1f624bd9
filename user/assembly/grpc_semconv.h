/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * grpc_semconv.h - the gRPC facts the OpenTelemetry RPC conventions need:
 * is a request gRPC, what service and method it calls, and which status
 * codes make a span an error.
 *
 * https://opentelemetry.io/docs/specs/semconv/rpc/grpc/ and the gRPC over
 * HTTP/2 protocol description (PROTOCOL-HTTP2.md).
 */
#ifndef KSPAN_GRPC_SEMCONV_H
#define KSPAN_GRPC_SEMCONV_H

#include <stdbool.h>
#include <stddef.h>

/* "application/grpc", optionally followed by "+proto", ";..." etc. */
bool grpc_is_content_type(const char *ct, size_t len);

/* ":path" "/package.Service/Method" into its two parts (pointers into
 * path). Returns 0, or -1 when the path does not have that form. */
int grpc_split_path(const char *path, size_t len, const char **service, size_t *service_len,
		    const char **method, size_t *method_len);

/* The canonical name of a status code ("NOT_FOUND"), or NULL above 16. */
const char *grpc_status_name(int code);

/* Whether status `code` makes the span an error: for servers only codes
 * that mean the server failed (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED,
 * INTERNAL, UNAVAILABLE, DATA_LOSS), for clients every non-OK code. */
bool grpc_status_is_error(int code, bool server);

/* Parses a grpc-status value (decimal digits); -1 when it is not one. */
int grpc_parse_status(const char *v, size_t len);

#endif /* KSPAN_GRPC_SEMCONV_H */
