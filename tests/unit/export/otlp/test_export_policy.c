// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_export_policy.c - the export retry rules (protocol/otlp.md), the
 * backoff, Retry-After parsing, the bounded drop-oldest queue and the
 * Prometheus text of the counters.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "model/agent_stats.h"
#include "export/otlp/export_queue.h"
#include "export/otlp/export_retry.h"
#include "export/otlp/export_spool.h"

static struct export_result http(int status, int64_t retry_after_ms)
{
	return (struct export_result){
	    .kind = EXPORT_RESULT_HTTP, .status = status, .retry_after_ms = retry_after_ms};
}

static struct export_result grpc(int code, int64_t retry_after_ms)
{
	return (struct export_result){
	    .kind = EXPORT_RESULT_GRPC, .status = code, .retry_after_ms = retry_after_ms};
}

static void test_classify_http(void **state)
{
	(void)state;
	struct export_result r;
	for (int s = 200; s < 300; s++) {
		r = http(s, -1);
		assert_int_equal(export_retry_classify(&r), EXPORT_VERDICT_SUCCESS);
	}
	for (int s = 300; s < 600; s++) {
		r = http(s, -1);
		enum export_verdict want = s == 429 || s == 502 || s == 503 || s == 504
					       ? EXPORT_VERDICT_RETRY
					       : EXPORT_VERDICT_DROP;
		assert_int_equal(export_retry_classify(&r), want);
	}
	r = (struct export_result){.kind = EXPORT_RESULT_CONNECTION, .retry_after_ms = -1};
	assert_int_equal(export_retry_classify(&r), EXPORT_VERDICT_RETRY);
}

static void test_classify_grpc(void **state)
{
	(void)state;
	static const enum export_verdict want[17] = {
	    [0] = EXPORT_VERDICT_SUCCESS, [1] = EXPORT_VERDICT_RETRY,  [2] = EXPORT_VERDICT_DROP,
	    [3] = EXPORT_VERDICT_DROP,	  [4] = EXPORT_VERDICT_RETRY,  [5] = EXPORT_VERDICT_DROP,
	    [6] = EXPORT_VERDICT_DROP,	  [7] = EXPORT_VERDICT_DROP,   [8] = EXPORT_VERDICT_DROP,
	    [9] = EXPORT_VERDICT_DROP,	  [10] = EXPORT_VERDICT_RETRY, [11] = EXPORT_VERDICT_RETRY,
	    [12] = EXPORT_VERDICT_DROP,	  [13] = EXPORT_VERDICT_DROP,  [14] = EXPORT_VERDICT_RETRY,
	    [15] = EXPORT_VERDICT_RETRY,  [16] = EXPORT_VERDICT_DROP,
	};
	for (int c = 0; c <= 16; c++) {
		struct export_result r = grpc(c, -1);
		assert_int_equal(export_retry_classify(&r), want[c]);
	}
	/* RESOURCE_EXHAUSTED is retryable only with RetryInfo. */
	struct export_result r = grpc(GRPC_STATUS_RESOURCE_EXHAUSTED, 2000);
	assert_int_equal(export_retry_classify(&r), EXPORT_VERDICT_RETRY);
}

static void test_backoff(void **state)
{
	(void)state;
	struct retry_policy p = {.initial_ms = 1000, .max_ms = 5000, .max_elapsed_ms = 60000};
	struct export_result none = http(503, -1);
	/* +-50% around 1000 * 1.5^attempt, capped at 5000. */
	assert_int_equal(export_retry_delay_ms(&p, &none, 0, 0.0), 500);
	assert_int_equal(export_retry_delay_ms(&p, &none, 0, 0.5), 1000);
	assert_int_equal(export_retry_delay_ms(&p, &none, 0, 0.999999), 1499);
	assert_int_equal(export_retry_delay_ms(&p, &none, 1, 0.5), 1500);
	assert_int_equal(export_retry_delay_ms(&p, &none, 2, 0.5), 2250);
	assert_int_equal(export_retry_delay_ms(&p, &none, 10, 0.5), 5000);
	assert_int_equal(export_retry_delay_ms(&p, &none, 1000, 0.0), 2500);
	/* The server's own delay wins, exactly, when it is longer than the backoff. */
	struct export_result after = http(429, 2000);
	assert_int_equal(export_retry_delay_ms(&p, &after, 0, 0.0), 2000);
	assert_int_equal(export_retry_delay_ms(&p, &after, 3, 0.5), 3375);
}

