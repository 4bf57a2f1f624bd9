// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * otlp_exporter.c - batch span processor and bounded queue (with its spool)
 * for every OTLP protocol; the retrying sender is otlp_sender.c.
 *
 * Threads: export_span() and tick() run on the agent's main thread, which
 * fills the open batch and, when the batch is full or its first span has
 * waited OTEL_BSP_SCHEDULE_DELAY, encodes it (CPU only, no I/O) and appends it
 * to the queue. The sender thread (otlp_sender.c) is the only one that talks
 * to the network: it takes the oldest batch and sends it until it succeeds,
 * fails for good or runs out of retry time; meanwhile new batches queue up
 * and, when the queue is full, the oldest ones are dropped and counted. Nothing the main thread
 * does waits for the network, so the ring-buffer reader never blocks.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libdeflate.h>

#include "model/agent_stats.h"
#include "lib/clock.h"
#include "export/otlp/export_queue.h"
#include "export/otlp/export_spool.h"
#include "lib/log.h"
#include "export/otlp/otlp_encoder.h"
#include "export/otlp/otlp_exporter.h"
#include "export/otlp/otlp_exporter_state.h"
#include "export/otlp/otlp_transport.h"

/* ---- failure accounting ---- */

void otlp_log_failure(struct otlp_exporter *x, enum failure_kind kind, const char *fmt, ...)
{
	struct failure_log *fl = &x->failure_logs[kind];
	uint64_t now = clock_mono_ns();
	if (fl->logged && now - fl->last_ns < FAILURE_LOG_INTERVAL_NS) {
		fl->suppressed++;
		return;
	}
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* The metrics exporter's lines say so; their "spans" are data points. */
	const char *signal = x->cfg.signal == OTLP_SIGNAL_METRICS ? "metrics: " : "";
	if (fl->suppressed)
		log_warn("%s%s (%llu similar lines not logged)", signal, line,
			 (unsigned long long)fl->suppressed);
	else
		log_warn("%s%s", signal, line);
	fl->logged = true;
	fl->last_ns = now;
	fl->suppressed = 0;
}

void otlp_update_queue_gauges(struct otlp_exporter *x)
{
	STAT_SET(x->stats, export_queue_spans, x->queue.spans);
	STAT_SET(x->stats, export_queue_bytes, x->queue.bytes);
	STAT_SET(x->stats, export_queue_batches, x->queue.batches);
	STAT_SET(x->stats, export_spool_spans, x->spool.waiting_spans);
}

/* ---- encoding (main thread) ---- */

/*
 * gzip (RFC 1952) with libdeflate: whole-buffer compression, which is what a
 * sealed batch is, without zlib's streaming state. Level 1: on kspan's spans
 * (repeated keys, ids, addresses) it compresses nearly as well as zlib's
 * default level 6 for a fraction of the CPU; README, design notes, has the
 * numbers. The compressor is made once and used by the main thread only.
 */
#define GZIP_LEVEL 1

static int gzip_compress(struct otlp_exporter *x, const uint8_t *in, size_t in_len, uint8_t **out,
			 size_t *out_len)
{
	if (!x->gzip) {
		x->gzip = libdeflate_alloc_compressor(GZIP_LEVEL);
		if (!x->gzip)
			return -ENOMEM;
	}
	size_t bound = libdeflate_gzip_compress_bound(x->gzip, in_len);
	uint8_t *buf = malloc(bound);
	if (!buf)
		return -ENOMEM;
	size_t len = libdeflate_gzip_compress(x->gzip, in, in_len, buf, bound);
	if (!len) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	*out_len = len;
	return 0;
}

static bool encodes_json(const struct otlp_exporter *x)
{
	return x->cfg.protocol == OTLP_PROTOCOL_HTTP_JSON;
}

/* The open batch as a request: the writer's spans are encoded already. */
static int encode_spans(struct otlp_exporter *x, uint8_t **out, size_t *len)
{
	if (!encodes_json(x))
		return otlp_span_writer_seal(&x->writer, out, len);
	struct otlp_encode_options o = {.json = true, .attr_value_limit = x->cfg.attr_value_limit};
	return otlp_encode_request(x->open, x->n_open, &o, out, len);
}

