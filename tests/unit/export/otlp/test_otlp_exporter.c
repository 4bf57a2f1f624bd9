// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_otlp_exporter.c - the OTLP/HTTP exporter against a one-thread HTTP
 * server on 127.0.0.1 (support/otlp_test_server.h): batching, gzip, retries,
 * partial success, the bounded queue and its spool, shutdown deadlines.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "model/agent_stats.h"
#include "lib/clock.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "export/otlp/otlp_encoder.h"
#include "export/otlp/otlp_exporter.h"
#include "export/otlp/otlp_json.h"
#include "model/span.h"

#include "support/otlp_test_data.h"
#include "support/otlp_test_server.h"

/* Config for a server on this port; no export happens by timer during a test. */
static void exporter_config(struct otlp_config *cfg, uint16_t port)
{
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/traces", port);
	assert_int_equal(otlp_config_from_env(cfg, url), 0);
	cfg->schedule_delay_ms = 3600 * 1000;
}

static struct span *numbered_span(struct resource *r, unsigned i)
{
	char name[32];
	snprintf(name, sizeof(name), "span-%u", i);
	return make_span(r, name, SPAN_KIND_SERVER, (uint8_t)i);
}

/* Queue spans i in [first, first+n) into e; e keeps its own references. */
static void export_spans(struct exporter *e, struct resource *r, unsigned first, unsigned n)
{
	for (unsigned i = first; i < first + n; i++) {
		struct span *s = numbered_span(r, i);
		assert_int_equal(e->export_span(e, s), 0);
		span_unref(s);
	}
}

static uint64_t far_deadline(void)
{
	return clock_mono_ns() + 60ull * 1000 * 1000 * 1000;
}

/*
 * One exporter against one test server. A test opens the run, tunes the
 * server (x.srv) and the configuration (x.cfg), starts it, exports, stops it
 * (shutdown flushes, the server thread ends), checks, and closes it.
 */
struct export_run {
	struct test_server srv;
	struct otlp_config cfg;
	struct agent_stats stats;
	struct exporter *e;
	struct resource *r;
};

static void run_open(struct export_run *x, int status, size_t expect_requests)
{
	memset(x, 0, sizeof(*x));
	server_start(&x->srv, status, expect_requests);
	exporter_config(&x->cfg, x->srv.port);
}

static void run_start(struct export_run *x)
{
	server_run(&x->srv);
	x->e = otlp_exporter_new(&x->cfg, &x->stats);
	otlp_config_free(&x->cfg);
	assert_non_null(x->e);
	x->r = make_resource(42, "svc");
}

static void run_stop(struct export_run *x)
{
	x->e->shutdown(x->e, far_deadline());
	server_stop(&x->srv);
}

static void run_close(struct export_run *x)
{
	x->e->destroy(x->e);
	resource_unref(x->r);
	server_free(&x->srv);
}

static uint8_t *gunzip(const uint8_t *in, size_t in_len, size_t *out_len)
{
	z_stream zs = {0};
	assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
	size_t cap = 4 * in_len + 64;
	uint8_t *out = malloc(cap);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)in_len;
	int rc;
	do {
		if (zs.total_out == cap)
			out = realloc(out, cap *= 2);
		zs.next_out = out + zs.total_out;
		zs.avail_out = (uInt)(cap - zs.total_out);
		rc = inflate(&zs, Z_NO_FLUSH);
	} while (rc == Z_OK);
	assert_int_equal(rc, Z_STREAM_END);
	*out_len = zs.total_out;
	inflateEnd(&zs);
	return out;
}

static void assert_has_header(const char *head, const char *line)
{
	if (!strcasestr(head, line))
		fail_msg("header \"%s\" missing in:\n%s", line, head);
}

