// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * main.c - the kspan agent: probes -> ring buffer -> HTTP parsers -> span
 * assembly -> sampling -> exporters, driven by one loop on one thread
 * (exporters that do network I/O have their own).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/agent_stats.h"
#include "lib/clock.h"
#include "export/console/console_exporter.h"
#include "ingest/event_reader.h"
#include "assembly/event_router.h"
#include "assembly/http1_assembler.h"
#include "assembly/http2_assembler.h"
#include "lib/log.h"
#include "agent/health.h"
#include "agent/metrics_server.h"
#include "config/options.h"
#ifndef KSPAN_NO_OTLP
#include "export/otlp/otlp_exporter.h"
#include "export/otlp/otlp_metrics_exporter.h"
#endif
#include "metrics/metric_store.h"
#include "metrics/span_metrics.h"
#include "pipeline/pipeline.h"
#include "loader/insertion_claim.h"
#include "loader/probe_loader.h"
#include "ingest/process_table.h"
#include "loader/go_tls_attach.h"
#include "loader/nginx_attach.h"
#include "lib/version.h"

#define POLL_TIMEOUT_MS	   100
#define TICK_NS		   (100ull * 1000000)
#define COUNTERS_NS	   (1000ull * 1000000)
#define CLOCK_CALIBRATE_NS (10ull * 1000000000)
#define DROP_REPORT_NS	   (60ull * 1000000000)
/* SIGTERM must end us within 5 s: leave room for the exporters' flush. */
#define SHUTDOWN_FLUSH_NS (3500ull * 1000000)

/* Set by the signal handler; the only state outside struct agent. */
static volatile sig_atomic_t stop_requested;

