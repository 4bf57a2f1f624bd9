/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* options.h - command line and environment of the agent. */
#ifndef KSPAN_OPTIONS_H
#define KSPAN_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/sampler.h"

/* Which attach front-end loads the probes (--backend). */
enum probe_backend {
	PROBE_BACKEND_AUTO = 0, /* the best one this kernel allows */
	PROBE_BACKEND_FENTRY,
	PROBE_BACKEND_KPROBE,
	PROBE_BACKEND_TRACEPOINT,
	PROBE_BACKEND_SOCKET_TRACEPOINT, /* no header insertion */
};

#define OPTIONS_MAX_PIDS		    1024
#define OPTIONS_MAX_PORTS		    256
#define OPTIONS_DEFAULT_SPOOL_MAX_BYTES	    (256ull << 20)
#define OPTIONS_DEFAULT_METRICS_CARDINALITY 2000 /* metrics/sdk.md, "Cardinality limits" */
#define OPTIONS_DEFAULT_IDLE_TIMEOUT_MS	    5000
/* The bounds of the agent's tables (assembly/conn_registry.h,
 * assembly/http2_assembler.h): the kernel's conn_table size, and as many
 * open HTTP/2 streams; 15 minutes of silence. */
#define OPTIONS_DEFAULT_MAX_CONNECTIONS 65536
#define OPTIONS_DEFAULT_MAX_H2_STREAMS	65536
#define OPTIONS_DEFAULT_CONN_FORGET_MS	(15u * 60 * 1000)
/* --metrics-addr: Prometheus text on the conventional OpenTelemetry port, local only. */
#define METRICS_DEFAULT_ADDR "127.0.0.1:9464"

struct agent_options {
	uint32_t pids[OPTIONS_MAX_PIDS];
	size_t pid_count;
	uint16_t ports[OPTIONS_MAX_PORTS];
	size_t port_count;
	bool export_console;
	bool export_otlp;
	const char *otlp_endpoint; /* --otlp-endpoint, or NULL for the OTEL_* variables */
	uint32_t capture_bytes;
	uint32_t ringbuf_bytes;
	uint32_t idle_timeout_ms;     /* a connection quiet this long flushes its open span */
	uint32_t max_connections;     /* connections followed at most (--max-connections) */
	uint32_t max_h2_streams;      /* open HTTP/2 streams at most (--max-h2-streams) */
	uint32_t conn_forget_ms;      /* a connection silent this long is forgotten */
	bool capture_query;	      /* keep url.query values instead of redacting them */
	uint32_t propagation;	      /* KSPAN_PROPAGATE_* bits (--propagation) */
	bool insert_despite_fionread; /* --insert-despite-fionread */
	const char *metrics_addr;     /* --metrics-addr host:port; "" serves no metrics */
	const char *spool_dir;	      /* --spool-dir: unsent batches kept across restarts */
	uint64_t spool_max_bytes;     /* --spool-max-bytes */
	const char *record_events;    /* --record-events FILE: ring-buffer records, raw */
	enum probe_backend backend;
	/* --capture-command-args: export process.command_args (redacted) */
	bool capture_command_args;
	bool verbose;
	/* OTEL_TRACES_SAMPLER and _ARG (sampler_from_env), for the probes and
	 * span assembly alike. */
	struct sampler sampler;
	/* Metrics from spans (README "Metrics"). */
	bool span_metrics;		    /* false: --no-span-metrics */
	uint32_t metrics_cardinality_limit; /* --metrics-cardinality-limit */
	/* OTEL_METRICS_EXPORTER: push metrics over OTLP (default: when the
	 * traces go over OTLP), or print them; /metrics serves them either way. */
	bool metrics_export_otlp;
	bool metrics_export_console;
};

/* What --help adds after an option's text: its default, read from the
 * field at default_offset of the defaults (options_defaults()). */
enum option_default {
	OPTION_DEFAULT_NONE = 0, /* the text says it, or there is none */
	OPTION_DEFAULT_U32,
	OPTION_DEFAULT_U64,
	OPTION_DEFAULT_STR,
};

/* One command-line option: getopt_long's table and --help come from these. */
struct option_spec {
	const char *name; /* the long name, without "--" */
	int key;	  /* a letter: also the short option; >= 256: long only */
	const char *arg;  /* the argument's name in --help, NULL for a flag */
	const char *help; /* lines separated by '\n' */
	enum option_default show_default;
	size_t default_offset; /* in struct agent_options */
};

extern const struct option_spec options_table[];
extern const size_t options_table_len;

/* The values every option has when not given. */
void options_defaults(struct agent_options *o);

/* Returns 0 on success, 1 when --help was printed (exit 0), or a negative
 * errno after printing what was wrong (exit 2). */
int options_parse(struct agent_options *o, int argc, char **argv);
void options_usage(FILE *out);
/* "fentry", ...; "auto" for PROBE_BACKEND_AUTO. */
const char *probe_backend_name(enum probe_backend b);

#endif /* KSPAN_OPTIONS_H */
