// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* options.c - parse the command line and the OTEL_* exporter selection; the
 * option table is the one place an option is written, --help is made from it. */
#include <errno.h>
#include <stddef.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "kspan_abi.h"
#include "lib/log.h"
#include "config/options.h"

enum {
	OPT_PID = 256,
	OPT_PORT,
	OPT_EXPORTER,
	OPT_ENDPOINT,
	OPT_CAPTURE,
	OPT_RINGBUF,
	OPT_IDLE,
	OPT_QUERY,
	OPT_COMMAND_ARGS,
	OPT_PROPAGATION,
	OPT_METRICS_ADDR,
	OPT_SPOOL_DIR,
	OPT_SPOOL_MAX,
	OPT_NO_SPAN_METRICS,
	OPT_METRICS_CARDINALITY,
	OPT_BACKEND,
	OPT_MAX_CONNS,
	OPT_MAX_H2_STREAMS,
	OPT_CONN_FORGET,
	OPT_INSERT_DESPITE_FIONREAD,
	OPT_RECORD_EVENTS,
};

/* A literal number, as text (KSPAN_CAPTURE_MAX in --help). */
#define STR_(x) #x
#define STR(x)	STR_(x)

#define DEFAULT_OF(field, how)                                                                     \
	.show_default = how, .default_offset = offsetof(struct agent_options, field)

/* Every option, once: getopt_long's table and --help are made from it. */
const struct option_spec options_table[] = {
    {"pid", OPT_PID, "PID", "trace only this process (repeatable)"},
    {"port", OPT_PORT, "PORT",
     "trace only TCP connections with this local or remote port\n"
     "(repeatable; combined with --pid, both must match)"},
    {"exporter", OPT_EXPORTER, "LIST",
     "console, otlp or none; comma-separated for several\n"
     "(default: otlp when an OTLP endpoint is configured,\n"
     "else console; OTEL_TRACES_EXPORTER is honoured)"},
    {"otlp-endpoint", OPT_ENDPOINT, "URL",
     "OTLP endpoint: HTTP base URL (/v1/traces is appended)\n"
     "or, for grpc, scheme://host:port\n"
     "(default: OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT,\n"
     "else http://localhost:4318)"},
    {"capture-bytes", OPT_CAPTURE, "N",
     "payload bytes captured per syscall, at most " STR(KSPAN_CAPTURE_MAX),
     DEFAULT_OF(capture_bytes, OPTION_DEFAULT_U32)},
    {"ringbuf-bytes", OPT_RINGBUF, "N", "ring buffer size, a power of two",
     DEFAULT_OF(ringbuf_bytes, OPTION_DEFAULT_U32)},
    {"idle-timeout-ms", OPT_IDLE, "N", "flush an unfinished span after N ms of silence",
     DEFAULT_OF(idle_timeout_ms, OPTION_DEFAULT_U32)},
    {"max-connections", OPT_MAX_CONNS, "N",
     "connections followed at most; beyond, the least\n"
     "recently active is forgotten (conns_evicted)",
     DEFAULT_OF(max_connections, OPTION_DEFAULT_U32)},
    {"max-h2-streams", OPT_MAX_H2_STREAMS, "N",
     "open HTTP/2 streams followed at most, all connections;\n"
     "beyond, the least recently active is dropped",
     DEFAULT_OF(max_h2_streams, OPTION_DEFAULT_U32)},
    {"conn-forget-ms", OPT_CONN_FORGET, "N",
     "forget a connection silent for N ms (its close was\n"
     "lost); requests still unanswered are dropped, counted",
     DEFAULT_OF(conn_forget_ms, OPTION_DEFAULT_U32)},
    {"capture-query", OPT_QUERY, NULL, "keep url.query values (default: values are REDACTED)"},
    {"capture-command-args", OPT_COMMAND_ARGS, NULL,
     "export process.command_args, secrets REDACTED\n"
     "(default: only the command, argv[0])"},
    {"propagation", OPT_PROPAGATION, "MODE",
     "how traces cross processes: headers (insert traceparent\n"
     "into outgoing HTTP/1.x and HTTP/2 requests), tuple\n"
     "(join both ends of connections seen on this node),\n"
     "all (default) or off"},
    {"insert-despite-fionread", OPT_INSERT_DESPITE_FIONREAD, NULL,
     "insert traceparent even on a kernel whose sockhash\n"
     "breaks FIONREAD (checked at start; the HTTP client\n"
     "sockets kspan edits then report FIONREAD 0)"},
    {"metrics-addr", OPT_METRICS_ADDR, "ADDR",
     "serve Prometheus metrics on http://ADDR/metrics\n"
     "(empty: off)",
     DEFAULT_OF(metrics_addr, OPTION_DEFAULT_STR)},
    {"no-span-metrics", OPT_NO_SPAN_METRICS, NULL,
     "derive no RED metrics or service graph from the spans\n"
     "(default: on; OTLP per OTEL_METRICS_EXPORTER, and /metrics)"},
    {"metrics-cardinality-limit", OPT_METRICS_CARDINALITY, "N",
     "attribute sets per metric and process; further ones\n"
     "count in one otel.metric.overflow=true set",
     DEFAULT_OF(metrics_cardinality_limit, OPTION_DEFAULT_U32)},
    {"spool-dir", OPT_SPOOL_DIR, "DIR",
     "OTLP batches the queue cannot hold (full, or unsent at\n"
     "exit) go to DIR, and are sent later, by this kspan or the next"},
    {"spool-max-bytes", OPT_SPOOL_MAX, "N", "bound of the spool directory",
     DEFAULT_OF(spool_max_bytes, OPTION_DEFAULT_U64)},
    {"backend", OPT_BACKEND, "NAME",
     "how the probes attach: auto (default: the best that\n"
     "works here), fentry, kprobe, socket-tracepoint (no\n"
     "header insertion) or tracepoint"},
    {"record-events", OPT_RECORD_EVENTS, "FILE",
     "also write every ring-buffer record, as the kernel sent\n"
     "it, to FILE (at most 1 GiB), for the replay benchmark\n"
     "(tests/bench/replay.c); the file holds captured payloads"},
    {"verbose", 'v', NULL, "debug logging, including libbpf's"},
    {"help", 'h', NULL, "this help"},
};
const size_t options_table_len = sizeof(options_table) / sizeof(options_table[0]);