/* Encode and, if configured, compress. *body is released with free(). */
static int build_body(struct otlp_exporter *x, uint8_t **body, size_t *len)
{
	uint8_t *raw;
	size_t raw_len;
	int err = encode_spans(x, &raw, &raw_len);
	if (err)
		return err;
	if (x->cfg.compression != OTLP_COMPRESSION_GZIP) {
		*body = raw;
		*len = raw_len;
		return 0;
	}
	err = gzip_compress(x, raw, raw_len, body, len);
	free(raw);
	return err;
}

static void count_queue_drops(struct otlp_exporter *x, struct export_batch *dropped)
{
	size_t spans = 0, batches = 0;
	for (struct export_batch *b = dropped; b; b = b->next) {
		spans += b->n_spans;
		batches++;
	}
	if (!batches)
		return;
	STAT_ADD(x->stats, spans_export_dropped_queue, spans);
	otlp_log_failure(
	    x, FAILURE_QUEUE_FULL,
	    "OTLP export queue full (%u spans, %u bytes): dropped the oldest %zu batches "
	    "(%zu spans); the collector at %s is slower than the traffic or unreachable",
	    x->cfg.max_queue_size, x->cfg.queue_max_bytes, batches, spans, x->cfg.endpoint);
	export_batch_free_list(dropped);
}

/* The open batch, encoded; NULL when it was empty or could not be encoded (counted). */
static struct export_batch *encode_open_batch(struct otlp_exporter *x)
{
	size_t n = x->n_open;
	if (!n)
		return NULL;
	uint8_t *body = NULL;
	size_t len = 0;
	int err = build_body(x, &body, &len);
	for (size_t i = 0; encodes_json(x) && i < n; i++) {
		span_unref(x->open[i]);
		x->open[i] = NULL;
	}
	x->n_open = 0;
	struct export_batch *b = err ? NULL : export_batch_new(body, len, (uint32_t)n);
	if (!b) {
		free(body);
		STAT_ADD(x->stats, spans_export_failed, n);
		otlp_log_failure(x, FAILURE_ENCODE, "OTLP export: encoding %zu spans failed: %s", n,
				 strerror(err ? -err : ENOMEM));
	}
	return b;
}

/*
 * Batches pushed out of the full queue go to the spool when there is one and
 * it has room (a batch read back from it only leaves memory again); returns
 * the rest, for the caller to count as dropped. Lock held.
 */
static struct export_batch *spool_overflow_locked(struct otlp_exporter *x, struct export_batch *out)
{
	struct export_batch *dropped = NULL, **tail = &dropped;
	uint64_t written = 0, moved = 0;
	int err = 0;

	while (out) {
		struct export_batch *b = out;
		bool had_file = b->spool_id != 0;
		out = b->next;
		b->next = NULL;
		int e = x->spool.dir ? export_spool_keep(&x->spool, b) : -ENOENT;
		if (!e) {
			written += had_file ? 0 : b->n_spans;
			moved += b->n_spans;
			export_batch_free_list(b);
			continue;
		}
		err = e;
		export_spool_remove(&x->spool, b);
		*tail = b;
		tail = &b->next;
	}
	STAT_ADD(x->stats, spans_spooled, written);
	if (moved)
		otlp_log_failure(
		    x, FAILURE_SPOOLED,
		    "OTLP export queue full: moved %llu spans to %s (%llu spans wait there); "
		    "the collector at %s is slower than the traffic or unreachable",
		    (unsigned long long)moved, x->spool.dir,
		    (unsigned long long)x->spool.waiting_spans, x->cfg.endpoint);
	if (dropped && x->spool.dir)
		otlp_log_failure(x, FAILURE_SPOOLED, "OTLP export: spool %s cannot take more: %s",
				 x->spool.dir,
				 err == -ENOSPC ? "--spool-max-bytes reached" : strerror(-err));
	return dropped;
}