static void test_exporter_gzip_post_on_shutdown(void **state)
{
	(void)state;
	struct export_run x;
	/* Before run_open: the configuration is read from the environment. */
	setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s3cr%65t", 1);
	setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", 1);
	run_open(&x, 200, 1);
	run_start(&x);
	export_spans(x.e, x.r, 1, 3);
	x.e->tick(x.e, clock_mono_ns());
	/* The schedule delay is an hour: only shutdown's flush sends these. */
	run_stop(&x);

	assert_int_equal(x.srv.n_requests, 1);
	const char *head = x.srv.requests[0].head;
	assert_true(strncmp(head, "POST /v1/traces HTTP/1.1\r\n", 26) == 0);
	assert_has_header(head, "\r\nContent-Type: application/x-protobuf\r\n");
	assert_has_header(head, "\r\nContent-Encoding: gzip\r\n");
	assert_has_header(head, "\r\nUser-Agent: kspan/" KSPAN_VERSION "\r\n");
	assert_has_header(head, "\r\nx-api-key: s3cret\r\n");

	size_t len;
	uint8_t *raw = gunzip(x.srv.requests[0].body, x.srv.requests[0].body_len, &len);
	ExportRequest *req = unpack_request(raw, len);
	assert_int_equal(req->n_resource_spans, 1);
	assert_str_value(req->resource_spans[0]->resource->attributes,
			 req->resource_spans[0]->resource->n_attributes, "service.name", "svc");
	assert_int_equal(req->resource_spans[0]->scope_spans[0]->n_spans, 3);
	for (unsigned i = 0; i < 3; i++) {
		char want[32];
		snprintf(want, sizeof(want), "span-%u", i + 1);
		assert_string_equal(req->resource_spans[0]->scope_spans[0]->spans[i]->name, want);
	}
	free_request(req);
	free(raw);

	assert_int_equal(STAT_GET(&x.stats, spans_exported), 3);
	assert_int_equal(STAT_GET(&x.stats, spans_export_failed), 0);
	assert_int_equal(STAT_GET(&x.stats, export_requests_failed), 0);
	assert_int_equal(STAT_GET(&x.stats, spans_export_dropped_queue), 0);
	run_close(&x);
}

static void test_exporter_http_500_is_not_retried(void **state)
{
	(void)state;
	struct export_run x;
	run_open(&x, 500, 1);
	run_start(&x);
	export_spans(x.e, x.r, 1, 2);
	run_stop(&x);

	assert_int_equal(x.srv.n_requests, 1);
	/* No compression configured: the body is the protobuf itself. */
	assert_null(strcasestr(x.srv.requests[0].head, "Content-Encoding"));
	ExportRequest *req = unpack_request(x.srv.requests[0].body, x.srv.requests[0].body_len);
	assert_int_equal(req->resource_spans[0]->scope_spans[0]->n_spans, 2);
	free_request(req);
	/* 500 is not one of the retryable codes: one request, then dropped. */
	assert_int_equal(STAT_GET(&x.stats, spans_exported), 0);
	assert_int_equal(STAT_GET(&x.stats, spans_export_dropped_rejected), 2);
	assert_int_equal(STAT_GET(&x.stats, export_requests), 1);
	assert_int_equal(STAT_GET(&x.stats, export_requests_failed), 1);
	run_close(&x);
}

static void test_exporter_partial_success(void **state)
{
	(void)state;
	struct export_run x;
	run_open(&x, 200, 1);
	size_t len;
	uint8_t *body = pack_response(1, "span-2 is invalid", &len);
	x.srv.response_body = body;
	x.srv.response_len = len;
	run_start(&x);
	export_spans(x.e, x.r, 1, 3);
	run_stop(&x);
	free(body);

	assert_int_equal(STAT_GET(&x.stats, spans_exported), 2);
	assert_int_equal(STAT_GET(&x.stats, spans_export_dropped_partial), 1);
	assert_int_equal(STAT_GET(&x.stats, export_requests), 1);
	assert_int_equal(STAT_GET(&x.stats, export_requests_failed), 0);
	run_close(&x);
}