/* Where the help text starts: after "  -v, --verbose" or "  --pid PID", padded. */
#define HELP_COLUMN 24

/* " (default X)" for an option whose default is a field of the defaults. */
static void print_default(FILE *out, const struct option_spec *e, const struct agent_options *d)
{
	const char *field = (const char *)d + e->default_offset;

	switch (e->show_default) {
	case OPTION_DEFAULT_U32:
		fprintf(out, " (default %u)", *(const uint32_t *)field);
		break;
	case OPTION_DEFAULT_U64:
		fprintf(out, " (default %llu)", (unsigned long long)*(const uint64_t *)field);
		break;
	case OPTION_DEFAULT_STR:
		fprintf(out, " (default %s)", *(const char *const *)field);
		break;
	case OPTION_DEFAULT_NONE:
		break;
	}
}

void options_usage(FILE *out)
{
	struct agent_options d;

	options_defaults(&d);
	fputs("Usage: kspan [OPTIONS]\n"
	      "Turns the HTTP traffic of every process on this machine into OpenTelemetry spans.\n"
	      "\n",
	      out);
	for (size_t i = 0; i < options_table_len; i++) {
		const struct option_spec *e = &options_table[i];
		const char *help = e->help;
		int n;

		if (e->key < 256)
			n = fprintf(out, "  -%c, --%s", e->key, e->name);
		else
			n = fprintf(out, "  --%s", e->name);
		if (e->arg)
			n += fprintf(out, " %s", e->arg);
		for (;;) {
			const char *nl = strchr(help, '\n');
			int len = nl ? (int)(nl - help) : (int)strlen(help);

			fprintf(out, "%*s%.*s", n < HELP_COLUMN ? HELP_COLUMN - n : 1, "", len,
				help);
			if (!nl)
				break;
			fputc('\n', out);
			help = nl + 1;
			n = 0;
		}
		print_default(out, e, &d);
		fputc('\n', out);
	}
}

static int parse_u32(const char *name, const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		log_warn("%s: '%s' is not a number between %u and %u", name, s, min, max);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

/* "console,otlp" -> flags. Unknown names are an error: a typo must not
 * silently disable export. */
static int parse_exporter_list(struct agent_options *o, const char *list, const char *origin)
{
	char *copy = strdup(list), *save = NULL;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	o->export_console = o->export_otlp = false;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		if (strcmp(t, "console") == 0 || strcmp(t, "logging") == 0) {
			o->export_console = true;
		} else if (strcmp(t, "otlp") == 0) {
			o->export_otlp = true;
		} else if (strcmp(t, "none") == 0) {
			/* nothing */
		} else {
			log_warn("%s: unknown exporter '%s' (use console, otlp or none)", origin,
				 t);
			err = -EINVAL;
		}
	}
	free(copy);
	return err;
}

/* OTEL_METRICS_EXPORTER (sdk-environment-variables.md, "Exporter Selection"):
 * otlp, console, prometheus (pull only: /metrics, which kspan serves
 * whatever this says) or none; unset: otlp when an OTLP endpoint is
 * configured (decided with the traces' choice, in options_parse). */
static bool env_set(const char *name);