struct agent {
	struct agent_options opts;
	struct agent_stats stats;
	struct mono_to_unix clock;
	struct probe_loader probes;
	struct process_table procs;
	struct conn_budget conns; /* both assemblers' bound on connections */
	struct pipeline pipeline;
	struct metric_store metric_store;
	struct span_metrics span_metrics;
	struct http1_assembler assembler;
	struct http2_assembler h2_assembler;
	struct event_router router;
	struct go_tls_attacher go_tls;
	struct nginx_attacher nginx;
	struct event_reader reader;
	struct event_recorder recorder; /* --record-events */
	struct metrics_server metrics;
	struct agent_health health;
	struct insertion_claim insertion_claim;
	uint64_t drops_reported;
};

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int install_signal_handlers(void)
{
	struct sigaction sa = {.sa_handler = on_signal};

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* OTEL_METRICS_EXPORTER: the span metrics pushed over OTLP or printed, by
 * an exporter the pipeline ticks and shuts down like the span exporters. */
static int setup_metrics_exporter(struct agent *a)
{
	if (!a->pipeline.metrics ||
	    (!a->opts.metrics_export_otlp && !a->opts.metrics_export_console))
		return 0;
#ifdef KSPAN_NO_OTLP
	/* Not fatal: the metrics are still served on --metrics-addr. */
	log_warn("this build of kspan (kspan-static) has no OTLP metrics exporter: metrics are "
		 "only on --metrics-addr (OTEL_METRICS_EXPORTER=none silences this)");
	return 0;
#else
	struct otlp_metrics_settings settings;
	struct otlp_config cfg;
	int err;

	otlp_metrics_settings_from_env(&settings);
	if (a->opts.metrics_export_console) {
		settings.console = stdout;
		err = pipeline_add_exporter(
		    &a->pipeline, otlp_metrics_exporter_new(NULL, &settings, &a->metric_store,
							    &a->clock, &a->stats));
		if (err)
			return err;
		log_info("metrics exporter: console (OTLP JSON lines every %u ms)",
			 settings.interval_ms);
		settings.console = NULL;
	}
	if (!a->opts.metrics_export_otlp)
		return 0;
	err = otlp_config_from_env_for(&cfg, a->opts.otlp_endpoint, OTLP_SIGNAL_METRICS);
	if (err)
		return err;
	err = pipeline_add_exporter(
	    &a->pipeline,
	    otlp_metrics_exporter_new(&cfg, &settings, &a->metric_store, &a->clock, &a->stats));
	if (!err)
		log_info("metrics exporter: OTLP %s to %s every %u ms, %s",
			 otlp_protocol_name(cfg.protocol), cfg.endpoint, settings.interval_ms,
			 settings.delta ? "delta" : "cumulative");
	otlp_config_free(&cfg);
	return err;
#endif
}

static int setup_exporters(struct agent *a)
{
	int err;

	if (a->opts.export_console) {
		err = pipeline_add_exporter(&a->pipeline,
					    console_exporter_new(stdout, &a->stats, NULL));
		if (err)
			return err;
		log_info("exporter: console (traces are printed on stdout when they complete)");
	}
	if (a->opts.export_otlp) {
#ifdef KSPAN_NO_OTLP
		log_warn("this build of kspan (kspan-static) has no OTLP exporter: use "
			 "--exporter console");
		return -ENOTSUP;
#else
		struct otlp_config cfg;
		err = otlp_config_from_env(&cfg, a->opts.otlp_endpoint);
		if (err)
			return err;
		cfg.spool_dir = a->opts.spool_dir;
		cfg.spool_max_bytes = a->opts.spool_max_bytes;
		err = pipeline_add_exporter(&a->pipeline, otlp_exporter_new(&cfg, &a->stats));
		if (!err)
			log_info("exporter: OTLP %s to %s%s", otlp_protocol_name(cfg.protocol),
				 cfg.endpoint,
				 cfg.compression == OTLP_COMPRESSION_GZIP ? " (gzip)" : "");
		otlp_config_free(&cfg);
		if (err)
			return err;
#endif
	}
	if (!a->pipeline.exporter_count)
		log_info("exporter: none (spans are assembled and counted, not sent)");
	return setup_metrics_exporter(a);
}

static void describe_selection(const struct agent_options *o)
{
	char line[512] = "";
	size_t n = 0;

	for (size_t i = 0; i < o->pid_count && n < sizeof(line) - 16; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%u", i ? "," : "", o->pids[i]);
	if (o->pid_count)
		log_info("tracing processes %s%s", line, o->port_count ? "" : ", all TCP ports");
	n = 0;
	for (size_t i = 0; i < o->port_count && n < sizeof(line) - 16; i++)
		n +=
		    (size_t)snprintf(line + n, sizeof(line) - n, "%s%u", i ? "," : "", o->ports[i]);
	if (o->port_count)
		log_info("tracing TCP connections on ports %s%s", line,
			 o->pid_count ? "" : " of every process");
	if (!o->pid_count && !o->port_count)
		log_info("tracing HTTP/1.x and HTTP/2 of every process on this host (except kspan "
			 "itself)");
}

/* One kspan per node inserts headers (loader/insertion_claim.h), and only
 * with CAP_NET_ADMIN; otherwise kspan runs with what needs no sockhash and
 * says so in one line. */
static void claim_insertion(struct agent *a)
{
	uint32_t *prop = &a->opts.propagation;
	pid_t holder;
	char who[48] = "pid not visible from here";
	int err;

	if (!(*prop & KSPAN_PROPAGATE_HEADERS))
		return;
	if (!insertion_capable()) {
		*prop &= ~KSPAN_PROPAGATE_HEADERS;
		log_warn("no CAP_NET_ADMIN, which the sock_ops and sk_msg programs need: "
			 "traceparent insertion is off (--propagation %s)",
			 *prop & KSPAN_PROPAGATE_TUPLE ? "tuple" : "off");
		return;
	}
	err = insertion_claim_take(&a->insertion_claim, INSERTION_CLAIM_NAME, &holder);
	if (!err)
		return;
	*prop &= ~KSPAN_PROPAGATE_HEADERS;
	if (holder > 0)
		snprintf(who, sizeof(who), "pid %d", (int)holder);
	if (err == -EBUSY)
		log_warn("another kspan (%s) inserts traceparent headers on this node: this one "
			 "runs without header insertion (--propagation %s)",
			 who, *prop & KSPAN_PROPAGATE_TUPLE ? "tuple" : "off");
	else
		log_warn("cannot tell whether another kspan inserts traceparent headers on this "
			 "node (%s): header insertion is off (--propagation %s)",
			 strerror(-err), *prop & KSPAN_PROPAGATE_TUPLE ? "tuple" : "off");
}

/* Metrics and health are an aid, not a requirement: a taken port is logged,
 * not fatal. Started before the probes load, so /readyz says "starting". */
static void start_metrics(struct agent *a)
{
	if (a->opts.metrics_addr[0] &&
	    metrics_server_start(&a->metrics, a->opts.metrics_addr, &a->stats, &a->health) == 0)
		log_info("metrics: Prometheus text on %s (port %u), path /metrics; health "
			 "/healthz, /readyz",
			 a->opts.metrics_addr, a->metrics.port);
}

/* A process exec()ed: the TLS libraries it maps are probed. */
static void agent_on_exec(void *ctx, uint32_t tgid, uint64_t ts_ns)
{
	struct agent *a = ctx;

	probe_loader_on_exec(&a->probes, tgid, ts_ns);
	go_tls_attacher_on_exec(&a->go_tls, tgid);
	nginx_attacher_on_exec(&a->nginx, tgid);
}

static int agent_start(struct agent *a)
{
	struct http1_assembler_config acfg = {
	    .capture_query = a->opts.capture_query,
	    .sampler = &a->opts.sampler,
	    .idle_timeout_ns = (uint64_t)a->opts.idle_timeout_ms * 1000000,
	    .conns = &a->conns,
	};
	struct http2_assembler_config h2cfg = {
	    .capture_query = a->opts.capture_query,
	    .sampler = &a->opts.sampler,
	    .conns = &a->conns,
	    .max_streams = a->opts.max_h2_streams,
	};
	struct event_handlers handlers;
	int err, fionread;

	mono_to_unix_calibrate(&a->clock);
	sampler_from_env(&a->opts.sampler);
	err = health_init(&a->health, clock_mono_ns());
	if (err)
		return err;
	claim_insertion(a);
	start_metrics(a);
	fionread = probe_loader_check_insertion(&a->opts);
	pipeline_init(&a->pipeline, &a->stats);
	a->pipeline.clock = &a->clock;
	if (a->opts.span_metrics) {
		err = metric_store_init(&a->metric_store, a->opts.metrics_cardinality_limit,
					mono_to_unix_ns(&a->clock, clock_mono_ns()), &a->stats);
		if (!err)
			err = span_metrics_init(&a->span_metrics, &a->metric_store, &a->stats);
		if (err)
			return err;
		a->pipeline.metrics = &a->span_metrics;
		metrics_server_set_store(&a->metrics, &a->metric_store);
	}
	err = process_table_init(&a->procs, "/proc");
	a->procs.capture_command_args = a->opts.capture_command_args;
	a->procs.stats = &a->stats;
	conn_budget_init(&a->conns, a->opts.max_connections,
			 (uint64_t)a->opts.conn_forget_ms * 1000000, &a->stats);
	if (!err)
		err = http1_assembler_init(&a->assembler, &acfg, &a->procs, &a->pipeline.sink,
					   &a->stats, &a->clock);
	/* What the claim and the FIONREAD check left of --propagation. */
	h2cfg.propagation = a->opts.propagation;
	if (!err)
		err = http2_assembler_init(&a->h2_assembler, &h2cfg, &a->procs, &a->pipeline.sink,
					   &a->stats, &a->clock);
	if (err)
		return err;
	err = probe_loader_start(&a->probes, &a->opts);
	if (err)
		return err;
	health_set_probes_attached(&a->health, true);
	probe_loader_report_insertion(fionread);
	probe_loader_probe_tls(&a->probes, &a->opts, &a->stats);
	/* Go executables running now; those exec'd later: agent_on_exec. */
	go_tls_attacher_init(&a->go_tls, probe_loader_object(&a->probes), "/proc", &a->stats);
	a->go_tls.go_processes_gen = probe_loader_go_processes_gen(&a->probes);
	go_tls_attacher_scan(&a->go_tls);
	nginx_attacher_init(&a->nginx, probe_loader_object(&a->probes), "/proc", &a->stats);
	nginx_attacher_scan(&a->nginx);
	a->router = (struct event_router){.http1 = &a->assembler,
					  .http2 = &a->h2_assembler,
					  .procs = &a->procs,
					  .on_exec = agent_on_exec,
					  .exec_ctx = a};
	handlers = event_router_handlers(&a->router);
	err = event_reader_open(&a->reader, probe_loader_ringbuf_fd(&a->probes),
				probe_loader_wakeup_bytes(a->opts.ringbuf_bytes), &handlers,
				&a->stats);
	if (err)
		return err;
	if (a->opts.record_events) {
		err = event_recorder_open(&a->recorder, a->opts.record_events);
		if (err)
			return err;
		a->reader.recorder = &a->recorder;
		log_info("recording ring-buffer records to %s", a->opts.record_events);
	}
	err = setup_exporters(a);
	if (err)
		return err;
	describe_selection(&a->opts);
	log_info("sampler: %s; payload capture %u bytes/syscall; ring buffer %u bytes",
		 a->opts.sampler.description, a->opts.capture_bytes, a->opts.ringbuf_bytes);
	health_loop_ran(&a->health, clock_mono_ns());
	health_set_phase(&a->health, AGENT_PHASE_RUNNING);
	log_info("ready");
	return 0;
}

/* One line a minute while anything was lost, so drops are never silent. */
static void report_drops(struct agent *a)
{
	uint64_t drops = agent_stats_total_drops(&a->stats);

	if (drops == a->drops_reported)
		return;
	a->drops_reported = drops;
	agent_stats_print_line(&a->stats, stderr, "kspan: data was dropped; counters:");
}

static void check_exporters(struct agent *a, uint64_t now)
{
	char why[HEALTH_PROBLEM_MAX];

	if (pipeline_check(&a->pipeline, now, why, sizeof(why)) == 0)
		why[0] = 0;
	health_set_exporter_problem(&a->health, why);
}

static int agent_run(struct agent *a)
{
	uint64_t now = clock_mono_ns(), next_tick = now, next_counters = now;
	uint64_t next_calibrate = now + CLOCK_CALIBRATE_NS, next_drops = now + DROP_REPORT_NS;

	while (!stop_requested) {
		int n = event_reader_poll(&a->reader, POLL_TIMEOUT_MS);
		if (n < 0 && n != -EINTR) {
			log_warn("reading the ring buffer failed: %s", strerror(-n));
			return n;
		}
		now = clock_mono_ns();
		health_loop_ran(&a->health, now);
		if (now >= next_tick) {
			http1_assembler_tick(&a->assembler, now);
			http2_assembler_tick(&a->h2_assembler, now);
			pipeline_tick(&a->pipeline, now);
			probe_loader_tick(&a->probes, now);
			STAT_SET(&a->stats, conns_followed, a->conns.count);
			STAT_SET(&a->stats, h2_streams_open, a->h2_assembler.streams.count);
			STAT_SET(&a->stats, processes_known, a->procs.by_pid.count);
			next_tick = now + TICK_NS;
		}
		if (now >= next_counters) {
			probe_loader_read_counters(&a->probes, &a->stats);
			check_exporters(a, now);
			insertion_claim_serve(&a->insertion_claim);
			next_counters = now + COUNTERS_NS;
		}
		if (now >= next_calibrate) {
			mono_to_unix_calibrate(&a->clock);
			next_calibrate = now + CLOCK_CALIBRATE_NS;
		}
		if (now >= next_drops) {
			report_drops(a);
			next_drops = now + DROP_REPORT_NS;
		}
	}
	return 0;
}

/* Detach first so nothing new arrives, handle what is already in the ring,
 * finish what can be finished, then give the exporters a bounded time. */
static void agent_stop(struct agent *a, bool print_counters)
{
	/* The exporters' budget counts from the signal, not from after the detach. */
	uint64_t flush_deadline = clock_mono_ns() + SHUTDOWN_FLUSH_NS;

	health_set_phase(&a->health, AGENT_PHASE_STOPPING);
	probe_loader_detach(&a->probes);
	go_tls_attacher_free(&a->go_tls);
	nginx_attacher_free(&a->nginx);
	health_set_probes_attached(&a->health, false);
	event_reader_drain(&a->reader);
	probe_loader_read_counters(&a->probes, &a->stats);
	http1_assembler_finish_all(&a->assembler);
	http2_assembler_finish_all(&a->h2_assembler);
	pipeline_shutdown(&a->pipeline, flush_deadline);
	metrics_server_stop(&a->metrics);
	span_metrics_free(&a->span_metrics);
	metric_store_free(&a->metric_store);
	health_free(&a->health);
	event_reader_close(&a->reader);
	event_recorder_close(&a->recorder);
	probe_loader_destroy(&a->probes);
	http1_assembler_free(&a->assembler);
	http2_assembler_free(&a->h2_assembler);
	process_table_free(&a->procs);
	insertion_claim_release(&a->insertion_claim);
	if (STAT_GET(&a->stats, http_unfinished_at_exit))
		log_info("%llu requests were still waiting for a response and were not exported",
			 (unsigned long long)STAT_GET(&a->stats, http_unfinished_at_exit));
	if (print_counters)
		agent_stats_print_line(&a->stats, stderr, "kspan: counters");
}

int main(int argc, char **argv)
{
	struct agent *a = calloc(1, sizeof(*a));
	int err;

	if (!a)
		return 1;
	err = options_parse(&a->opts, argc, argv);
	if (err) {
		free(a);
		return err > 0 ? 0 : 2;
	}
	log_set_verbose(a->opts.verbose);
	log_info("kspan %s starting", KSPAN_VERSION);
	err = install_signal_handlers();
	if (!err)
		err = agent_start(a);
	if (!err)
		err = agent_run(a);
	agent_stop(a, err == 0);
	free(a);
	return err ? 1 : 0;
}