/* Request i carried exactly two spans, span-<first[i]> and span-<first[i]+1>. */
static void assert_requests_carry(const struct test_server *srv, const unsigned *first, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ExportRequest *req =
		    unpack_request(srv->requests[i].body, srv->requests[i].body_len);
		ScopeSpans *ss = req->resource_spans[0]->scope_spans[0];
		assert_int_equal(ss->n_spans, 2);
		for (unsigned j = 0; j < 2; j++) {
			char want[32];
			snprintf(want, sizeof(want), "span-%u", first[i] + j);
			assert_string_equal(ss->spans[j]->name, want);
		}
		free_request(req);
	}
}

/*
 * A full batch is sent without waiting for the schedule. While that request
 * is in flight the queue fills; the next batch pushes the OLDEST queued batch
 * out (counted), never blocks the caller, and is sent next.
 */
static void test_exporter_full_queue_drops_oldest(void **state)
{
	(void)state;
	struct export_run x;
	run_open(&x, 200, 2);
	x.srv.hold_first_response = true;
	x.cfg.max_queue_size = 2;
	x.cfg.max_export_batch_size = 2;
	run_start(&x);
	export_spans(x.e, x.r, 1, 2);
	/* The sender took the batch and waits for the held response. */
	server_wait_requests(&x.srv, 1);
	export_spans(x.e, x.r, 3, 2); /* queued: the queue is full */
	assert_int_equal(STAT_GET(&x.stats, export_queue_spans), 2);
	export_spans(x.e, x.r, 5, 2); /* pushes spans 3 and 4 out */
	assert_int_equal(STAT_GET(&x.stats, spans_export_dropped_queue), 2);
	assert_int_equal(STAT_GET(&x.stats, export_queue_spans), 2);
	assert_int_equal(STAT_GET(&x.stats, export_queue_batches), 1);

	server_release_first(&x.srv);
	server_wait_requests(&x.srv, 2);
	run_stop(&x);

	static const unsigned first[] = {1, 5};
	assert_requests_carry(&x.srv, first, 2);
	assert_int_equal(STAT_GET(&x.stats, spans_export_queued), 6);
	assert_int_equal(STAT_GET(&x.stats, spans_exported), 4);
	assert_int_equal(STAT_GET(&x.stats, export_queue_spans), 0);
	run_close(&x);
}

