/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* event_reader.h - the ring buffer's consumer: checks every record against
 * the ABI (kspan_abi.h) and hands it, by type, to the handlers it was given.
 * It knows nothing of what is behind them: main.c wires them to span assembly
 * (assembly/event_router.h), so ingest never includes a later stage. */
#ifndef KSPAN_EVENT_READER_H
#define KSPAN_EVENT_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kspan_abi.h"
#include "ingest/event_recording.h"
#include "ingest/ring_consumer.h"
#include "model/agent_stats.h"

/* One function per record type; each gets a record whose size was checked. */
struct event_handlers {
	void *ctx;
	void (*on_data)(void *ctx, const struct kspan_data_event *ev);
	void (*on_h2_stream_ctx)(void *ctx, const struct kspan_h2_stream_event *ev);
	void (*on_conn_close)(void *ctx, const struct kspan_conn_event *ev);
	void (*on_proc_info)(void *ctx, const struct kspan_proc_event *ev);
	void (*on_proc_exit)(void *ctx, uint32_t tgid, uint64_t ts_ns);
	void (*on_proc_exec)(void *ctx, uint32_t tgid, uint64_t ts_ns);
};

struct event_reader {
	struct ring_consumer ring;
	bool open; /* ring is mapped */
	struct event_handlers handlers;
	struct agent_stats *stats;
	/* --record-events: every record, as it came, before it is checked. */
	struct event_recorder *recorder;
	uint64_t ring_bytes, wakeup_bytes;
	uint64_t drained_ns; /* when the last read emptied the ring */
	int wait_ms;	     /* the next wait's bound */
};

/* wakeup_bytes: the waiting data at which the kernel wakes the reader. */
int event_reader_open(struct event_reader *r, int ringbuf_fd, uint64_t wakeup_bytes,
		      const struct event_handlers *handlers, struct agent_stats *stats);
/* Waits up to timeout_ms (less while records arrive fast, see the .c) for
 * records and handles them; returns how many, or a negative errno (-EINTR on
 * a signal). Keeps the ringbuf_waiting_bytes_max gauge (the most bytes that
 * waited in the ring when the reader woke) and ringbuf_wakeups_missed. */
int event_reader_poll(struct event_reader *r, int timeout_ms);
/* The next wait's bound: the ms a ring of ring_bytes takes to fill a quarter
 * at the rate `waiting` bytes arrived in since_ns, from 1 to timeout_ms;
 * timeout_ms when nothing arrived. Exposed for tests. */
int event_reader_wait_bound_ms(uint64_t ring_bytes, uint64_t waiting, uint64_t since_ns,
			       int timeout_ms);
/* Handles everything already in the ring without waiting. */
int event_reader_drain(struct event_reader *r);
void event_reader_close(struct event_reader *r);

/* One record; exposed for tests. Returns 0, or -EINVAL for a malformed
 * record (counted in events_malformed). */
int event_reader_handle(struct event_reader *r, const void *data, size_t size);

#endif /* KSPAN_EVENT_READER_H */
