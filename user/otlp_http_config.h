/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* otlp_http_config.h - OTLP/HTTP exporter settings from the OTEL_* variables. */
#ifndef KSPAN_OTLP_HTTP_CONFIG_H
#define KSPAN_OTLP_HTTP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

enum otlp_compression {
	OTLP_COMPRESSION_NONE = 0,
	OTLP_COMPRESSION_GZIP = 1,
};

struct otlp_http_header {
	char *name;
	char *value; /* already URL-decoded */
};

/* Spec defaults (protocol/exporter.md, configuration/sdk-environment-variables.md). */
#define OTLP_HTTP_DEFAULT_ENDPOINT	       "http://localhost:4318/v1/traces"
#define OTLP_HTTP_TRACES_PATH		       "v1/traces"
#define OTLP_HTTP_DEFAULT_TIMEOUT_MS	       10000
#define OTLP_BSP_DEFAULT_SCHEDULE_DELAY_MS     5000
#define OTLP_BSP_DEFAULT_EXPORT_TIMEOUT_MS     30000
#define OTLP_BSP_DEFAULT_MAX_QUEUE_SIZE	       2048
#define OTLP_BSP_DEFAULT_MAX_EXPORT_BATCH_SIZE 512

struct otlp_http_config {
	char *endpoint; /* the full URL requests are POSTed to */
	struct otlp_http_header *headers;
	size_t n_headers;
	enum otlp_compression compression;
	uint32_t timeout_ms;	    /* one request: OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT */
	uint32_t schedule_delay_ms; /* between two exports: OTEL_BSP_SCHEDULE_DELAY */
	uint32_t export_timeout_ms; /* one export, also bounds a request: OTEL_BSP_EXPORT_TIMEOUT */
	uint32_t max_queue_size;    /* OTEL_BSP_MAX_QUEUE_SIZE */
	uint32_t max_export_batch_size; /* OTEL_BSP_MAX_EXPORT_BATCH_SIZE, <= max_queue_size */
};

/*
 * Fill cfg from the standard environment variables; an empty variable counts
 * as unset, and a signal-specific (TRACES_) variable wins over the general one.
 *
 * Endpoint, first match: endpoint_override (a URL with a path is used as-is,
 * one without a path gets /v1/traces); OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
 * as-is; OTEL_EXPORTER_OTLP_ENDPOINT + "/v1/traces"; OTLP_HTTP_DEFAULT_ENDPOINT.
 * Headers: OTEL_EXPORTER_OTLP_HEADERS then OTEL_EXPORTER_OTLP_TRACES_HEADERS
 * (same name: the latter wins), "k1=v1,k2=v2" with percent-encoded values.
 * Compression: OTEL_EXPORTER_OTLP_[TRACES_]COMPRESSION, "gzip" or "none".
 * Numbers are milliseconds or counts; OTEL_BSP_* as named in the struct.
 *
 * A value that cannot be used is reported in one stderr line naming the
 * variable and replaced by its default. Returns 0, -EINVAL when the endpoint
 * is not an http:// or https:// URL (cfg is then empty), or -ENOMEM. Release
 * with otlp_http_config_free().
 */
int otlp_http_config_from_env(struct otlp_http_config *cfg, const char *endpoint_override);
void otlp_http_config_free(struct otlp_http_config *cfg);

/* Deep copy; 0 or -ENOMEM (dst is then partly filled: free it). */
int otlp_http_config_copy(struct otlp_http_config *dst, const struct otlp_http_config *src);

#endif /* KSPAN_OTLP_HTTP_CONFIG_H */
