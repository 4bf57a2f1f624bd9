/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * export_queue.h - encoded batches waiting to be sent, bounded in spans and
 * in bytes. When a new batch does not fit, the OLDEST batches are dropped
 * (like the OpenTelemetry Collector's queue with drop-oldest: recent spans are
 * worth more after an outage). Not thread-safe: the exporter holds its lock.
 */
#ifndef KSPAN_EXPORT_QUEUE_H
#define KSPAN_EXPORT_QUEUE_H

#include <stddef.h>
#include <stdint.h>

struct export_batch {
	struct export_batch *next;
	uint8_t *body; /* the request body as sent (encoded, compressed), malloc'd */
	size_t len;
	uint32_t n_spans;
	uint64_t spool_id; /* its file in the spool directory, 0 when not spooled */
};

struct export_queue {
	struct export_batch *head, *tail;
	size_t spans, bytes, batches;
	size_t max_spans, max_bytes;
};

void export_queue_init(struct export_queue *q, size_t max_spans, size_t max_bytes);

/*
 * Append b (the queue owns it from now on). Batches that no longer fit are
 * taken off the front and returned as a list linked by ->next, for the caller
 * to count and free; b itself is in that list when it is larger than the whole
 * queue may be. Returns NULL when nothing was dropped.
 */
struct export_batch *export_queue_push(struct export_queue *q, struct export_batch *b);

/* The oldest batch, removed from the queue; NULL when empty. */
struct export_batch *export_queue_pop(struct export_queue *q);

/* Put a batch that was popped back at the front (it keeps its age). */
void export_queue_push_front(struct export_queue *q, struct export_batch *b);

struct export_batch *export_batch_new(uint8_t *body, size_t len, uint32_t n_spans);
/* Frees b and every batch linked after it. */
void export_batch_free_list(struct export_batch *b);

#endif /* KSPAN_EXPORT_QUEUE_H */
