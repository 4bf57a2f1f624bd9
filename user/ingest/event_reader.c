// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* event_reader.c - ring buffer records to their handlers. */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

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

static int on_record(void *ctx, void *data, size_t size)
{
	struct event_reader *r = ctx;

	if (r->recorder)
		event_recorder_write(r->recorder, data, size);
	event_reader_handle(r, data, size);
	return 0; /* never stop consuming because of one bad record */
}

/*
 * A BPF ring buffer map's first page holds the consumer position, the second
 * the producer position (kernel/bpf/ringbuf.c, struct bpf_ringbuf); both map
 * read-only. libbpf 1.1 has no ring__avail_data_size(), so read them here. Not
 * mapped (a fake fd in tests, an old kernel): the gauge stays 0.
 */
static void map_positions(struct event_reader *r, int ringbuf_fd)
{
	long page = sysconf(_SC_PAGESIZE);
	struct bpf_map_info info = {0};
	__u32 info_len = sizeof(info);

	if (bpf_obj_get_info_by_fd(ringbuf_fd, &info, &info_len) || !info.max_entries)
		return;
	void *p = mmap(NULL, 2 * (size_t)page, PROT_READ, MAP_SHARED, ringbuf_fd, 0);
	if (p == MAP_FAILED)
		return;
	r->ring_bytes = info.max_entries;
	r->consumer_pos = p;
	r->producer_pos = (const volatile uint64_t *)((const char *)p + page);
	r->positions_len = 2 * (size_t)page;
}

int event_reader_open(struct event_reader *r, int ringbuf_fd, uint64_t wakeup_bytes,
		      const struct event_handlers *handlers, struct agent_stats *stats)
{
	r->handlers = *handlers;
	r->stats = stats;
	r->wakeup_bytes = wakeup_bytes;
	r->drained_ns = clock_mono_ns();
	r->rb = ring_buffer__new(ringbuf_fd, on_record, r, NULL);
	if (!r->rb) {
		int err = -errno;
		log_warn("opening the ring buffer failed: %s", strerror(-err));
		return err;
	}
	map_positions(r, ringbuf_fd);
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
 * ring_buffer__poll() is epoll_wait() and then a consume of the rings epoll
 * reported: done here by hand, to see how full the ring is before draining
 * it. The kernel wakes us only once much data waits (batched wake-ups), so
 * the ring is read after every wait, a timeout included.
 */
int event_reader_poll(struct event_reader *r, int timeout_ms)
{
	struct epoll_event ev;
	int wait_ms = r->wait_ms > 0 && r->wait_ms < timeout_ms ? r->wait_ms : timeout_ms;
	int woken = epoll_wait(ring_buffer__epoll_fd(r->rb), &ev, 1, wait_ms);

	if (woken < 0)
		return -errno;
	if (r->consumer_pos) {
		uint64_t now = clock_mono_ns();
		uint64_t waiting = __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE) -
				   __atomic_load_n(r->consumer_pos, __ATOMIC_RELAXED);
		if (waiting > STAT_GET(r->stats, ringbuf_waiting_bytes_max))
			STAT_SET(r->stats, ringbuf_waiting_bytes_max, waiting);
		if (!woken && r->wakeup_bytes && waiting >= r->wakeup_bytes)
			STAT_INC(r->stats, ringbuf_wakeups_missed);
		r->wait_ms = event_reader_wait_bound_ms(r->ring_bytes, waiting, now - r->drained_ns,
							timeout_ms);
	}
	int n = ring_buffer__consume(r->rb);
	r->drained_ns = clock_mono_ns();
	return n;
}

int event_reader_drain(struct event_reader *r)
{
	return ring_buffer__consume(r->rb);
}

void event_reader_close(struct event_reader *r)
{
	ring_buffer__free(r->rb);
	r->rb = NULL;
	if (r->consumer_pos)
		munmap((void *)r->consumer_pos, r->positions_len);
	r->consumer_pos = r->producer_pos = NULL;
}
