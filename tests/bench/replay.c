// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * replay.c - the agent's userspace pipeline alone, on one core (issue 13,
 * target 2: >= 1M events/s): ring-buffer records recorded once by
 * `kspan --record-events FILE` are fed, in their order, through the same
 * objects the agent links (the event reader's checks, the router, the HTTP/1
 * and HTTP/2 assemblers, the process table, the pipeline with its span
 * metrics, on as in the agent by default, and the sampler), and every
 * exported span is written as OTLP/HTTP protobuf by the agent's span writer
 * (otlp_span_writer_add when it is exported, a request sealed every 512
 * spans, as otlp_exporter does) and thrown away: no BPF, no network, no
 * thread.
 *
 *   replay [--rounds N] [--proc DIR] [--out DIR] FILE
 *
 * Each round builds the pipeline afresh (untimed), replays every record, then
 * finishes what is still open and encodes the last batch (timed), and tears
 * down (untimed). Assemblers and the exporter tick every 100 ms of recorded
 * time, with the recorded clock. The process table reads DIR for what the
 * kernel's PROC_INFO records do not say (default: a directory that does not
 * exist, so that a replay does not depend on which processes run now; --proc
 * /proc does what the agent does). Options are the agent's defaults and the
 * OTEL_* sampler variables. Prints one line of key=value; the counters of
 * the last round go to stderr.
 *
 * --out DIR keeps what the last round produced, to compare two builds: every
 * OTLP request (otlp.bin: each a 4-byte little-endian length, then its
 * bytes) and the span metrics (metrics.prom, Prometheus text). Unix times
 * are then the recorded monotonic ones (clock offset 0), so that the bytes
 * do not depend on when the replay ran.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assembly/event_router.h"
#include "assembly/http1_assembler.h"
#include "assembly/http2_assembler.h"
#include "config/options.h"
#include "export/otlp/otlp_span_writer.h"
#include "ingest/event_reader.h"
#include "ingest/event_recording.h"
#include "ingest/process_table.h"
#include "lib/clock.h"
#include "metrics/metric_store.h"
#include "metrics/prometheus_text.h"
#include "metrics/span_metrics.h"
#include "model/agent_stats.h"
#include "model/exporter.h"
#include "pipeline/pipeline.h"

#define BATCH		512
#define TICK_NS		(100ull * 1000000)
#define NO_PROC_DEFAULT "/nonexistent/kspan-replay-proc"

/* The exporter of the replay: the agent's OTLP protobuf writer, batches discarded. */
struct encode_exporter {
	struct exporter e;
	struct otlp_span_writer writer;
	size_t n;
	uint64_t spans, bytes, failures;
	FILE *out; /* --out: the requests, else NULL */
};

static void encode_batch(struct encode_exporter *x)
{
	uint8_t *buf;
	size_t len;

	if (!x->n)
		return;
	if (otlp_span_writer_seal(&x->writer, &buf, &len) == 0) {
		x->bytes += len;
		if (x->out) {
			uint8_t prefix[4] = {len, len >> 8, len >> 16, len >> 24};
			fwrite(prefix, sizeof(prefix), 1, x->out);
			fwrite(buf, len, 1, x->out);
		}
		free(buf);
	} else {
		x->failures += x->n;
	}
	x->spans += x->n;
	x->n = 0;
}

static int encode_export(struct exporter *e, struct span *s)
{
	struct encode_exporter *x = e->state;

	if (otlp_span_writer_add(&x->writer, s)) {
		x->failures++;
		return -ENOMEM;
	}
	if (++x->n == BATCH)
		encode_batch(x);
	return 0;
}

static void encode_tick(struct exporter *e, uint64_t now)
{
	(void)e;
	(void)now; /* batches go out full, as under load; the rest at shutdown */
}

static void encode_shutdown(struct exporter *e, uint64_t deadline)
{
	(void)deadline;
	encode_batch(e->state);
}

static void encode_destroy(struct exporter *e)
{
	(void)e; /* owned by main: its totals are read after the pipeline is gone */
}

struct replay_round {
	struct agent_options opts;
	struct agent_stats stats;
	struct mono_to_unix clock;
	struct process_table procs;
	struct conn_budget conns;
	struct pipeline pipeline;
	struct http1_assembler h1;
	struct http2_assembler h2;
	struct event_router router;
	struct event_reader reader;
	struct metric_store metric_store;
	struct span_metrics span_metrics;
	struct encode_exporter exporter;
};

