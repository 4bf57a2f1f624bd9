// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* ring_consumer.c - a BPF ring buffer's reader that publishes its position in
 * batches (ring_consumer.h says why). The layout is the kernel's
 * (kernel/bpf/ringbuf.c): page 0 the consumer position (the only page user
 * space may write), page 1 the producer position, then the data pages,
 * mapped twice in a row so that a record that wraps reads as one piece. Each
 * record starts with an 8-byte header whose first word is its length with
 * two flags: BUSY while the producer still writes it, DISCARD when it was
 * thrown away. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "ingest/ring_consumer.h"

static uint64_t record_span(uint32_t len)
{
	uint64_t n = (uint64_t)(len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT)) +
		     BPF_RINGBUF_HDR_SZ;

	return (n + 7) & ~(uint64_t)7;
}

int ring_consumer_open(struct ring_consumer *rc, int map_fd, ring_record_fn on_record, void *ctx)
{
	struct bpf_map_info info = {0};
	__u32 info_len = sizeof(info);
	struct epoll_event ev = {.events = EPOLLIN};
	void *p;
	int err;

	memset(rc, 0, sizeof(*rc));
	rc->map_fd = map_fd;
	rc->epoll_fd = -1;
	rc->on_record = on_record;
	rc->ctx = ctx;
	if (bpf_obj_get_info_by_fd(map_fd, &info, &info_len))
		return -errno;
	if (info.type != BPF_MAP_TYPE_RINGBUF || !info.max_entries ||
	    (info.max_entries & (info.max_entries - 1)))
		return -EINVAL;
	rc->page = (size_t)sysconf(_SC_PAGESIZE);
	rc->data_len = info.max_entries;
	rc->mask = (uint64_t)info.max_entries - 1;
	p = mmap(NULL, rc->page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	rc->consumer_pos = p;
	p = mmap(NULL, rc->page + 2 * rc->data_len, PROT_READ, MAP_SHARED, map_fd, (off_t)rc->page);
	if (p == MAP_FAILED) {
		err = -errno;
		ring_consumer_close(rc);
		return err;
	}
	rc->producer_pos = p;
	rc->data = (const uint8_t *)p + rc->page;
	rc->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (rc->epoll_fd < 0 || epoll_ctl(rc->epoll_fd, EPOLL_CTL_ADD, map_fd, &ev)) {
		err = -errno;
		ring_consumer_close(rc);
		return err;
	}
	return 0;
}

int ring_consumer_consume(struct ring_consumer *rc)
{
	uint64_t cons = __atomic_load_n(rc->consumer_pos, __ATOMIC_ACQUIRE), published = cons;
	int n = 0;

	for (;;) {
		uint64_t prod = __atomic_load_n(rc->producer_pos, __ATOMIC_ACQUIRE);
		bool progressed = false;

		while (cons < prod) {
			const uint8_t *hdr = rc->data + (cons & rc->mask);
			uint32_t len = __atomic_load_n((const uint32_t *)hdr, __ATOMIC_ACQUIRE);

			if (len & BPF_RINGBUF_BUSY_BIT)
				goto out; /* still being written: the next pass takes it */
			progressed = true;
			cons += record_span(len);
			if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
				rc->on_record(rc->ctx, hdr + BPF_RINGBUF_HDR_SZ, len);
				if (n < INT32_MAX)
					n++;
			}
			/* The handler is done with the record: its room may
			 * be given back, in batches. */
			if (cons - published >= RING_PUBLISH_BYTES) {
				__atomic_store_n(rc->consumer_pos, cons, __ATOMIC_RELEASE);
				published = cons;
			}
		}
		if (!progressed)
			break;
	}
out:
	if (cons != published)
		__atomic_store_n(rc->consumer_pos, cons, __ATOMIC_RELEASE);
	return n;
}

void ring_consumer_close(struct ring_consumer *rc)
{
	if (rc->epoll_fd >= 0)
		close(rc->epoll_fd);
	if (rc->producer_pos)
		munmap((void *)rc->producer_pos, rc->page + 2 * rc->data_len);
	if (rc->consumer_pos)
		munmap((void *)rc->consumer_pos, rc->page);
	memset(rc, 0, sizeof(*rc));
	rc->epoll_fd = -1;
}
