/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * otlp_exporter_state.h - what the OTLP exporter's two threads share, for
 * its two files only: otlp_exporter.c (the main thread: batching, encoding,
 * the queue and the spool) and otlp_sender.c (the sender thread: sending,
 * retries, what is left at shutdown). Each field says who may touch it.
 */
#ifndef KSPAN_OTLP_EXPORTER_STATE_H
#define KSPAN_OTLP_EXPORTER_STATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "export/otlp/export_queue.h"
#include "export/otlp/export_retry.h"
#include "export/otlp/export_spool.h"
#include "export/otlp/otlp_config.h"
#include "export/otlp/otlp_span_writer.h"

struct libdeflate_compressor;
#include "export/otlp/otlp_transport.h"
#include "lib/clock.h"
#include "model/exporter.h"
#include "model/span.h"

/* At most one log line per kind of failure in this interval. */
#define FAILURE_LOG_INTERVAL_NS (10 * NS_PER_SEC)

enum failure_kind {
	FAILURE_ENCODE,	    /* main thread */
	FAILURE_QUEUE_FULL, /* main thread */
	FAILURE_SPOOLED,    /* whoever holds the lock */
	FAILURE_RETRY,	    /* sender thread, and the ones below */
	FAILURE_DROPPED,
	FAILURE_EXPIRED,
	FAILURE_PARTIAL,
	FAILURE_KINDS,
};

struct failure_log {
	uint64_t last_ns;
	uint64_t suppressed;
	bool logged;
};

struct otlp_exporter {
	struct exporter base;
	struct otlp_config cfg;
	struct agent_stats *stats;
	struct otlp_transport *transport;
	struct retry_policy retry;
	uint32_t request_timeout_ms; /* min(cfg.timeout_ms, cfg.export_timeout_ms) */

	/* main thread only: the batch being filled. Protobuf (HTTP and gRPC):
	 * each span is encoded by the writer when it arrives, only counted in
	 * n_open; JSON: the spans are held in open until the batch is sealed. */
	struct otlp_span_writer writer;
	struct libdeflate_compressor *gzip; /* made at the first gzip'd batch */
	struct span **open;
	size_t n_open;
	uint64_t open_since_ns;

	pthread_mutex_t lock;
	pthread_cond_t wake;	   /* CLOCK_MONOTONIC: a batch was queued, or stop */
	struct export_queue queue; /* under lock */
	struct export_spool spool; /* under lock; dir NULL when there is none */
	bool stopping;		   /* set under lock; read atomically by should_abort() */
	uint64_t deadline_ns;	   /* shutdown deadline, same rules as stopping */
	pthread_t sender;
	bool sender_running; /* main thread only */

	/* written by the sender, read by the exporter's check() (/readyz): when
	 * the request being sent began (CLOCK_MONOTONIC), 0 between requests */
	uint64_t request_since_ns;

	/* sender only */
	unsigned int rand_state;
	char last_error[EXPORT_RESULT_MESSAGE_MAX];

	/* each kind is only touched by the thread named in enum failure_kind */
	struct failure_log failure_logs[FAILURE_KINDS];
};

/* --- otlp_exporter.c --------------------------------------------------------- */

/* One log line, unless this kind of failure was already logged in the last
 * FAILURE_LOG_INTERVAL_NS. */
__attribute__((format(printf, 3, 4))) void
otlp_log_failure(struct otlp_exporter *x, enum failure_kind kind, const char *fmt, ...);

/* The queue's export_queue_* gauges, from x->queue. Lock held. */
void otlp_update_queue_gauges(struct otlp_exporter *x);

/* The queue ran empty: read the oldest spooled batches back, up to half the
 * queue. Returns whether any came. Lock held. */
bool otlp_refill_from_spool_locked(struct otlp_exporter *x);

/* --- otlp_sender.c ------------------------------------------------------------- */

/* Starts the sender thread, with every signal blocked. */
int otlp_sender_start(struct otlp_exporter *x);

/* The transports' abort test (ctx: the exporter): the shutdown deadline passed. */
bool otlp_sender_should_abort(void *ctx);

/* After the shutdown deadline: what is left is spooled, or counted and named
 * once. Frees the list. */
void otlp_account_unsent(struct otlp_exporter *x, struct export_batch *unsent);

#endif /* KSPAN_OTLP_EXPORTER_STATE_H */