static int parse_metrics_exporter(struct agent_options *o)
{
	const char *list = getenv("OTEL_METRICS_EXPORTER");
	char *copy, *save = NULL;
	int err = 0;

	if (!list || !*list) {
		o->metrics_export_otlp = o->otlp_endpoint ||
					 env_set("OTEL_EXPORTER_OTLP_ENDPOINT") ||
					 env_set("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
		return 0;
	}
	if (!(copy = strdup(list)))
		return -ENOMEM;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		if (strcmp(t, "otlp") == 0) {
			o->metrics_export_otlp = true;
		} else if (strcmp(t, "console") == 0) {
			o->metrics_export_console = true;
		} else if (strcmp(t, "none") && strcmp(t, "prometheus")) {
			log_warn("OTEL_METRICS_EXPORTER: unknown exporter '%s' (use otlp, console, "
				 "prometheus or none)",
				 t);
			err = -EINVAL;
		}
	}
	free(copy);
	return err;
}

static int parse_propagation(const char *s, uint32_t *out)
{
	if (strcmp(s, "headers") == 0)
		*out = KSPAN_PROPAGATE_HEADERS;
	else if (strcmp(s, "tuple") == 0)
		*out = KSPAN_PROPAGATE_TUPLE;
	else if (strcmp(s, "all") == 0)
		*out = KSPAN_PROPAGATE_HEADERS | KSPAN_PROPAGATE_TUPLE;
	else if (strcmp(s, "off") == 0)
		*out = 0;
	else {
		log_warn("--propagation: unknown mode '%s' (use headers, tuple, all or off)", s);
		return -EINVAL;
	}
	return 0;
}

static const char *const backend_names[] = {
    [PROBE_BACKEND_AUTO] = "auto",
    [PROBE_BACKEND_FENTRY] = "fentry",
    [PROBE_BACKEND_KPROBE] = "kprobe",
    [PROBE_BACKEND_TRACEPOINT] = "tracepoint",
    [PROBE_BACKEND_SOCKET_TRACEPOINT] = "socket-tracepoint",
};

const char *probe_backend_name(enum probe_backend b)
{
	return (unsigned)b < sizeof(backend_names) / sizeof(backend_names[0]) ? backend_names[b]
									      : "?";
}

static int parse_backend(const char *s, enum probe_backend *out)
{
	for (unsigned i = 0; i < sizeof(backend_names) / sizeof(backend_names[0]); i++) {
		if (strcmp(s, backend_names[i]) == 0) {
			*out = (enum probe_backend)i;
			return 0;
		}
	}
	log_warn("--backend: unknown backend '%s' (use auto, fentry, kprobe, socket-tracepoint or "
		 "tracepoint)",
		 s);
	return -EINVAL;
}

static bool env_set(const char *name)
{
	const char *v = getenv(name);
	return v && *v;
}

void options_defaults(struct agent_options *o)
{
	memset(o, 0, sizeof(*o));
	o->capture_bytes = KSPAN_CAPTURE_DEFAULT;
	o->ringbuf_bytes = KSPAN_RINGBUF_DEFAULT_BYTES;
	o->idle_timeout_ms = OPTIONS_DEFAULT_IDLE_TIMEOUT_MS;
	o->max_connections = OPTIONS_DEFAULT_MAX_CONNECTIONS;
	o->max_h2_streams = OPTIONS_DEFAULT_MAX_H2_STREAMS;
	o->conn_forget_ms = OPTIONS_DEFAULT_CONN_FORGET_MS;
	o->propagation = KSPAN_PROPAGATE_HEADERS | KSPAN_PROPAGATE_TUPLE;
	o->metrics_addr = METRICS_DEFAULT_ADDR;
	o->spool_max_bytes = OPTIONS_DEFAULT_SPOOL_MAX_BYTES;
	o->span_metrics = true;
	o->metrics_cardinality_limit = OPTIONS_DEFAULT_METRICS_CARDINALITY;
}

