// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* event_reader.c - ring buffer records to their handlers. */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include "ingest/event_reader.h"
#include "lib/clock.h"
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

static void on_record(void *ctx, const void *data, size_t size)
{
	struct event_reader *r = ctx;

	if (r->recorder)
		event_recorder_write(r->recorder, data, size);
	event_reader_handle(r, data, size); /* a bad record never stops the reader */
}

int event_reader_open(struct event_reader *r, int ringbuf_fd, uint64_t wakeup_bytes,
		      const struct event_handlers *handlers, struct agent_stats *stats)
{
	int err;

	r->handlers = *handlers;
	r->stats = stats;
	r->wakeup_bytes = wakeup_bytes;
	r->drained_ns = clock_mono_ns();
	err = ring_consumer_open(&r->ring, ringbuf_fd, on_record, r);
	if (err) {
		log_warn("opening the ring buffer failed: %s", strerror(-err));
		return err;
	}
	r->open = true;
	r->ring_bytes = r->ring.data_len;
	return 0;
}

/*
 * The kernel's wake-up can fail to come: the record that brings the waiting
 * data to wakeup_bytes wakes the reader (bpf/base/counters.bpf.h), but each
 * producer reads the fill level before it writes, so when two CPUs write at
 * once both can see the level below the threshold and neither the crossing.
 * Nothing wakes the reader until its timeout then: with both ends of
 * loopback traffic traced (two CPUs producing ~130 MB/s), a 100 ms timeout
 * left an 8 MiB ring full for most of it (issue 13, target 4). So the next
 * wait is bounded by the time the ring would take, at the rate records
 * arrived since the last drain, to fill a quarter of it: a missed wake-up
 * then costs a late read, not records. Idle, it is timeout_ms.
 */
#define FILL_SHARE_BEFORE_READ 4

int event_reader_wait_bound_ms(uint64_t ring_bytes, uint64_t waiting, uint64_t since_ns,
			       int timeout_ms)
{
	if (!waiting || !since_ns || !ring_bytes)
		return timeout_ms;
	/* ns until the ring holds ring_bytes / FILL_SHARE_BEFORE_READ at this
	 * rate; in 128-bit: a ring of 1 GiB times an hour of ns is past 2^64 */
	unsigned __int128 ns =
	    (unsigned __int128)(ring_bytes / FILL_SHARE_BEFORE_READ) * since_ns / waiting;
	unsigned __int128 ms = ns / 1000000;
	if (ms < 1)
		return 1;
	return ms < (unsigned __int128)timeout_ms ? (int)ms : timeout_ms;
}

/*
 * epoll_wait() on the ring, then a look at how full it is before draining
 * it. The kernel wakes us only once much data waits (batched wake-ups), so
 * the ring is read after every wait, a timeout included.
 */
int event_reader_poll(struct event_reader *r, int timeout_ms)
{
	struct epoll_event ev;
	int wait_ms = r->wait_ms > 0 && r->wait_ms < timeout_ms ? r->wait_ms : timeout_ms;
	int woken = epoll_wait(r->ring.epoll_fd, &ev, 1, wait_ms);
	uint64_t now = clock_mono_ns(), waiting;
	int n;

	if (woken < 0)
		return -errno;
	waiting = __atomic_load_n(r->ring.producer_pos, __ATOMIC_ACQUIRE) -
		  __atomic_load_n(r->ring.consumer_pos, __ATOMIC_RELAXED);
	if (waiting > STAT_GET(r->stats, ringbuf_waiting_bytes_max))
		STAT_SET(r->stats, ringbuf_waiting_bytes_max, waiting);
	if (!woken && r->wakeup_bytes && waiting >= r->wakeup_bytes)
		STAT_INC(r->stats, ringbuf_wakeups_missed);
	r->wait_ms =
	    event_reader_wait_bound_ms(r->ring_bytes, waiting, now - r->drained_ns, timeout_ms);
	n = ring_consumer_consume(&r->ring);
	r->drained_ns = clock_mono_ns();
	return n;
}

int event_reader_drain(struct event_reader *r)
{
	return r->open ? ring_consumer_consume(&r->ring) : 0;
}

void event_reader_close(struct event_reader *r)
{
	if (r->open)
		ring_consumer_close(&r->ring);
	r->open = false;
}
