// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * span_path_bench.c - agent CPU per span from ring-buffer record to OTLP
 * request on the wire: records built the way the kernel lays them out go
 * through the event reader, the HTTP/1 assembler, the pipeline (sampler
 * parentbased_always_on) and the OTLP exporter (its sender thread posting to
 * ENDPOINT), all in one process pinned to one CPU.
 *
 * Usage: span_path_bench ENDPOINT none|gzip N
 * The traffic is wrk against nginx, keep-alive, 16 connections: a 110 B
 * request with a kernel-decided trace context, a 160 B response head plus a
 * 2 B body in one write. The process is its own traced server, so its
 * resource comes from the real /proc/self. Prints one line of key=value;
 * run it under `valgrind --tool=callgrind` for instructions per span.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_cpu.h"
#include "assembly/event_router.h"
#include "assembly/http1_assembler.h"
#include "export/otlp/otlp_config.h"
#include "export/otlp/otlp_exporter.h"
#include "ingest/event_reader.h"
#include "ingest/process_table.h"
#include "lib/clock.h"
#include "model/agent_stats.h"
#include "config/sampler.h"
#include "pipeline/pipeline.h"

#define CONNS 16

static const char request[] = "GET /api/v1/users/12345/orders HTTP/1.1\r\n"
			      "Host: orders.internal:8080\r\n"
			      "User-Agent: wrk/4.2.0\r\n"
			      "Accept: */*\r\n"
			      "\r\n";
static const char response[] = "HTTP/1.1 200 OK\r\n"
			       "Server: nginx/1.22.1\r\n"
			       "Date: Sun, 06 Dec 2026 15:00:00 GMT\r\n"
			       "Content-Type: text/plain\r\n"
			       "Content-Length: 2\r\n"
			       "Connection: keep-alive\r\n"
			       "\r\n"
			       "ok";

struct bench_conn {
	uint64_t id;
	uint16_t seq[2];
	bool seen;
	struct kspan_conn_tuple tuple;
};

static uint8_t record[sizeof(struct kspan_data_event) + 512];