static size_t spool_files(const char *dir)
{
	size_t n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/*
 * With a spool directory, batches a full queue pushes out go to disk instead
 * of being dropped, and come back (oldest first) once the queue has drained:
 * every span is delivered exactly once, and the directory is empty after.
 */
static void test_exporter_full_queue_spills_to_spool(void **state)
{
	(void)state;
	char dir[] = "/tmp/kspan-spill-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct export_run x;
	run_open(&x, 200, 4);
	x.srv.hold_first_response = true;
	x.cfg.max_queue_size = 2;
	x.cfg.max_export_batch_size = 2;
	x.cfg.spool_dir = dir;
	x.cfg.spool_max_bytes = 1 << 20;
	run_start(&x);
	export_spans(x.e, x.r, 1, 2);
	server_wait_requests(&x.srv, 1); /* 1-2 in flight, held */
	export_spans(x.e, x.r, 3, 2);	 /* queued */
	export_spans(x.e, x.r, 5, 2);	 /* 3-4 to the spool */
	export_spans(x.e, x.r, 7, 2);	 /* 5-6 to the spool */
	assert_int_equal(STAT_GET(&x.stats, spans_spooled), 4);
	assert_int_equal(STAT_GET(&x.stats, export_spool_spans), 4);
	assert_int_equal(STAT_GET(&x.stats, spans_export_dropped_queue), 0);
	assert_int_equal(spool_files(dir), 2);

	server_release_first(&x.srv);
	server_wait_requests(&x.srv, 4);
	run_stop(&x);

	static const unsigned first[] = {1, 7, 3, 5};
	assert_requests_carry(&x.srv, first, 4);
	assert_int_equal(STAT_GET(&x.stats, spans_export_queued), 8);
	assert_int_equal(STAT_GET(&x.stats, spans_exported), 8);
	assert_int_equal(STAT_GET(&x.stats, spans_spooled), 4);
	assert_int_equal(STAT_GET(&x.stats, export_spool_spans), 0);
	assert_int_equal(STAT_GET(&x.stats, spans_spool_dropped), 0);
	assert_int_equal(spool_files(dir), 0);
	run_close(&x);
	assert_int_equal(rmdir(dir), 0);
}

/* HTTP 429 with Retry-After: 1: the second attempt comes at least 1 s later. */
static void test_exporter_429_retry_after_then_ok(void **state)
{
	(void)state;
	struct export_run x;
	run_open(&x, 200, 2);
	x.srv.statuses[0] = 429;
	x.srv.extra_header = "Retry-After: 1\r\n";
	/* The backoff alone would retry sooner: only Retry-After explains >= 1 s. */
	x.cfg.retry_initial_ms = 10;
	x.cfg.retry_max_ms = 10;
	run_start(&x);
	export_spans(x.e, x.r, 1, 3);
	run_stop(&x);

	assert_int_equal(x.srv.n_requests, 2);
	assert_true(x.srv.requests[1].received_ns - x.srv.requests[0].received_ns >=
		    1000ull * 1000 * 1000);
	/* The same bytes are sent again. */
	assert_int_equal(x.srv.requests[0].body_len, x.srv.requests[1].body_len);
	assert_memory_equal(x.srv.requests[0].body, x.srv.requests[1].body,
			    x.srv.requests[0].body_len);
	assert_int_equal(STAT_GET(&x.stats, spans_exported), 3);
	assert_int_equal(STAT_GET(&x.stats, export_requests), 2);
	assert_int_equal(STAT_GET(&x.stats, export_retries), 1);
	assert_int_equal(STAT_GET(&x.stats, export_requests_failed), 1);
	run_close(&x);
}

/* 503, 502, 504 are retried (backoff, no Retry-After), then 200. */
static void test_exporter_503_retried_with_backoff(void **state)
{
	(void)state;
	struct export_run x;
	run_open(&x, 200, 4);
	x.srv.statuses[0] = 503;
	x.srv.statuses[1] = 502;
	x.srv.statuses[2] = 504;
	x.cfg.retry_initial_ms = 20;
	x.cfg.retry_max_ms = 40;
	run_start(&x);
	export_spans(x.e, x.r, 1, 2);
	run_stop(&x);

	assert_int_equal(x.srv.n_requests, 4);
	/* Jitter is +-50%: at least half the initial interval between attempts. */
	for (unsigned i = 1; i < 4; i++)
		assert_true(x.srv.requests[i].received_ns - x.srv.requests[i - 1].received_ns >=
			    10ull * 1000 * 1000);
	assert_int_equal(STAT_GET(&x.stats, spans_exported), 2);
	assert_int_equal(STAT_GET(&x.stats, export_retries), 3);
	assert_int_equal(STAT_GET(&x.stats, spans_export_dropped_rejected), 0);
	run_close(&x);
}

/* With no schedule delay a span goes out as soon as the idle worker sees it. */
static void test_exporter_zero_delay_sends_without_shutdown(void **state)
{
	(void)state;
	struct export_run x;
	run_open(&x, 200, 2);
	x.cfg.schedule_delay_ms = 0;
	run_start(&x);
	export_spans(x.e, x.r, 1, 1);
	server_wait_requests(&x.srv, 1);
	/* The worker went idle again and wakes for the next one too. */
	export_spans(x.e, x.r, 2, 1);
	server_wait_requests(&x.srv, 2);
	run_stop(&x);

	assert_int_equal(STAT_GET(&x.stats, spans_exported), 2);
	assert_int_equal(STAT_GET(&x.stats, export_requests_failed), 0);
	run_close(&x);
}

/* A port that refuses connections: bound, then closed again. */
static uint16_t closed_port(void)
{
	uint16_t port;
	int fd = listen_loopback(&port);
	close(fd);
	return port;
}

static void test_exporter_connection_refused(void **state)
{
	(void)state;
	struct otlp_config cfg;
	exporter_config(&cfg, closed_port());
	/* Retried like any connection error, until the batch's time is up. */
	cfg.retry_initial_ms = 20;
	cfg.retry_max_ms = 50;
	cfg.retry_max_elapsed_ms = 300;
	struct agent_stats stats = {0};
	struct exporter *e = otlp_exporter_new(&cfg, &stats);
	otlp_config_free(&cfg);
	assert_non_null(e);

	struct resource *r = make_resource(42, "svc");
	export_spans(e, r, 1, 3);
	e->shutdown(e, far_deadline());
	assert_true(STAT_GET(&stats, export_requests) >= 2);
	assert_int_equal(STAT_GET(&stats, export_requests_failed),
			 STAT_GET(&stats, export_requests));
	assert_int_equal(STAT_GET(&stats, spans_export_dropped_expired), 3);
	assert_int_equal(STAT_GET(&stats, spans_exported), 0);
	e->destroy(e);
	resource_unref(r);
}

static void test_exporter_deadline_passed_and_destroy(void **state)
{
	(void)state;
	struct otlp_config cfg;
	exporter_config(&cfg, closed_port());
	struct agent_stats stats = {0};
	struct exporter *e = otlp_exporter_new(&cfg, &stats);
	assert_non_null(e);
	struct resource *r = make_resource(42, "svc");
	export_spans(e, r, 1, 4);
	/* A deadline already over: nothing is sent, everything counted. */
	e->shutdown(e, clock_mono_ns());
	assert_int_equal(STAT_GET(&stats, export_requests), 0);
	assert_int_equal(STAT_GET(&stats, spans_export_dropped_shutdown), 4);
	/* After shutdown the exporter takes nothing more. */
	struct span *late = numbered_span(r, 9);
	assert_int_equal(e->export_span(e, late), -ESHUTDOWN);
	assert_int_equal(STAT_GET(&stats, spans_export_dropped_shutdown), 5);
	span_unref(late);
	e->destroy(e);

	/* Destroy without shutdown also releases what is queued. */
	struct agent_stats stats2 = {0};
	e = otlp_exporter_new(&cfg, &stats2);
	otlp_config_free(&cfg);
	assert_non_null(e);
	export_spans(e, r, 1, 2);
	e->destroy(e);
	assert_int_equal(STAT_GET(&stats2, spans_export_dropped_shutdown), 2);
	assert_int_equal(r->refcount, 1);
	resource_unref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_exporter_gzip_post_on_shutdown, clear_otel_env),
	    cmocka_unit_test_setup(test_exporter_http_500_is_not_retried, clear_otel_env),
	    cmocka_unit_test_setup(test_exporter_429_retry_after_then_ok, clear_otel_env),
	    cmocka_unit_test_setup(test_exporter_503_retried_with_backoff, clear_otel_env),
	    cmocka_unit_test_setup(test_exporter_partial_success, clear_otel_env),
	    cmocka_unit_test_setup(test_exporter_full_queue_drops_oldest, clear_otel_env),
	    cmocka_unit_test_setup(test_exporter_full_queue_spills_to_spool, clear_otel_env),
	    cmocka_unit_test_setup(test_exporter_zero_delay_sends_without_shutdown, clear_otel_env),
	    cmocka_unit_test_setup(test_exporter_connection_refused, clear_otel_env),
	    cmocka_unit_test_setup(test_exporter_deadline_passed_and_destroy, clear_otel_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