/* "Retry-After: 0" or a date in the past (parsed to 0) on every answer must not
 * make kspan retry at once: the backoff still applies, and still grows. */
static void test_retry_after_zero_waits_the_backoff(void **state)
{
	(void)state;
	struct retry_policy p = {.initial_ms = 1000, .max_ms = 5000, .max_elapsed_ms = 300000};
	struct export_result zero = http(503, 0);
	assert_int_equal(export_retry_delay_ms(&p, &zero, 0, 0.0), 500);
	assert_int_equal(export_retry_delay_ms(&p, &zero, 0, 0.5), 1000);
	assert_int_equal(export_retry_delay_ms(&p, &zero, 3, 0.9), 4725);
	const char *past = "Sun, 06 Nov 1994 08:49:37 GMT";
	struct export_result dated =
	    http(429, export_retry_after_parse_ms(past, strlen(past), 784111777 + 60));
	assert_int_equal(dated.retry_after_ms, 0);
	assert_int_equal(export_retry_delay_ms(&p, &dated, 1, 0.5), 1500);
	/* gRPC RetryInfo with a zero delay, likewise. */
	struct export_result info = grpc(GRPC_STATUS_RESOURCE_EXHAUSTED, 0);
	assert_int_equal(export_retry_classify(&info), EXPORT_VERDICT_RETRY);
	assert_int_equal(export_retry_delay_ms(&p, &info, 0, 0.5), 1000);
}

static void test_retry_after_parse(void **state)
{
	(void)state;
	assert_int_equal(export_retry_after_parse_ms("2", 1, 0), 2000);
	assert_int_equal(export_retry_after_parse_ms(" 120\r\n", 6, 0), 120000);
	assert_int_equal(export_retry_after_parse_ms("0", 1, 0), 0);
	assert_int_equal(export_retry_after_parse_ms("99999999999", 11, 0), 86400000);
	assert_int_equal(export_retry_after_parse_ms("-1", 2, 0), -1);
	assert_int_equal(export_retry_after_parse_ms("", 0, 0), -1);
	assert_int_equal(export_retry_after_parse_ms("soon", 4, 0), -1);
	/* 784111777 is Sun, 06 Nov 1994 08:49:37 GMT. */
	const char *date = "Sun, 06 Nov 1994 08:49:37 GMT\r\n";
	assert_int_equal(export_retry_after_parse_ms(date, strlen(date), 784111777 - 5), 5000);
	assert_int_equal(export_retry_after_parse_ms(date, strlen(date), 784111777 + 5), 0);
	assert_int_equal(export_retry_after_parse_ms("Sun, 06 Nov 1994", 16, 0), -1);
}

static struct export_batch *batch(uint32_t spans, size_t len)
{
	uint8_t *body = malloc(len ? len : 1);
	assert_non_null(body);
	struct export_batch *b = export_batch_new(body, len, spans);
	assert_non_null(b);
	return b;
}

static size_t list_spans(struct export_batch *b)
{
	size_t n = 0;
	for (; b; b = b->next)
		n += b->n_spans;
	return n;
}

static void test_queue_drops_oldest(void **state)
{
	(void)state;
	struct export_queue q;
	export_queue_init(&q, 10, 1000);
	struct export_batch *a = batch(4, 100), *b = batch(4, 100), *c = batch(4, 100);
	assert_null(export_queue_push(&q, a));
	assert_null(export_queue_push(&q, b));
	assert_int_equal(q.spans, 8);
	/* c does not fit in spans: a, the oldest, goes. */
	struct export_batch *dropped = export_queue_push(&q, c);
	assert_ptr_equal(dropped, a);
	assert_null(dropped->next);
	export_batch_free_list(dropped);
	assert_int_equal(q.spans, 8);
	assert_int_equal(q.bytes, 200);
	assert_int_equal(q.batches, 2);

	/* 901 bytes: both b and c must go. */
	struct export_batch *big = batch(1, 901);
	dropped = export_queue_push(&q, big);
	assert_int_equal(list_spans(dropped), 8);
	assert_ptr_equal(dropped, b);
	assert_ptr_equal(dropped->next, c);
	export_batch_free_list(dropped);
	assert_int_equal(q.batches, 1);

	/* Larger than the whole queue: it is the one dropped. */
	struct export_batch *huge = batch(1, 1001);
	dropped = export_queue_push(&q, huge);
	assert_ptr_equal(dropped, huge);
	export_batch_free_list(dropped);
	assert_int_equal(q.bytes, 901);

	struct export_batch *out = export_queue_pop(&q);
	assert_ptr_equal(out, big);
	assert_null(export_queue_pop(&q));
	assert_int_equal(q.spans + q.bytes + q.batches, 0);
	export_queue_push_front(&q, out);
	assert_int_equal(q.spans, 1);
	assert_ptr_equal(export_queue_pop(&q), out);
	export_batch_free_list(out);
}

