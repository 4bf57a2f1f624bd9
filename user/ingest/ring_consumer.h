/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ring_consumer.h - the consumer side of one BPF ring buffer map, as libbpf's
 * ring_buffer__consume() reads it, but with the consumer position published
 * once per RING_PUBLISH_BYTES (and at the end of each pass) instead of after
 * every record. Every BPF program that sends a record reads that position to
 * check for room; written by this reader on another CPU after each record,
 * its cache line moved between the CPUs on nearly every send. libbpf's
 * consumer stays the oracle of the tests (tests/integration/
 * test_ring_consumer.py reads one ring with both).
 */
#ifndef KSPAN_RING_CONSUMER_H
#define KSPAN_RING_CONSUMER_H

#include <stddef.h>
#include <stdint.h>

/* How far the reader gets before it tells the producers: a ring of 8 MiB
 * keeps all but this much of its room visible to them. */
#define RING_PUBLISH_BYTES (64 * 1024)

/* Called for each record (data: its size bytes); its return value is not
 * looked at: one bad record never stops the reader. */
typedef void (*ring_record_fn)(void *ctx, const void *data, size_t size);

struct ring_consumer {
	volatile uint64_t *consumer_pos;       /* first page, read-write */
	const volatile uint64_t *producer_pos; /* second page */
	const uint8_t *data;		       /* the data pages, mapped twice */
	uint64_t mask;			       /* data size - 1 (a power of 2) */
	size_t page, data_len;
	int map_fd, epoll_fd;
	ring_record_fn on_record;
	void *ctx;
};

/* Maps ring buffer map map_fd and makes an epoll fd that is readable when the
 * kernel wakes the reader. Returns 0 or a negative errno. */
int ring_consumer_open(struct ring_consumer *rc, int map_fd, ring_record_fn on_record, void *ctx);
/* Hands every record already written to on_record, in order, and returns
 * how many (at most INT32_MAX per call). */
int ring_consumer_consume(struct ring_consumer *rc);
void ring_consumer_close(struct ring_consumer *rc);

#endif /* KSPAN_RING_CONSUMER_H */
