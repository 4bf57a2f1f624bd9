/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* event_reader.h - the ring buffer's consumer: checks every record against
 * the ABI and hands it to the module that owns its concern. */
#ifndef KSPAN_EVENT_READER_H
#define KSPAN_EVENT_READER_H

#include "model/agent_stats.h"
#include "assembly/http1_assembler.h"
#include "assembly/http2_assembler.h"
#include "ingest/process_table.h"

struct ring_buffer;

struct event_reader {
	struct ring_buffer *rb;
	struct span_assembler *assembler; /* HTTP/1.x */
	struct http2_assembler *h2;	  /* HTTP/2; optional */
	struct process_table *procs;
	struct agent_stats *stats;
};

int event_reader_open(struct event_reader *r, int ringbuf_fd, struct span_assembler *assembler,
		      struct process_table *procs, struct agent_stats *stats);
/* Waits up to timeout_ms for records and handles them; returns how many, or
 * a negative errno (-EINTR on a signal). */
int event_reader_poll(struct event_reader *r, int timeout_ms);
/* Handles everything already in the ring without waiting. */
int event_reader_drain(struct event_reader *r);
void event_reader_close(struct event_reader *r);

/* One record; exposed for tests. Returns 0, or -EINVAL for a malformed
 * record (counted in events_malformed). */
int event_reader_handle(struct event_reader *r, const void *data, size_t size);

#endif /* KSPAN_EVENT_READER_H */