static void test_prometheus_text(void **state)
{
	(void)state;
	struct agent_stats s = {0};
	STAT_ADD(&s, spans_exported, 7);
	STAT_ADD(&s, spans_export_dropped_queue, 3);
	STAT_SET(&s, export_queue_spans, 11);
	agent_stats_observe_export_latency(&s, 4000);	  /* <= 5 ms */
	agent_stats_observe_export_latency(&s, 20000000); /* +Inf */
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	agent_stats_write_prometheus(&s, f);
	fclose(f);
	assert_non_null(strstr(text, "# TYPE kspan_spans_exported_total counter\n"
				     "kspan_spans_exported_total 7\n"));
	assert_non_null(strstr(text, "\nkspan_spans_export_dropped_queue_total 3\n"));
	assert_non_null(strstr(text, "# TYPE kspan_export_queue_spans gauge\n"
				     "kspan_export_queue_spans 11\n"));
	assert_non_null(strstr(text, "kspan_export_duration_seconds_bucket{le=\"0.005\"} 1\n"));
	assert_non_null(strstr(text, "kspan_export_duration_seconds_bucket{le=\"10\"} 1\n"));
	assert_non_null(strstr(text, "kspan_export_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
	assert_non_null(strstr(text, "kspan_export_duration_seconds_count 2\n"));
	assert_non_null(strstr(text, "kspan_export_duration_seconds_sum 20.004000\n"));
	free(text);
}

static struct export_batch *batch_of(const char *text, uint32_t spans)
{
	size_t len = strlen(text);
	uint8_t *body = malloc(len);
	memcpy(body, text, len);
	return export_batch_new(body, len, spans);
}

static size_t files_in(const char *dir)
{
	size_t n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_spool_round_trip(void **state)
{
	(void)state;
	char dir[] = "/tmp/kspan-spool-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct export_spool sp;
	uint64_t discarded = 0, earlier = 0;
	assert_int_equal(export_spool_open(&sp, dir, 4096, 7, &discarded), 0);
	struct export_batch *a = batch_of("first\nbody\0with nul", 3), *b = batch_of("second", 2);
	size_t a_len = a->len;
	uint8_t a_body[64];
	memcpy(a_body, a->body, a_len);
	assert_int_equal(export_spool_keep(&sp, a), 0);
	assert_int_equal(export_spool_keep(&sp, b), 0);
	assert_int_equal(sp.waiting_spans, 5);
	assert_int_equal(files_in(dir), 2);
	/* Bounded: a batch that would pass the limit is refused. */
	struct export_batch *big = export_batch_new(calloc(1, 5000), 5000, 1);
	assert_int_equal(export_spool_keep(&sp, big), -ENOSPC);
	assert_int_equal(big->spool_id, 0);
	assert_int_equal(files_in(dir), 2);
	export_batch_free_list(a);
	export_batch_free_list(b);
	export_batch_free_list(big);

	/* Read back within the same run: the oldest first, only what fits
	 * (but always one), not counted as a previous run's. */
	struct export_batch *got = export_spool_take(&sp, 1, 1 << 20, &earlier, &discarded);
	assert_non_null(got);
	assert_null(got->next);
	assert_int_equal(got->n_spans, 3);
	assert_int_equal(got->len, a_len);
	assert_memory_equal(got->body, a_body, a_len);
	assert_int_equal(earlier, 0);
	assert_int_equal(sp.waiting_spans, 2);
	/* Pushed out of memory again: no second file. */
	uint64_t id = got->spool_id;
	assert_int_equal(export_spool_keep(&sp, got), 0);
	assert_int_equal(files_in(dir), 2);
	assert_int_equal(sp.waiting_spans, 5);
	export_batch_free_list(got);
	export_spool_close(&sp);

	/* The next run indexes them, reads them back oldest first, and counts
	 * them as a previous run's; finished batches leave the directory. */
	assert_int_equal(export_spool_open(&sp, dir, 4096, 7, &discarded), 0);
	assert_int_equal(sp.waiting_spans, 5);
	got = export_spool_take(&sp, 100, 1 << 20, &earlier, &discarded);
	assert_int_equal(discarded, 0);
	assert_int_equal(earlier, 5);
	assert_non_null(got);
	assert_non_null(got->next);
	assert_null(got->next->next);
	assert_int_equal(got->spool_id, id);
	assert_int_equal(got->n_spans, 3);
	assert_int_equal(got->next->n_spans, 2);
	assert_null(export_spool_take(&sp, 100, 1 << 20, &earlier, &discarded));
	export_spool_remove(&sp, got);
	assert_int_equal(files_in(dir), 1);
	export_batch_free_list(got);
	export_spool_close(&sp);

	/* Another protocol or compression cannot send it: removed and counted;
	 * a write a crash cut short is removed too. */
	char tmp_path[sizeof(dir) + 16];
	snprintf(tmp_path, sizeof(tmp_path), "%s/1.tmp", dir);
	FILE *tmp = fopen(tmp_path, "w");
	assert_non_null(tmp);
	fclose(tmp);
	assert_int_equal(export_spool_open(&sp, dir, 4096, 8, &discarded), 0);
	assert_int_equal(discarded, 2);
	assert_int_equal(sp.waiting_spans, 0);
	assert_null(export_spool_take(&sp, 100, 1 << 20, &earlier, &discarded));
	assert_int_equal(files_in(dir), 0);
	export_spool_close(&sp);
	assert_int_equal(rmdir(dir), 0);
}

/* --spool-dir must be kspan's own directory, and one kspan's only. */
static void test_spool_directory_checks_and_lock(void **state)
{
	(void)state;
	char dir[] = "/tmp/kspan-spool-test-XXXXXX";
	char path[sizeof(dir) + 32];
	struct export_spool sp, second;
	uint64_t discarded = 0;
	assert_non_null(mkdtemp(dir));

	/* A second spool on the same directory is refused while the first holds
	 * it, and accepted once it is closed; the lock leaves no file behind. */
	assert_int_equal(export_spool_open(&sp, dir, 4096, 7, &discarded), 0);
	assert_int_equal(export_spool_open(&second, dir, 4096, 7, &discarded), -EBUSY);
	assert_null(second.dir);
	export_spool_close(&sp);
	assert_int_equal(export_spool_open(&second, dir, 4096, 7, &discarded), 0);
	export_spool_close(&second);
	assert_int_equal(files_in(dir), 0);

	/* Writable by others: anyone could plant batches that kspan would send. */
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(export_spool_open(&sp, dir, 4096, 7, &discarded), -EPERM);
	assert_int_equal(chmod(dir, 0770), 0);
	assert_int_equal(export_spool_open(&sp, dir, 4096, 7, &discarded), -EPERM);
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(export_spool_open(&sp, dir, 4096, 7, &discarded), 0);
	export_spool_close(&sp);

	/* Another user's directory (only root can make one here). */
	if (geteuid() == 0) {
		assert_int_equal(chown(dir, 65534, 65534), 0);
		assert_int_equal(export_spool_open(&sp, dir, 4096, 7, &discarded), -EPERM);
		assert_int_equal(chown(dir, 0, 0), 0);
	}

	/* A symbolic link to a good directory is refused: kspan does not follow it. */
	snprintf(path, sizeof(path), "%s.link", dir);
	assert_int_equal(symlink(dir, path), 0);
	assert_int_equal(export_spool_open(&sp, path, 4096, 7, &discarded), -ELOOP);
	assert_int_equal(unlink(path), 0);

	/* Not a directory. */
	snprintf(path, sizeof(path), "%s/file", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(export_spool_open(&sp, path, 4096, 7, &discarded), -ENOTDIR);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(discarded, 0);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_classify_http),
	    cmocka_unit_test(test_classify_grpc),
	    cmocka_unit_test(test_backoff),
	    cmocka_unit_test(test_retry_after_zero_waits_the_backoff),
	    cmocka_unit_test(test_retry_after_parse),
	    cmocka_unit_test(test_queue_drops_oldest),
	    cmocka_unit_test(test_prometheus_text),
	    cmocka_unit_test(test_spool_round_trip),
	    cmocka_unit_test(test_spool_directory_checks_and_lock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