static int round_init(struct replay_round *r, const char *proc_root)
{
	struct http1_assembler_config h1cfg;
	struct http2_assembler_config h2cfg;
	struct event_handlers handlers;
	int err;

	options_defaults(&r->opts);
	mono_to_unix_calibrate(&r->clock);
	pipeline_init(&r->pipeline, &r->stats);
	r->pipeline.clock = &r->clock; /* recorded times, on the spans' scale */
	err = metric_store_init(&r->metric_store, r->opts.metrics_cardinality_limit,
				mono_to_unix_ns(&r->clock, clock_mono_ns()), &r->stats);
	if (!err)
		err = span_metrics_init(&r->span_metrics, &r->metric_store, &r->stats);
	if (err)
		return err;
	r->pipeline.metrics = &r->span_metrics; /* options_defaults: span_metrics on */
	otlp_span_writer_init(&r->exporter.writer, 0);
	sampler_from_env(&r->opts.sampler); /* span assembly samples (config/sampler.h) */
	r->exporter.e = (struct exporter){.name = "replay-encode",
					  .export_span = encode_export,
					  .tick = encode_tick,
					  .shutdown = encode_shutdown,
					  .destroy = encode_destroy,
					  .state = &r->exporter};
	err = pipeline_add_exporter(&r->pipeline, &r->exporter.e);
	if (!err)
		err = process_table_init(&r->procs, proc_root);
	if (err)
		return err;
	r->procs.stats = &r->stats;
	conn_budget_init(&r->conns, r->opts.max_connections,
			 (uint64_t)r->opts.conn_forget_ms * 1000000, &r->stats);
	h1cfg = (struct http1_assembler_config){
	    .capture_query = r->opts.capture_query,
	    .idle_timeout_ns = (uint64_t)r->opts.idle_timeout_ms * 1000000,
	    .conns = &r->conns,
	    .sampler = &r->opts.sampler,
	};
	h2cfg = (struct http2_assembler_config){
	    .capture_query = r->opts.capture_query,
	    .propagation = r->opts.propagation,
	    .conns = &r->conns,
	    .max_streams = r->opts.max_h2_streams,
	    .sampler = &r->opts.sampler,
	};
	err = http1_assembler_init(&r->h1, &h1cfg, &r->procs, &r->pipeline.sink, &r->stats,
				   &r->clock);
	if (!err)
		err = http2_assembler_init(&r->h2, &h2cfg, &r->procs, &r->pipeline.sink, &r->stats,
					   &r->clock);
	if (err)
		return err;
	r->router = (struct event_router){.http1 = &r->h1, .http2 = &r->h2, .procs = &r->procs};
	handlers = event_router_handlers(&r->router);
	/* The reader's record path without a ring: event_reader_handle() only. */
	r->reader = (struct event_reader){.handlers = handlers, .stats = &r->stats};
	return 0;
}

static void round_replay(struct replay_round *r, const uint8_t *buf, size_t len)
{
	struct event_recording rec;
	const void *data;
	size_t size;
	uint64_t next_tick = 0;

	event_recording_open(&rec, buf, len); /* checked by main */
	while (event_recording_next(&rec, &data, &size) == 1) {
		const struct kspan_event_header *hdr = data;

		event_reader_handle(&r->reader, data, size);
		if (size < sizeof(*hdr))
			continue;
		if (!next_tick)
			next_tick = hdr->ts_ns + TICK_NS;
		if (hdr->ts_ns >= next_tick) {
			http1_assembler_tick(&r->h1, hdr->ts_ns);
			http2_assembler_tick(&r->h2, hdr->ts_ns);
			pipeline_tick(&r->pipeline, hdr->ts_ns);
			next_tick = hdr->ts_ns + TICK_NS;
		}
	}
	http1_assembler_finish_all(&r->h1);
	http2_assembler_finish_all(&r->h2);
	pipeline_shutdown(&r->pipeline, 0);
}

