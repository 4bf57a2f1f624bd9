/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* otlp_config.h - OTLP exporter settings from the OTEL_* variables. */
#ifndef KSPAN_OTLP_CONFIG_H
#define KSPAN_OTLP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum otlp_compression {
	OTLP_COMPRESSION_NONE = 0,
	OTLP_COMPRESSION_GZIP = 1,
};

/* OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL (protocol/exporter.md, "Specify Protocol"). */
enum otlp_protocol {
	OTLP_PROTOCOL_HTTP_PROTOBUF = 0, /* "http/protobuf" */
	OTLP_PROTOCOL_HTTP_JSON = 1,	 /* "http/json" */
	OTLP_PROTOCOL_GRPC = 2,		 /* "grpc" */
};

/* Which signal a configuration is for: its variables (OTEL_EXPORTER_OTLP_TRACES_*
 * or _METRICS_*), its HTTP path and its gRPC service. */
enum otlp_signal {
	OTLP_SIGNAL_TRACES = 0,
	OTLP_SIGNAL_METRICS = 1,
};

struct otlp_header {
	char *name;
	char *value; /* already URL-decoded */
};

/* Spec defaults (protocol/exporter.md, configuration/sdk-environment-variables.md),
 * but for the queue: 2048 spans is 10 ms of a node's spans at 200k spans/s, and
 * a collector (or the CPU it shares with the traced services) pausing that long
 * dropped batches (issue 13, target 4). 32768 spans of ~450 encoded bytes
 * (nginx's, the replay bench) are ~14 MB; KSPAN_OTLP_QUEUE_MAX_BYTES bounds the
 * memory either way. */
#define OTLP_HTTP_DEFAULT_ENDPOINT	       "http://localhost:4318/v1/traces"
#define OTLP_GRPC_DEFAULT_ENDPOINT	       "http://localhost:4317"
#define OTLP_HTTP_DEFAULT_BASE		       "http://localhost:4318"
#define OTLP_HTTP_TRACES_PATH		       "v1/traces"
#define OTLP_HTTP_METRICS_PATH		       "v1/metrics"
#define OTLP_HTTP_DEFAULT_TIMEOUT_MS	       10000
#define OTLP_BSP_DEFAULT_SCHEDULE_DELAY_MS     5000
#define OTLP_BSP_DEFAULT_EXPORT_TIMEOUT_MS     30000
#define OTLP_BSP_DEFAULT_MAX_QUEUE_SIZE	       32768 /* not the SDKs' 2048, see above */
#define OTLP_BSP_DEFAULT_MAX_EXPORT_BATCH_SIZE 512
/* kspan's own (KSPAN_OTLP_*): the Collector's exporterhelper has the same knobs. */
#define OTLP_DEFAULT_QUEUE_MAX_BYTES	  (32u << 20)
#define OTLP_DEFAULT_RETRY_INITIAL_MS	  1000
#define OTLP_DEFAULT_RETRY_MAX_MS	  30000
#define OTLP_DEFAULT_RETRY_MAX_ELAPSED_MS 300000

struct otlp_config {
	enum otlp_signal signal;
	enum otlp_protocol protocol;
	char *endpoint; /* http[s]: the full URL POSTed to; grpc: scheme://host:port */
	struct otlp_header *headers;
	size_t n_headers;
	enum otlp_compression compression;
	/* TLS (https:// endpoints): file names, or NULL for the system's defaults. */
	char *certificate;	  /* OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE: CA bundle */
	char *client_certificate; /* OTEL_EXPORTER_OTLP_[TRACES_]CLIENT_CERTIFICATE */
	char *client_key;	  /* OTEL_EXPORTER_OTLP_[TRACES_]CLIENT_KEY */
	bool insecure;		  /* grpc without a scheme: OTEL_EXPORTER_OTLP_[TRACES_]INSECURE */
	uint32_t timeout_ms;	  /* one request: OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT */
	uint32_t schedule_delay_ms;	/* a batch waits at most this: OTEL_BSP_SCHEDULE_DELAY */
	uint32_t export_timeout_ms;	/* also bounds a request: OTEL_BSP_EXPORT_TIMEOUT */
	uint32_t max_queue_size;	/* spans held: OTEL_BSP_MAX_QUEUE_SIZE */
	uint32_t max_export_batch_size; /* OTEL_BSP_MAX_EXPORT_BATCH_SIZE, <= max_queue_size */
	uint32_t queue_max_bytes;	/* encoded bytes held: KSPAN_OTLP_QUEUE_MAX_BYTES */
	uint32_t retry_initial_ms;	/* first backoff: KSPAN_OTLP_RETRY_INITIAL_INTERVAL */
	uint32_t retry_max_ms;		/* backoff cap: KSPAN_OTLP_RETRY_MAX_INTERVAL */
	uint32_t retry_max_elapsed_ms;	/* per batch: KSPAN_OTLP_RETRY_MAX_ELAPSED_TIME */
	/* OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT, else OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT; 0: none
	 */
	uint32_t attr_value_limit;
	const char *spool_dir;	  /* --spool-dir: not owned, NULL for none */
	uint64_t spool_max_bytes; /* --spool-max-bytes */
};

/*
 * Fill cfg from the standard environment variables; an empty variable counts
 * as unset, and a signal-specific (TRACES_) variable wins over the general one.
 *
 * Protocol: OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL, "http/protobuf" (default),
 * "http/json" or "grpc".
 * Endpoint, first match: endpoint_override (http: a URL with a path is used
 * as-is, one without a path gets /v1/traces); OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
 * as-is; OTEL_EXPORTER_OTLP_ENDPOINT (+ "/v1/traces" for http); the default
 * (http://localhost:4318/v1/traces, grpc http://localhost:4317). A grpc
 * endpoint without a scheme is https unless OTEL_EXPORTER_OTLP_INSECURE=true.
 * Headers: OTEL_EXPORTER_OTLP_HEADERS then OTEL_EXPORTER_OTLP_TRACES_HEADERS
 * (same name: the latter wins), "k1=v1,k2=v2" with percent-encoded values.
 * Compression: OTEL_EXPORTER_OTLP_[TRACES_]COMPRESSION, "gzip" or "none".
 * Numbers are milliseconds, counts or bytes, as named in the struct.
 *
 * A value that cannot be used is reported in one stderr line naming the
 * variable and replaced by its default. Returns 0, -EINVAL when the endpoint
 * is not a usable URL (cfg is then empty), or -ENOMEM. Release with
 * otlp_config_free().
 */
int otlp_config_from_env(struct otlp_config *cfg, const char *endpoint_override);
/* The same for either signal: OTEL_EXPORTER_OTLP_METRICS_* instead of _TRACES_*,
 * /v1/metrics instead of /v1/traces (an override ending in /v1/traces gets
 * /v1/metrics in its place; OTEL_EXPORTER_OTLP_METRICS_ENDPOINT wins over the
 * override). */
int otlp_config_from_env_for(struct otlp_config *cfg, const char *endpoint_override,
			     enum otlp_signal signal);
void otlp_config_free(struct otlp_config *cfg);

/* Deep copy; 0 or -ENOMEM (dst is then partly filled: free it). */
int otlp_config_copy(struct otlp_config *dst, const struct otlp_config *src);

/* "http/protobuf", "http/json" or "grpc". */
const char *otlp_protocol_name(enum otlp_protocol p);

#endif /* KSPAN_OTLP_CONFIG_H */