/* Append b to the queue and wake the sender; returns what fell out. Lock held. */
static struct export_batch *enqueue_locked(struct otlp_exporter *x, struct export_batch *b)
{
	if (!b)
		return NULL;
	struct export_batch *dropped = spool_overflow_locked(x, export_queue_push(&x->queue, b));
	otlp_update_queue_gauges(x);
	pthread_cond_broadcast(&x->wake);
	return dropped;
}

/* Up to half the queue: the other half stays free for new spans. */
bool otlp_refill_from_spool_locked(struct otlp_exporter *x)
{
	uint64_t earlier_run = 0, discarded = 0;

	if (!x->spool.dir || !x->spool.waiting_spans)
		return false;
	struct export_batch *b =
	    export_spool_take(&x->spool, x->cfg.max_queue_size / 2, x->cfg.queue_max_bytes / 2,
			      &earlier_run, &discarded);
	STAT_ADD(x->stats, spans_spool_dropped, discarded);
	/* Spans a previous kspan spooled enter this one's accounting now. */
	STAT_ADD(x->stats, spans_export_queued, earlier_run);
	bool any = b != NULL;
	while (b) {
		struct export_batch *next = b->next;
		b->next = NULL;
		/* Half the queue into an empty one: nothing can fall out, but
		 * should it, it is counted like any drop. */
		struct export_batch *out =
		    spool_overflow_locked(x, export_queue_push(&x->queue, b));
		for (struct export_batch *d = out; d; d = d->next)
			STAT_ADD(x->stats, spans_export_dropped_queue, d->n_spans);
		export_batch_free_list(out);
		b = next;
	}
	otlp_update_queue_gauges(x);
	return any;
}

/* Turn the open batch into an encoded batch at the end of the queue. */
static void seal_open_batch(struct otlp_exporter *x)
{
	struct export_batch *b = encode_open_batch(x);
	if (!b)
		return;
	pthread_mutex_lock(&x->lock);
	struct export_batch *dropped = enqueue_locked(x, b);
	pthread_mutex_unlock(&x->lock);
	count_queue_drops(x, dropped);
}

int otlp_exporter_send_encoded(struct exporter *e, uint8_t *raw, size_t len, uint32_t items)
{
	struct otlp_exporter *x = e->state;
	uint8_t *body = raw;
	size_t body_len = len;
	int err = 0;

	if (__atomic_load_n(&x->stopping, __ATOMIC_ACQUIRE)) {
		free(raw);
		STAT_ADD(x->stats, spans_export_dropped_shutdown, items);
		return -ESHUTDOWN;
	}
	if (x->cfg.compression == OTLP_COMPRESSION_GZIP) {
		err = gzip_compress(x, raw, len, &body, &body_len);
		free(raw);
	}
	struct export_batch *b = err ? NULL : export_batch_new(body, body_len, items);
	if (!b) {
		if (!err)
			free(body);
		STAT_ADD(x->stats, spans_export_failed, items);
		return err ? err : -ENOMEM;
	}
	STAT_ADD(x->stats, spans_export_queued, items);
	pthread_mutex_lock(&x->lock);
	struct export_batch *dropped = enqueue_locked(x, b);
	pthread_mutex_unlock(&x->lock);
	count_queue_drops(x, dropped);
	return 0;
}

/* ---- exporter interface (main thread) ---- */

/* A request this much older than its timeout means a stuck sender. */
#define SENDER_STUCK_GRACE_NS (10 * NS_PER_SEC)

/* The transports end every request at its timeout: one that runs far longer
 * means the sender thread is stuck, and nothing is exported any more. */
static int otlp_check(struct exporter *e, uint64_t now, char *why, size_t len)
{
	struct otlp_exporter *x = e->state;
	uint64_t since = __atomic_load_n(&x->request_since_ns, __ATOMIC_RELAXED);
	uint64_t limit = (uint64_t)x->request_timeout_ms * NS_PER_MS + SENDER_STUCK_GRACE_NS;

	if (!since || now <= since || now - since <= limit)
		return 0;
	snprintf(why, len,
		 "the OTLP sender has been in one request to %s for %llu s (timeout %u ms)",
		 x->cfg.endpoint, (unsigned long long)((now - since) / NS_PER_SEC),
		 x->request_timeout_ms);
	return -ETIMEDOUT;
}

