// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * otlp_sender.c - the OTLP exporter's sender thread, the only one that talks
 * to the network: it takes the oldest batch from the queue and sends it until
 * it is accepted, rejected for good (protocol/otlp.md: which answers are
 * retryable is export_retry.c's) or out of retry time; at shutdown it stops at
 * the deadline and spools or counts what is left.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "export/otlp/otlp_encoder.h"
#include "export/otlp/otlp_exporter_state.h"
#include "export/otlp/otlp_json.h"
#include "lib/log.h"
#include "model/agent_stats.h"

static bool deadline_passed(struct otlp_exporter *x)
{
	return __atomic_load_n(&x->stopping, __ATOMIC_ACQUIRE) &&
	       clock_mono_ns() >= __atomic_load_n(&x->deadline_ns, __ATOMIC_ACQUIRE);
}

bool otlp_sender_should_abort(void *ctx)
{
	return deadline_passed(ctx);
}

/* Sleep until `until` (monotonic) or until a shutdown whose deadline comes first. */
static void backoff_sleep(struct otlp_exporter *x, uint64_t until)
{
	pthread_mutex_lock(&x->lock);
	for (;;) {
		uint64_t now = clock_mono_ns();
		if (now >= until || (x->stopping && now >= x->deadline_ns))
			break;
		uint64_t wake = until;
		if (x->stopping && x->deadline_ns < wake)
			wake = x->deadline_ns;
		struct timespec ts = {.tv_sec = (time_t)(wake / NS_PER_SEC),
				      .tv_nsec = (long)(wake % NS_PER_SEC)};
		pthread_cond_timedwait(&x->wake, &x->lock, &ts);
	}
	pthread_mutex_unlock(&x->lock);
}

/* protocol/otlp.md, "Partial Success": count the rejected spans, do not retry them. */
static void handle_success(struct otlp_exporter *x, const struct export_batch *b,
			   const struct export_result *res)
{
	int64_t rejected = 0;
	char msg[256] = "";
	int err = !res->body_len ? -ENODATA
		  : x->cfg.protocol == OTLP_PROTOCOL_HTTP_JSON
		      ? otlp_json_decode_export_response(res->body, res->body_len, &rejected, msg,
							 sizeof(msg))
		      : otlp_decode_export_response(res->body, res->body_len, &rejected, msg,
						    sizeof(msg));
	if (!err && (rejected > 0 || msg[0])) {
		if (rejected < 0)
			rejected = 0;
		if ((uint64_t)rejected > b->n_spans)
			rejected = (int64_t)b->n_spans;
		otlp_log_failure(x, FAILURE_PARTIAL,
				 "OTLP collector at %s rejected %lld of %u spans: %s",
				 x->cfg.endpoint, (long long)rejected, b->n_spans,
				 msg[0] ? msg : "(no message)");
	}
	STAT_ADD(x->stats, spans_exported, b->n_spans - (uint64_t)rejected);
	STAT_ADD(x->stats, spans_export_dropped_partial, (uint64_t)rejected);
}

static uint32_t attempt_timeout_ms(struct otlp_exporter *x)
{
	uint32_t timeout = x->request_timeout_ms;
	if (__atomic_load_n(&x->stopping, __ATOMIC_ACQUIRE)) {
		uint64_t now = clock_mono_ns(), deadline = x->deadline_ns;
		uint64_t left_ms =
		    deadline > now ? (deadline - now + NS_PER_MS - 1) / NS_PER_MS : 1;
		if (left_ms < timeout)
			timeout = (uint32_t)left_ms;
	}
	return timeout;
}

/*
 * Send b until it is accepted, rejected for good or out of time. Returns true
 * when b is finished with (and counted); false when shutdown's deadline came
 * first: b is then still to be accounted for by the caller.
 */
static bool send_batch(struct otlp_exporter *x, struct export_batch *b)
{
	uint64_t first_ns = clock_mono_ns();
	for (unsigned attempt = 0;; attempt++) {
		if (deadline_passed(x))
			return false;
		struct export_result res;
		uint64_t t0 = clock_mono_ns();
		__atomic_store_n(&x->request_since_ns, t0, __ATOMIC_RELAXED);
		x->transport->send(x->transport, b->body, b->len, attempt_timeout_ms(x), &res);
		__atomic_store_n(&x->request_since_ns, 0, __ATOMIC_RELAXED);
		uint64_t now = clock_mono_ns();
		agent_stats_observe_export_latency(x->stats, (now - t0) / NS_PER_US);
		STAT_INC(x->stats, export_requests);
		if (attempt)
			STAT_INC(x->stats, export_retries);
		enum export_verdict v = export_retry_classify(&res);
		if (v == EXPORT_VERDICT_SUCCESS) {
			handle_success(x, b, &res);
			return true;
		}
		STAT_INC(x->stats, export_requests_failed);
		/* No answer because the deadline cut the request short: not an error of its
		 * own. An answer (even a permanent error) is acted on as usual. */
		if (res.kind == EXPORT_RESULT_CONNECTION && deadline_passed(x))
			return false;
		snprintf(x->last_error, sizeof(x->last_error), "%s", res.message);
		if (v == EXPORT_VERDICT_DROP) {
			STAT_ADD(x->stats, spans_export_dropped_rejected, b->n_spans);
			otlp_log_failure(
			    x, FAILURE_DROPPED,
			    "OTLP export to %s failed: %s; not retryable, %u spans dropped",
			    x->cfg.endpoint, res.message, b->n_spans);
			return true;
		}
		uint64_t delay_ms = export_retry_delay_ms(
		    &x->retry, &res, attempt, rand_r(&x->rand_state) / (RAND_MAX + 1.0));
		uint64_t retry_at = now + delay_ms * NS_PER_MS;
		if (retry_at - first_ns > (uint64_t)x->retry.max_elapsed_ms * NS_PER_MS) {
			STAT_ADD(x->stats, spans_export_dropped_expired, b->n_spans);
			otlp_log_failure(
			    x, FAILURE_EXPIRED,
			    "OTLP export to %s failed: %s; gave up after %u attempts in %llu "
			    "ms, %u spans dropped",
			    x->cfg.endpoint, res.message, attempt + 1,
			    (unsigned long long)((now - first_ns) / NS_PER_MS), b->n_spans);
			return true;
		}
		otlp_log_failure(x, FAILURE_RETRY,
				 "OTLP export to %s failed: %s; retrying in %llu ms",
				 x->cfg.endpoint, res.message, (unsigned long long)delay_ms);
		backoff_sleep(x, retry_at);
	}
}

/* Keep what could not be sent in the spool directory; returns the spans kept. */
static size_t spool_unsent(struct otlp_exporter *x, struct export_batch *unsent)
{
	size_t kept = 0, written = 0, lost = 0;
	int err = 0;
	if (!x->spool.dir)
		return 0;
	pthread_mutex_lock(&x->lock);
	for (struct export_batch *b = unsent; b; b = b->next) {
		bool had_file = b->spool_id != 0;
		int e = export_spool_keep(&x->spool, b);
		if (e) {
			err = e;
			lost += b->n_spans;
			continue;
		}
		kept += b->n_spans;
		written += had_file ? 0 : b->n_spans;
	}
	otlp_update_queue_gauges(x);
	pthread_mutex_unlock(&x->lock);
	STAT_ADD(x->stats, spans_spooled, written);
	STAT_ADD(x->stats, spans_spool_dropped, lost);
	if (kept)
		log_info("OTLP exporter: %zu unsent spans kept in %s for the next start", kept,
			 x->spool.dir);
	if (lost)
		log_warn("OTLP exporter: %zu unsent spans could not be kept in %s: %s", lost,
			 x->spool.dir, err == -ENOSPC ? "spool full" : strerror(-err));
	return kept + lost;
}

/* After the shutdown deadline: what is left is spooled, or counted and named once. */
void otlp_account_unsent(struct otlp_exporter *x, struct export_batch *unsent)
{
	size_t spans = 0, batches = 0;
	for (struct export_batch *b = unsent; b; b = b->next) {
		spans += b->n_spans;
		batches++;
	}
	if (batches && !spool_unsent(x, unsent)) {
		STAT_ADD(x->stats, spans_export_dropped_shutdown, spans);
		log_warn("OTLP exporter stopped with %zu spans (%zu batches) not sent to %s: "
			 "shutdown deadline passed%s%s",
			 spans, batches, x->cfg.endpoint, x->last_error[0] ? "; last error: " : "",
			 x->last_error);
	}
	export_batch_free_list(unsent);
}

static void *sender_main(void *arg)
{
	struct otlp_exporter *x = arg;
	struct export_batch *unsent = NULL;
	pthread_mutex_lock(&x->lock);
	for (;;) {
		while (!x->queue.head && !x->stopping && !otlp_refill_from_spool_locked(x))
			pthread_cond_wait(&x->wake, &x->lock);
		struct export_batch *b = export_queue_pop(&x->queue);
		otlp_update_queue_gauges(x);
		if (!b)
			break; /* stopping, and everything was sent */
		pthread_mutex_unlock(&x->lock);
		bool done = send_batch(x, b);
		pthread_mutex_lock(&x->lock);
		if (done) {
			export_spool_remove(&x->spool, b);
			export_batch_free_list(b);
			continue;
		}
		/* The deadline passed: b and everything behind it stay unsent. */
		b->next = NULL;
		unsent = b;
		struct export_batch **tail = &b->next;
		while ((*tail = export_queue_pop(&x->queue)))
			tail = &(*tail)->next;
		otlp_update_queue_gauges(x);
		break;
	}
	pthread_mutex_unlock(&x->lock);
	otlp_account_unsent(x, unsent);
	return NULL;
}

int otlp_sender_start(struct otlp_exporter *x)
{
	/* Signals are for the main thread (its loop handles SIGINT/SIGTERM): the
	 * sender inherits a mask that blocks them all. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int err = pthread_create(&x->sender, NULL, sender_main, x);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return -err;
	pthread_setname_np(x->sender, "kspan-otlp");
	x->sender_running = true;
	return 0;
}
