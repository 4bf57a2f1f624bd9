// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ring_writer.bpf.c - writes records into a BPF ring buffer on demand, for
 * ring_oracle.c: run with BPF_PROG_TEST_RUN, it sends the first `size` bytes
 * of `payload` (set by the caller) as one record, or with `discard` reserves
 * a record and throws it away (a record the reader must skip).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define PAYLOAD_MAX 1024
#define DISCARDED_SIZE 40

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} ring SEC(".maps");

unsigned char payload[PAYLOAD_MAX];

struct write_args {
	unsigned int size;
	unsigned int discard;
};

SEC("syscall")
int write_record(struct write_args *a)
{
	unsigned int size = a->size;
	void *r;

	if (a->discard) {
		r = bpf_ringbuf_reserve(&ring, DISCARDED_SIZE, 0);
		if (!r)
			return 1;
		bpf_ringbuf_discard(r, 0);
		return 0;
	}
	if (size == 0 || size > PAYLOAD_MAX)
		return 2;
	return bpf_ringbuf_output(&ring, payload, size, 0) ? 1 : 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
