/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * otlp_transport.h - sends one already encoded OTLP request and says what came
 * back; the exporter decides what to do about it (export_retry.h). One
 * implementation per wire protocol: OTLP/HTTP (libcurl, protobuf or JSON
 * bodies) and OTLP/gRPC (nghttp2). Used by one thread at a time; keeps its
 * connection open between requests.
 */
#ifndef KSPAN_OTLP_TRANSPORT_H
#define KSPAN_OTLP_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "export/otlp/export_retry.h"
#include "export/otlp/otlp_config.h"

/* Polled while a request is in flight: true ends it at once (shutdown deadline). */
struct otlp_transport_abort {
	bool (*should_abort)(void *ctx);
	void *ctx;
};

struct otlp_transport {
	/* body is the complete, compressed if configured, request message. */
	void (*send)(struct otlp_transport *t, const uint8_t *body, size_t len, uint32_t timeout_ms,
		     struct export_result *res);
	void (*destroy)(struct otlp_transport *t);
};

/* content_type: "application/x-protobuf" or "application/json". NULL on failure (logged). */
struct otlp_transport *otlp_transport_http_new(const struct otlp_config *cfg,
					       const char *content_type,
					       struct otlp_transport_abort abort);
struct otlp_transport *otlp_transport_grpc_new(const struct otlp_config *cfg,
					       struct otlp_transport_abort abort);

#endif /* KSPAN_OTLP_TRANSPORT_H */