static int otlp_export_span(struct exporter *e, struct span *s)
{
	struct otlp_exporter *x = e->state;
	if (__atomic_load_n(&x->stopping, __ATOMIC_ACQUIRE)) {
		STAT_INC(x->stats, spans_export_dropped_shutdown);
		return -ESHUTDOWN;
	}
	STAT_INC(x->stats, spans_export_queued);
	if (!encodes_json(x) && otlp_span_writer_add(&x->writer, s)) {
		STAT_INC(x->stats, spans_export_failed);
		otlp_log_failure(x, FAILURE_ENCODE, "OTLP export: encoding a span failed: %s",
				 strerror(ENOMEM));
		return -ENOMEM;
	}
	if (!x->n_open)
		x->open_since_ns = clock_mono_ns();
	if (encodes_json(x))
		x->open[x->n_open] = span_ref(s);
	x->n_open++;
	if (x->n_open == x->cfg.max_export_batch_size || !x->cfg.schedule_delay_ms)
		seal_open_batch(x);
	return 0;
}

/*
 * trace/sdk.md, Batching processor: a batch goes out when it is full or after
 * scheduledDelayMillis; here the delay counts from the batch's first span.
 */
static void otlp_tick(struct exporter *e, uint64_t now_mono_ns)
{
	struct otlp_exporter *x = e->state;
	if (x->n_open &&
	    now_mono_ns - x->open_since_ns >= (uint64_t)x->cfg.schedule_delay_ms * NS_PER_MS)
		seal_open_batch(x);
}

static void otlp_shutdown(struct exporter *e, uint64_t deadline_mono_ns)
{
	struct otlp_exporter *x = e->state;
	struct export_batch *last = NULL, *dropped = NULL;
	if (!__atomic_load_n(&x->stopping, __ATOMIC_ACQUIRE))
		last = encode_open_batch(x);
	/* The last batch and the stop in one step: the sender sees both or neither. */
	pthread_mutex_lock(&x->lock);
	if (!x->stopping) {
		dropped = enqueue_locked(x, last);
		__atomic_store_n(&x->deadline_ns, deadline_mono_ns, __ATOMIC_RELEASE);
		__atomic_store_n(&x->stopping, true, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&x->wake);
	}
	pthread_mutex_unlock(&x->lock);
	count_queue_drops(x, dropped);
	if (x->sender_running) {
		pthread_join(x->sender, NULL);
		x->sender_running = false;
	}
	/* Left only when the sender never started. */
	otlp_account_unsent(x, x->queue.head);
	x->queue.head = x->queue.tail = NULL;
}

static void otlp_destroy(struct exporter *e)
{
	if (!e)
		return;
	struct otlp_exporter *x = e->state;
	/* Not shut down yet: stop now, what is queued is counted as unsent. */
	otlp_shutdown(e, clock_mono_ns());
	if (x->transport)
		x->transport->destroy(x->transport);
	export_spool_close(&x->spool);
	free(x->open);
	otlp_span_writer_free(&x->writer);
	if (x->gzip)
		libdeflate_free_compressor(x->gzip);
	pthread_cond_destroy(&x->wake);
	pthread_mutex_destroy(&x->lock);
	otlp_config_free(&x->cfg);
	free(x);
}

