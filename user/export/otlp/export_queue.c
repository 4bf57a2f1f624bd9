// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* export_queue.c - bounded FIFO of encoded batches, dropping the oldest. */
#include <stdlib.h>

#include "export/otlp/export_queue.h"

void export_queue_init(struct export_queue *q, size_t max_spans, size_t max_bytes)
{
	*q = (struct export_queue){.max_spans = max_spans, .max_bytes = max_bytes};
}

static void account(struct export_queue *q, const struct export_batch *b, int sign)
{
	if (sign > 0) {
		q->spans += b->n_spans;
		q->bytes += b->len;
		q->batches++;
	} else {
		q->spans -= b->n_spans;
		q->bytes -= b->len;
		q->batches--;
	}
}

struct export_batch *export_queue_pop(struct export_queue *q)
{
	struct export_batch *b = q->head;
	if (!b)
		return NULL;
	q->head = b->next;
	if (!q->head)
		q->tail = NULL;
	b->next = NULL;
	account(q, b, -1);
	return b;
}

void export_queue_push_front(struct export_queue *q, struct export_batch *b)
{
	b->next = q->head;
	q->head = b;
	if (!q->tail)
		q->tail = b;
	account(q, b, +1);
}

struct export_batch *export_queue_push(struct export_queue *q, struct export_batch *b)
{
	struct export_batch *dropped = NULL, **dropped_tail = &dropped;
	b->next = NULL;
	if (b->n_spans > q->max_spans || b->len > q->max_bytes)
		return b;
	while (q->head &&
	       (q->spans + b->n_spans > q->max_spans || q->bytes + b->len > q->max_bytes)) {
		struct export_batch *old = export_queue_pop(q);
		*dropped_tail = old;
		dropped_tail = &old->next;
	}
	if (q->tail)
		q->tail->next = b;
	else
		q->head = b;
	q->tail = b;
	account(q, b, +1);
	return dropped;
}

struct export_batch *export_batch_new(uint8_t *body, size_t len, uint32_t n_spans)
{
	struct export_batch *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->body = body;
	b->len = len;
	b->n_spans = n_spans;
	return b;
}

void export_batch_free_list(struct export_batch *b)
{
	while (b) {
		struct export_batch *next = b->next;
		free(b->body);
		free(b);
		b = next;
	}
}