static void round_free(struct replay_round *r)
{
	http1_assembler_free(&r->h1);
	http2_assembler_free(&r->h2);
	process_table_free(&r->procs);
	otlp_span_writer_free(&r->exporter.writer);
	span_metrics_free(&r->span_metrics);
	metric_store_free(&r->metric_store);
}

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--rounds N] [--proc DIR] [--out DIR] FILE\n", argv0);
	return 2;
}

static FILE *open_out(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f)
		fprintf(stderr, "replay: cannot write %s: %s\n", path, strerror(errno));
	return f;
}

/* --out: the metrics of the round, as Prometheus text. */
static int write_metrics(struct replay_round *r, const char *dir)
{
	struct metric_snapshot snap;
	FILE *f = open_out(dir, "metrics.prom");

	if (!f)
		return -1;
	if (metric_store_collect(&r->metric_store, false, 0, &snap) == 0) {
		prometheus_write_metrics(&snap, f, false);
		metric_snapshot_free(&snap);
	}
	return fclose(f);
}

int main(int argc, char **argv)
{
	const char *proc_root = NO_PROC_DEFAULT, *path = NULL, *out_dir = NULL;
	unsigned long rounds = 1;
	struct event_recording rec;
	struct replay_round *r;
	uint64_t records = 0, spans = 0, bytes = 0, failures = 0;
	double cpu = 0, wall = 0;
	const void *data;
	size_t size, len;
	uint8_t *buf;
	cpu_set_t one;
	int err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--proc") && i + 1 < argc)
			proc_root = argv[++i];
		else if (!strcmp(argv[i], "--out") && i + 1 < argc)
			out_dir = argv[++i];
		else if (argv[i][0] != '-' && !path)
			path = argv[i];
		else
			return usage(argv[0]);
	}
	if (!path || !rounds)
		return usage(argv[0]);
	err = event_recording_load(path, &buf, &len);
	if (err) {
		fprintf(stderr, "replay: cannot read %s: %s\n", path, strerror(-err));
		return 1;
	}
	err = event_recording_open(&rec, buf, len);
	if (err) {
		fprintf(stderr, "replay: %s: %s\n", path,
			err == -EPROTO ? "recorded by a kspan build with another ABI "
					 "(include/kspan_abi.h): record it again with this build"
				       : "not a kspan recording (--record-events)");
		free(buf);
		return 1;
	}
	while (event_recording_next(&rec, &data, &size) == 1)
		records++;

	/* One core: this thread only, on the CPU it started on. */
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	sched_setaffinity(0, sizeof(one), &one);

	r = calloc(1, sizeof(*r));
	if (!r)
		return 1;
	for (unsigned long i = 0; i < rounds; i++) {
		double c0, w0;

		memset(r, 0, sizeof(*r));
		if (round_init(r, proc_root)) {
			fprintf(stderr, "replay: setting up the pipeline failed\n");
			return 1;
		}
		if (out_dir && i + 1 == rounds) {
			r->clock.offset_ns = 0;
			if (!(r->exporter.out = open_out(out_dir, "otlp.bin")))
				return 1;
		}
		c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
		w0 = clock_s(CLOCK_MONOTONIC);
		round_replay(r, buf, len);
		cpu += clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
		wall += clock_s(CLOCK_MONOTONIC) - w0;
		spans += r->exporter.spans;
		bytes += r->exporter.bytes;
		failures += r->exporter.failures;
		if (i + 1 == rounds) {
			agent_stats_print_line(&r->stats, stderr,
					       "replay: counters of the last round");
			if (out_dir && (fclose(r->exporter.out) || write_metrics(r, out_dir)))
				return 1;
		}
		round_free(r);
	}
	printf("replay: records=%llu rounds=%lu spans=%llu encode_failures=%llu cpu_seconds=%.3f "
	       "seconds=%.3f events_per_s=%.0f spans_per_s=%.0f ns_per_event=%.0f "
	       "us_per_span=%.3f bytes_per_span=%.1f\n",
	       (unsigned long long)records, rounds, (unsigned long long)spans,
	       (unsigned long long)failures, cpu, wall, cpu > 0 ? records * rounds / cpu : 0,
	       cpu > 0 ? spans / cpu : 0, records ? cpu * 1e9 / (records * rounds) : 0,
	       spans ? cpu * 1e6 / spans : 0, spans ? (double)bytes / spans : 0);
	free(r);
	free(buf);
	return failures ? 1 : 0;
}