static int init_sync(struct otlp_exporter *x)
{
	pthread_condattr_t attr;
	if (pthread_mutex_init(&x->lock, NULL))
		return -ENOMEM;
	if (pthread_condattr_init(&attr)) {
		pthread_mutex_destroy(&x->lock);
		return -ENOMEM;
	}
	int err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (!err)
		err = pthread_cond_init(&x->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (err) {
		pthread_mutex_destroy(&x->lock);
		return -err;
	}
	return 0;
}

/* Batches a previous run could not send go first into the queue; the
 * sender reads the rest back as the queue drains. */
static int open_spool(struct otlp_exporter *x)
{
	uint64_t discarded = 0;
	uint32_t format = (uint32_t)x->cfg.protocol | (uint32_t)x->cfg.compression << 8;
	int err = export_spool_open(&x->spool, x->cfg.spool_dir, x->cfg.spool_max_bytes, format,
				    &discarded);
	STAT_ADD(x->stats, spans_spool_dropped, discarded);
	if (err)
		return err;
	uint64_t spans = x->spool.waiting_spans;
	size_t batches = x->spool.n_files;
	pthread_mutex_lock(&x->lock);
	otlp_refill_from_spool_locked(x);
	pthread_mutex_unlock(&x->lock);
	if (batches)
		log_info("OTLP exporter: %llu spans (%zu batches) from %s will be sent first",
			 (unsigned long long)spans, batches, x->spool.dir);
	return 0;
}

static struct otlp_transport *transport_new(struct otlp_exporter *x)
{
	struct otlp_transport_abort abort = {.should_abort = otlp_sender_should_abort, .ctx = x};
	switch (x->cfg.protocol) {
	case OTLP_PROTOCOL_GRPC:
		return otlp_transport_grpc_new(&x->cfg, abort);
	case OTLP_PROTOCOL_HTTP_JSON:
		return otlp_transport_http_new(&x->cfg, "application/json", abort);
	case OTLP_PROTOCOL_HTTP_PROTOBUF:
	default:
		return otlp_transport_http_new(&x->cfg, "application/x-protobuf", abort);
	}
}

struct exporter *otlp_exporter_new(const struct otlp_config *cfg, struct agent_stats *stats)
{
	if (!cfg || !cfg->endpoint || !stats || !cfg->max_queue_size ||
	    !cfg->max_export_batch_size || cfg->max_export_batch_size > cfg->max_queue_size) {
		log_warn("OTLP exporter: invalid configuration");
		return NULL;
	}
	struct otlp_exporter *x = calloc(1, sizeof(*x));
	if (!x || init_sync(x)) {
		free(x);
		log_warn("OTLP exporter: out of memory");
		return NULL;
	}
	x->base = (struct exporter){
	    .name = "otlp",
	    .export_span = otlp_export_span,
	    .tick = otlp_tick,
	    .check = otlp_check,
	    .shutdown = otlp_shutdown,
	    .destroy = otlp_destroy,
	    .state = x,
	};
	x->stats = stats;
	x->rand_state = (unsigned int)(clock_mono_ns() ^ (uint64_t)getpid());
	int err = otlp_config_copy(&x->cfg, cfg);
	if (!err) {
		x->request_timeout_ms = x->cfg.timeout_ms < x->cfg.export_timeout_ms
					    ? x->cfg.timeout_ms
					    : x->cfg.export_timeout_ms;
		x->retry = (struct retry_policy){.initial_ms = x->cfg.retry_initial_ms,
						 .max_ms = x->cfg.retry_max_ms,
						 .max_elapsed_ms = x->cfg.retry_max_elapsed_ms};
		export_queue_init(&x->queue, x->cfg.max_queue_size, x->cfg.queue_max_bytes);
		otlp_span_writer_init(&x->writer, x->cfg.attr_value_limit);
		x->open =
		    encodes_json(x) ? calloc(x->cfg.max_export_batch_size, sizeof(*x->open)) : NULL;
		err = x->open || !encodes_json(x) ? 0 : -ENOMEM;
	}
	if (!err && x->cfg.spool_dir)
		err = open_spool(x);
	if (!err) {
		x->transport = transport_new(x);
		err = x->transport ? 0 : -EINVAL;
	}
	if (!err)
		err = otlp_sender_start(x);
	if (err) {
		log_warn("OTLP exporter for %s could not start: %s",
			 x->cfg.endpoint ? x->cfg.endpoint : cfg->endpoint, strerror(-err));
		otlp_destroy(&x->base);
		return NULL;
	}
	return &x->base;
}
