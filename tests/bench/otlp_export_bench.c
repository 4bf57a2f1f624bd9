// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * otlp_export_bench.c - how many spans per second the OTLP encoder and
 * exporter sustain on ONE core (the process, both its threads, pinned to one
 * CPU), against a local sink; and the bytes per span of each encoding with
 * and without gzip.
 *
 * Usage: otlp_export_bench PROTOCOL ENDPOINT COMPRESSION N
 *   PROTOCOL: http/protobuf, http/json or grpc; COMPRESSION: none or gzip.
 * The spans are made before the clock starts: they look like kspan's HTTP
 * SERVER spans (13 attributes). Prints one line of key=value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bench_cpu.h"
#include "model/agent_stats.h"
#include "lib/clock.h"
#include "export/otlp/otlp_config.h"
#include "export/otlp/otlp_encoder.h"
#include "export/otlp/otlp_exporter.h"
#include "model/span.h"

#define BATCH 512

static struct span *http_span(struct resource *r, unsigned i)
{
	struct span *s = span_new();
	char path[64];
	for (int k = 0; k < 16; k++)
		s->trace_id[k] = (uint8_t)(i * 31 + k + 1);
	for (int k = 0; k < 8; k++)
		s->span_id[k] = (uint8_t)(i * 7 + k + 1);
	s->trace_flags = 1;
	s->kind = SPAN_KIND_SERVER;
	s->start_unix_ns = 1700000000000000000ull + i * 1000000ull;
	s->end_unix_ns = s->start_unix_ns + 1234567;
	s->resource = resource_ref(r);
	snprintf(path, sizeof(path), "/api/v1/users/%u/orders", i);
	span_set_name(s, "GET /api/v1/users/{id}/orders");
	struct attribute_list *a = &s->attrs;
	attribute_list_add_str(a, "http.request.method", "GET");
	attribute_list_add_str(a, "url.scheme", "http");
	attribute_list_add_str(a, "url.path", path);
	attribute_list_add_str(a, "server.address", "orders.internal");
	attribute_list_add_int(a, "server.port", 8080);
	attribute_list_add_str(a, "client.address", "10.1.2.3");
	attribute_list_add_str(a, "network.peer.address", "10.1.2.3");
	attribute_list_add_int(a, "network.peer.port", 40000 + i % 20000);
	attribute_list_add_str(a, "network.protocol.version", "1.1");
	attribute_list_add_str(a, "network.transport", "tcp");
	attribute_list_add_str(a, "network.type", "ipv4");
	attribute_list_add_str(a, "user_agent.original",
			       "Mozilla/5.0 (X11; Linux x86_64) curl/7.88.1");
	attribute_list_add_int(a, "http.response.status_code", 200);
	return s;
}

static double encoded_bytes_per_span(struct span **spans, bool json, bool gzip)
{
	struct otlp_encode_options o = {.json = json};
	uint8_t *buf;
	size_t len;
	if (otlp_encode_request(spans, BATCH, &o, &buf, &len))
		return -1;
	size_t out = len;
	if (gzip) {
		uLongf bound = compressBound(len);
		uint8_t *z = malloc(bound);
		/* Same deflate level as the exporter; zlib framing differs by 12 bytes. */
		if (compress2(z, &bound, buf, len, Z_DEFAULT_COMPRESSION) == Z_OK)
			out = bound + 12;
		free(z);
	}
	otlp_encode_free(buf);
	return (double)out / BATCH;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s PROTOCOL ENDPOINT none|gzip N\n", argv[0]);
		return 2;
	}
	unsigned n = (unsigned)strtoul(argv[4], NULL, 10);
	bench_pin_to_this_cpu(); /* threads created later inherit it */

	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", argv[1], 1);
	setenv("OTEL_EXPORTER_OTLP_COMPRESSION", argv[3], 1);
	setenv("OTEL_BSP_SCHEDULE_DELAY", "3600000", 1);
	setenv("OTEL_BSP_MAX_QUEUE_SIZE", "10000000", 1);
	setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "512", 1);
	setenv("KSPAN_OTLP_QUEUE_MAX_BYTES", "2000000000", 1);
	struct otlp_config cfg;
	if (otlp_config_from_env(&cfg, argv[2]))
		return 1;
	struct resource *r = resource_new(4242);
	attribute_list_add_str(&r->attrs, "service.name", "orders");
	attribute_list_add_int(&r->attrs, "process.pid", 4242);
	struct span **spans = calloc(n, sizeof(*spans));
	for (unsigned i = 0; i < n; i++)
		spans[i] = http_span(r, i);

	struct agent_stats stats = {0};
	struct exporter *e = otlp_exporter_new(&cfg, &stats);
	if (!e)
		return 1;
	double cpu0 = bench_cpu_seconds();
	uint64_t t0 = clock_mono_ns();
	for (unsigned i = 0; i < n; i++)
		e->export_span(e, spans[i]);
	e->shutdown(e, clock_mono_ns() + 600ull * 1000000000ull);
	uint64_t t1 = clock_mono_ns();
	double cpu = bench_cpu_seconds() - cpu0;
	double secs = (t1 - t0) / 1e9;
	bool json = cfg.protocol == OTLP_PROTOCOL_HTTP_JSON;
	printf("protocol=%s compression=%s spans=%u exported=%llu failed=%llu seconds=%.3f "
	       "cpu_seconds=%.3f spans_per_s=%.0f spans_per_cpu_s=%.0f bytes_per_span=%.1f "
	       "gzip_bytes_per_span=%.1f\n",
	       argv[1], argv[3], n, (unsigned long long)STAT_GET(&stats, spans_exported),
	       (unsigned long long)(n - STAT_GET(&stats, spans_exported)), secs, cpu, n / secs,
	       n / cpu, encoded_bytes_per_span(spans, json, false),
	       encoded_bytes_per_span(spans, json, true));
	e->destroy(e);
	for (unsigned i = 0; i < n; i++)
		span_unref(spans[i]);
	free(spans);
	resource_unref(r);
	otlp_config_free(&cfg);
	return STAT_GET(&stats, spans_exported) == n ? 0 : 1;
}
