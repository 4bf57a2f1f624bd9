// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* event_reader.c - ring buffer records to their handlers. */
#include <errno.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "ingest/event_reader.h"
#include "lib/log.h"

int event_reader_handle(struct event_reader *r, const void *data, size_t size)
{
	const struct kspan_event_header *hdr = data;

	STAT_INC(r->stats, events_received);
	if (size < sizeof(*hdr))
		goto malformed;
	switch (hdr->type) {
	case KSPAN_EVENT_DATA: {
		const struct kspan_data_event *ev = data;
		if (size < sizeof(*ev) || ev->captured_len > KSPAN_CAPTURE_MAX ||
		    ev->captured_len > ev->bytes_total || size < sizeof(*ev) + ev->captured_len)
			goto malformed;
		r->handlers.on_data(r->handlers.ctx, ev);
		return 0;
	}
	case KSPAN_EVENT_H2_STREAM_CTX:
		if (size < sizeof(struct kspan_h2_stream_event))
			goto malformed;
		r->handlers.on_h2_stream_ctx(r->handlers.ctx, data);
		return 0;
	case KSPAN_EVENT_CONN_CLOSE:
		if (size < sizeof(struct kspan_conn_event))
			goto malformed;
		r->handlers.on_conn_close(r->handlers.ctx, data);
		return 0;
	case KSPAN_EVENT_PROC_INFO:
		if (size < sizeof(struct kspan_proc_event))
			goto malformed;
		r->handlers.on_proc_info(r->handlers.ctx, data);
		return 0;
	case KSPAN_EVENT_PROC_EXIT:
		if (size < sizeof(struct kspan_proc_exit_event))
			goto malformed;
		r->handlers.on_proc_exit(r->handlers.ctx, hdr->tgid, hdr->ts_ns);
		return 0;
	case KSPAN_EVENT_PROC_EXEC:
		if (size < sizeof(struct kspan_proc_exit_event))
			goto malformed;
		if (r->handlers.on_proc_exec)
			r->handlers.on_proc_exec(r->handlers.ctx, hdr->tgid, hdr->ts_ns);
		return 0;
	}
malformed:
	STAT_INC(r->stats, events_malformed);
	log_debug("dropped a malformed ring-buffer record (%zu bytes)", size);
	return -EINVAL;
}

static int on_record(void *ctx, void *data, size_t size)
{
	event_reader_handle(ctx, data, size);
	return 0; /* never stop consuming because of one bad record */
}

int event_reader_open(struct event_reader *r, int ringbuf_fd, const struct event_handlers *handlers,
		      struct agent_stats *stats)
{
	r->handlers = *handlers;
	r->stats = stats;
	r->rb = ring_buffer__new(ringbuf_fd, on_record, r, NULL);
	if (!r->rb) {
		int err = -errno;
		log_warn("opening the ring buffer failed: %s", strerror(-err));
		return err;
	}
	return 0;
}

int event_reader_poll(struct event_reader *r, int timeout_ms)
{
	int n = ring_buffer__poll(r->rb, timeout_ms);
	int m;

	if (n < 0)
		return n;
	/* The kernel wakes us only once much data waits (batched wake-ups),
	 * and ring_buffer__poll() reads only rings epoll reported: read what
	 * arrived without a wake-up too, at least once per timeout. */
	m = ring_buffer__consume(r->rb);
	return m < 0 ? m : n + m;
}

int event_reader_drain(struct event_reader *r)
{
	return ring_buffer__consume(r->rb);
}

void event_reader_close(struct event_reader *r)
{
	ring_buffer__free(r->rb);
	r->rb = NULL;
}