int options_parse(struct agent_options *o, int argc, char **argv)
{
	struct option longopts[sizeof(options_table) / sizeof(options_table[0]) + 1] = {0};
	char shortopts[2 * sizeof(options_table) / sizeof(options_table[0]) + 1] = "";
	const char *exporter = NULL;
	size_t n_short = 0;
	uint32_t v;
	int c;

	for (size_t i = 0; i < options_table_len; i++) {
		const struct option_spec *e = &options_table[i];

		longopts[i] = (struct option){e->name, e->arg ? required_argument : no_argument,
					      NULL, e->key};
		if (e->key < 256) {
			shortopts[n_short++] = (char)e->key;
			if (e->arg)
				shortopts[n_short++] = ':';
		}
	}
	options_defaults(o);
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case OPT_PID:
			if (o->pid_count == OPTIONS_MAX_PIDS) {
				log_warn("--pid: at most %d processes", OPTIONS_MAX_PIDS);
				return -E2BIG;
			}
			/* PID_MAX_LIMIT on 64-bit (include/linux/threads.h):
			 * the BPF filter is a bitmap up to the largest pid. */
			if (parse_u32("--pid", optarg, 1, 4 * 1024 * 1024, &v))
				return -EINVAL;
			o->pids[o->pid_count++] = v;
			break;
		case OPT_PORT:
			if (o->port_count == OPTIONS_MAX_PORTS) {
				log_warn("--port: at most %d ports", OPTIONS_MAX_PORTS);
				return -E2BIG;
			}
			if (parse_u32("--port", optarg, 1, 65535, &v))
				return -EINVAL;
			o->ports[o->port_count++] = (uint16_t)v;
			break;
		case OPT_EXPORTER:
			exporter = optarg;
			break;
		case OPT_ENDPOINT:
			o->otlp_endpoint = optarg;
			break;
		case OPT_CAPTURE:
			if (parse_u32("--capture-bytes", optarg, 64, KSPAN_CAPTURE_MAX,
				      &o->capture_bytes))
				return -EINVAL;
			break;
		case OPT_RINGBUF:
			if (parse_u32("--ringbuf-bytes", optarg, 4096, 1u << 30, &o->ringbuf_bytes))
				return -EINVAL;
			if (o->ringbuf_bytes & (o->ringbuf_bytes - 1)) {
				log_warn("--ringbuf-bytes: %u is not a power of two",
					 o->ringbuf_bytes);
				return -EINVAL;
			}
			break;
		case OPT_IDLE:
			if (parse_u32("--idle-timeout-ms", optarg, 10, 3600000,
				      &o->idle_timeout_ms))
				return -EINVAL;
			break;
		case OPT_MAX_CONNS:
			if (parse_u32("--max-connections", optarg, 1, 1u << 24,
				      &o->max_connections))
				return -EINVAL;
			break;
		case OPT_MAX_H2_STREAMS:
			if (parse_u32("--max-h2-streams", optarg, 1, 1u << 24, &o->max_h2_streams))
				return -EINVAL;
			break;
		case OPT_CONN_FORGET:
			if (parse_u32("--conn-forget-ms", optarg, 100, 7u * 24 * 3600 * 1000,
				      &o->conn_forget_ms))
				return -EINVAL;
			break;
		case OPT_QUERY:
			o->capture_query = true;
			break;
		case OPT_COMMAND_ARGS:
			o->capture_command_args = true;
			break;
		case OPT_PROPAGATION:
			if (parse_propagation(optarg, &o->propagation))
				return -EINVAL;
			break;
		case OPT_INSERT_DESPITE_FIONREAD:
			o->insert_despite_fionread = true;
			break;
		case OPT_METRICS_ADDR:
			o->metrics_addr = optarg;
			break;
		case OPT_SPOOL_DIR:
			o->spool_dir = optarg[0] ? optarg : NULL;
			break;
		case OPT_RECORD_EVENTS:
			o->record_events = optarg[0] ? optarg : NULL;
			break;
		case OPT_SPOOL_MAX:
			if (parse_u32("--spool-max-bytes", optarg, 4096, 0xffffffffu, &v))
				return -EINVAL;
			o->spool_max_bytes = v;
			break;
		case OPT_NO_SPAN_METRICS:
			o->span_metrics = false;
			break;
		case OPT_METRICS_CARDINALITY:
			if (parse_u32("--metrics-cardinality-limit", optarg, 2, 1u << 24,
				      &o->metrics_cardinality_limit))
				return -EINVAL;
			break;
		case OPT_BACKEND:
			if (parse_backend(optarg, &o->backend))
				return -EINVAL;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			options_usage(stdout);
			return 1;
		default:
			options_usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		log_warn("unexpected argument '%s' (see --help)", argv[optind]);
		return -EINVAL;
	}

	if (parse_metrics_exporter(o))
		return -EINVAL;
	/* Exporter choice: the flag, then OTEL_TRACES_EXPORTER, then "otlp when
	 * an endpoint is configured, else console" so a bare `kspan` shows
	 * something useful on a terminal. */
	if (exporter)
		return parse_exporter_list(o, exporter, "--exporter");
	if (env_set("OTEL_TRACES_EXPORTER"))
		return parse_exporter_list(o, getenv("OTEL_TRACES_EXPORTER"),
					   "OTEL_TRACES_EXPORTER");
	if (o->otlp_endpoint || env_set("OTEL_EXPORTER_OTLP_ENDPOINT") ||
	    env_set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
		o->export_otlp = true;
	else
		o->export_console = true;
	return 0;
}