static size_t data_record(struct bench_conn *c, uint32_t pid, uint8_t dir, uint64_t ts,
			  const char *text, size_t len, const struct kspan_trace_ctx *ctx)
{
	struct kspan_data_event *ev = (struct kspan_data_event *)record;
	memset(ev, 0, sizeof(*ev));
	ev->hdr.type = KSPAN_EVENT_DATA;
	ev->hdr.tgid = pid;
	ev->hdr.tid = pid;
	ev->hdr.ts_ns = ts;
	ev->conn_id = c->id;
	ev->ts_enter_ns = ts - 40;
	ev->tuple = c->tuple;
	ev->bytes_total = (uint32_t)len;
	ev->captured_len = (uint32_t)len;
	ev->flags = dir == KSPAN_DIR_INGRESS ? KSPAN_DATA_F_MSG_START_REQUEST
					     : KSPAN_DATA_F_MSG_START_RESPONSE;
	if (!c->seen)
		ev->flags |= KSPAN_DATA_F_NEW_CONN;
	ev->direction = dir;
	ev->role = KSPAN_ROLE_SERVER;
	ev->protocol = KSPAN_PROTO_HTTP1;
	ev->syscall = dir == KSPAN_DIR_INGRESS ? KSPAN_SYS_READ : KSPAN_SYS_WRITE;
	ev->seq = c->seq[dir == KSPAN_DIR_EGRESS]++;
	if (ctx)
		ev->ctx = *ctx;
	memcpy(ev + 1, text, len);
	c->seen = true;
	return sizeof(*ev) + len;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s ENDPOINT none|gzip N\n", argv[0]);
		return 2;
	}
	unsigned n = (unsigned)strtoul(argv[3], NULL, 10);
	bench_pin_to_this_cpu(); /* threads created later inherit it */

	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", 1);
	setenv("OTEL_EXPORTER_OTLP_COMPRESSION", argv[2], 1);
	setenv("OTEL_BSP_SCHEDULE_DELAY", "3600000", 1);
	setenv("OTEL_BSP_MAX_QUEUE_SIZE", "10000000", 1);
	setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "512", 1);
	setenv("KSPAN_OTLP_QUEUE_MAX_BYTES", "2000000000", 1);
	struct otlp_config cfg;
	if (otlp_config_from_env(&cfg, argv[1]))
		return 1;

	static struct agent_stats stats;
	struct mono_to_unix clock;
	mono_to_unix_calibrate(&clock);
	struct process_table procs;
	struct pipeline pipeline;
	struct http1_assembler assembler;
	if (process_table_init(&procs, "/proc"))
		return 1;
	pipeline_init(&pipeline, &stats);
	struct exporter *e = otlp_exporter_new(&cfg, &stats);
	if (pipeline_add_exporter(&pipeline, e))
		return 1;
	/* The sampler runs in span assembly (config/sampler.h). */
	static struct sampler sampler = {
	    .root = SAMPLER_ALWAYS_ON, .parent_based = true, .ratio = 1.0};
	struct http1_assembler_config acfg = {.idle_timeout_ns = 2000000000ull,
					      .sampler = &sampler};
	if (http1_assembler_init(&assembler, &acfg, &procs, &pipeline.sink, &stats, &clock))
		return 1;
	struct event_router router = {.http1 = &assembler, .procs = &procs};
	struct event_reader reader = {.handlers = event_router_handlers(&router), .stats = &stats};

	uint32_t pid = (uint32_t)getpid();
	struct bench_conn conns[CONNS] = {0};
	for (unsigned i = 0; i < CONNS; i++) {
		struct kspan_conn_tuple *t = &conns[i].tuple;
		conns[i].id = 1000 + i;
		inet_pton(AF_INET, "10.1.0.7", t->local_addr);
		inet_pton(AF_INET, "10.1.2.3", t->remote_addr);
		t->local_port = 8080;
		t->remote_port = (uint16_t)(40000 + i);
		t->family = AF_INET;
		t->netns_ino = 4026531840u;
	}
	struct kspan_trace_ctx ctx = {.trace_flags = 1, .flags = KSPAN_CTX_F_VALID};

	double cpu0 = bench_cpu_seconds();
	uint64_t t0 = clock_mono_ns(), ts = t0;
	for (unsigned i = 0; i < n; i++) {
		struct bench_conn *c = &conns[i % CONNS];
		for (int k = 0; k < 16; k++)
			ctx.trace_id[k] = (uint8_t)(i * 31 + k + 1);
		for (int k = 0; k < 8; k++)
			ctx.span_id[k] = (uint8_t)(i * 7 + k + 1);
		size_t len = data_record(c, pid, KSPAN_DIR_INGRESS, ts += 1000, request,
					 sizeof(request) - 1, &ctx);
		event_reader_handle(&reader, record, len);
		len = data_record(c, pid, KSPAN_DIR_EGRESS, ts += 20000, response,
				  sizeof(response) - 1, NULL);
		event_reader_handle(&reader, record, len);
	}
	pipeline_shutdown(&pipeline, clock_mono_ns() + 600ull * 1000000000ull);
	uint64_t t1 = clock_mono_ns();
	double cpu = bench_cpu_seconds() - cpu0;
	unsigned long long exported = STAT_GET(&stats, spans_exported);
	printf("compression=%s spans=%u exported=%llu seconds=%.3f cpu_seconds=%.3f "
	       "cpu_us_per_span=%.3f cpu_s_per_100k_spans=%.3f\n",
	       argv[2], n, exported, (t1 - t0) / 1e9, cpu, cpu * 1e6 / n, cpu * 1e5 / n);
	http1_assembler_free(&assembler);
	process_table_free(&procs);
	otlp_config_free(&cfg);
	return exported == n ? 0 : 1;
}
