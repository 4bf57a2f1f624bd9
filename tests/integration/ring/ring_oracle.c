// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ring_oracle.c - kspan's ring buffer reader (user/ingest/ring_consumer.c)
 * checked against libbpf's ring_buffer__consume(), its oracle, on a real BPF
 * ring buffer (needs root):
 *
 *   ring_oracle RING_WRITER_OBJECT
 *
 * ring_writer.bpf.c writes batches of records of random sizes (1-1024
 * bytes, each with its own bytes) with discarded records among them, enough
 * to wrap the 256 KiB ring many times and to cross the reader's publishing
 * step (RING_PUBLISH_BYTES) within one pass. The batches are read in turn by
 * kspan's reader and by libbpf's: each must hand over exactly the records
 * written, in order, byte for byte, and leave the consumer position at the
 * producer's. Prints one line; exits 0 when all agree.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ingest/ring_consumer.h"

#define PAYLOAD_MAX 1024
#define BATCH_MAX 200
#define ROUNDS 300

struct write_args {
	unsigned int size;
	unsigned int discard;
};

struct record {
	size_t size;
	uint32_t digest;
};

/* What one reader handed over in one pass. */
struct seen {
	struct record rec[BATCH_MAX];
	size_t n, overflow;
};

static uint32_t fnv1a(const void *data, size_t size)
{
	const uint8_t *p = data;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < size; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void note(void *ctx, const void *data, size_t size)
{
	struct seen *s = ctx;

	if (s->n == BATCH_MAX) {
		s->overflow++;
		return;
	}
	s->rec[s->n].size = size;
	s->rec[s->n].digest = fnv1a(data, size);
	s->n++;
}

static int note_libbpf(void *ctx, void *data, size_t size)
{
	note(ctx, data, size);
	return 0;
}

/* Writes one record of `size` bytes (a pattern from seed), or a discarded
 * one; 0 when the program ran and succeeded. */
static int write_one(int prog_fd, int bss_fd, unsigned int size, unsigned int seed, bool discard,
		     uint8_t *payload)
{
	struct write_args args = {.size = size, .discard = discard};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &args, .ctx_size_in = sizeof(args));
	int zero = 0;

	if (!discard) {
		for (unsigned int j = 0; j < PAYLOAD_MAX; j++)
			payload[j] = (uint8_t)(seed * 131u + j * 7u + (j >> 8));
		if (bpf_map_update_elem(bss_fd, &zero, payload, BPF_ANY))
			return -errno;
	}
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	return (int)opts.retval;
}

static int compare(const char *who, int round, const struct seen *got, const struct record *want,
		   size_t n_want)
{
	if (got->overflow || got->n != n_want) {
		printf("ring_oracle: round %d: %s read %zu records, %zu written\n", round, who,
		       got->n + got->overflow, n_want);
		return 1;
	}
	for (size_t i = 0; i < n_want; i++) {
		if (got->rec[i].size != want[i].size || got->rec[i].digest != want[i].digest) {
			printf("ring_oracle: round %d: %s record %zu: %zu bytes (digest %08x), "
			       "want %zu (%08x)\n",
			       round, who, i, got->rec[i].size, got->rec[i].digest, want[i].size,
			       want[i].digest);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static uint8_t payload[PAYLOAD_MAX];
	static struct record want[BATCH_MAX];
	static struct seen got;
	struct ring_consumer mine;
	struct ring_buffer *theirs;
	struct bpf_object *obj;
	struct bpf_map *ring, *bss;
	struct bpf_program *prog;
	size_t records = 0, discarded = 0, bytes = 0;
	int err, prog_fd, bss_fd;

	if (argc != 2) {
		fprintf(stderr, "usage: ring_oracle RING_WRITER_OBJECT\n");
		return 2;
	}
	libbpf_set_print(NULL);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		printf("ring_oracle: loading %s failed: %s\n", argv[1], strerror(errno));
		return 1;
	}
	prog = bpf_object__find_program_by_name(obj, "write_record");
	ring = bpf_object__find_map_by_name(obj, "ring");
	bss = bpf_object__find_map_by_name(obj, ".bss");
	if (!prog || !ring || !bss) {
		printf("ring_oracle: %s lacks write_record, ring or .bss\n", argv[1]);
		return 1;
	}
	prog_fd = bpf_program__fd(prog);
	bss_fd = bpf_map__fd(bss);
	err = ring_consumer_open(&mine, bpf_map__fd(ring), note, &got);
	theirs = ring_buffer__new(bpf_map__fd(ring), note_libbpf, &got, NULL);
	if (err || !theirs) {
		printf("ring_oracle: opening the readers failed: %s\n", strerror(err ? -err : errno));
		return 1;
	}
	srand(13);
	for (int round = 0; round < ROUNDS; round++) {
		bool libbpf_reads = round % 2;
		size_t n = 1 + (size_t)rand() % BATCH_MAX, n_want = 0;
		int read;

		for (size_t i = 0; i < n; i++) {
			bool discard = rand() % 7 == 0;
			unsigned int size = 1 + (unsigned int)rand() % PAYLOAD_MAX;
			unsigned int seed = (unsigned int)rand();

			err = write_one(prog_fd, bss_fd, size, seed, discard, payload);
			if (err) {
				printf("ring_oracle: round %d: writing record %zu failed (%d)\n", round,
				       i, err);
				return 1;
			}
			if (discard) {
				discarded++;
				continue;
			}
			want[n_want].size = size;
			want[n_want].digest = fnv1a(payload, size);
			n_want++;
			bytes += size;
		}
		memset(&got, 0, sizeof(got));
		read = libbpf_reads ? ring_buffer__consume(theirs) : ring_consumer_consume(&mine);
		if (read != (int)n_want) {
			printf("ring_oracle: round %d: %s returned %d, want %zu\n", round,
			       libbpf_reads ? "libbpf" : "kspan", read, n_want);
			return 1;
		}
		if (compare(libbpf_reads ? "libbpf" : "kspan", round, &got, want, n_want))
			return 1;
		if (*mine.consumer_pos != *mine.producer_pos) {
			printf("ring_oracle: round %d: consumer at %llu, producer at %llu\n", round,
			       (unsigned long long)*mine.consumer_pos,
			       (unsigned long long)*mine.producer_pos);
			return 1;
		}
		records += n_want;
	}
	printf("ring_oracle: %zu records (%zu bytes) and %zu discarded over %d rounds: kspan's "
	       "reader and libbpf's agree\n",
	       records, bytes, discarded, ROUNDS);
	ring_buffer__free(theirs);
	ring_consumer_close(&mine);
	bpf_object__close(obj);
	return 0;
}
