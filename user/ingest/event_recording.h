/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * event_recording.h - ring-buffer records saved to a file as the kernel sent
 * them (--record-events FILE), and read back by the replay benchmark
 * (tests/bench/replay.c), which feeds them through the agent's userspace
 * without BPF.
 *
 * File format (native byte order: a recording is replayed on the machine
 * kind that made it):
 *   header, 16 bytes: "KSPANREC" | u32 format version (1) | u32 ABI id
 *   records: u32 size | u32 zero | size bytes | zero padding to 8 bytes
 * The ABI id is a checksum of include/kspan_abi.h taken at build time
 * (KSPAN_ABI_ID, from the Makefile): a recording is only replayed by a build
 * whose records have the same layout. A file cut short (kspan killed) ends at
 * its last whole record.
 */
#ifndef KSPAN_EVENT_RECORDING_H
#define KSPAN_EVENT_RECORDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define EVENT_RECORDING_MAGIC	"KSPANREC"
#define EVENT_RECORDING_VERSION 1u
#define EVENT_RECORDING_HEADER	16u
/* A recording stops growing here (a line says so): it is a benchmark's
 * input, not a capture to leave running. */
#define EVENT_RECORDING_MAX_BYTES (1ull << 30)

/* The ABI id this build writes and accepts. */
uint32_t event_recording_abi_id(void);

struct event_recorder {
	FILE *file;
	const char *path;
	uint64_t bytes;	  /* written so far, header included */
	uint64_t records; /* written so far */
	bool full;	  /* EVENT_RECORDING_MAX_BYTES reached */
};

/* Creates (truncates) path and writes the header. 0 or a negative errno. */
int event_recorder_open(struct event_recorder *r, const char *path);
/* Appends one record; a write error or a full file stops the recording
 * (one line says so), never the agent. */
void event_recorder_write(struct event_recorder *r, const void *data, size_t size);
/* Flushes and closes; 0 or a negative errno. */
int event_recorder_close(struct event_recorder *r);

/* A recording in memory, read record by record. */
struct event_recording {
	const uint8_t *buf;
	size_t len;
	size_t pos;
};

/* Checks the header of buf[0..len): 0, -EBADMSG (not a recording, or another
 * format version) or -EPROTO (made by a build with another ABI). */
int event_recording_open(struct event_recording *rec, const uint8_t *buf, size_t len);
/* The next record: 1 with *data and *size set, 0 at the end (a record cut
 * short at the end of the file counts as the end). */
int event_recording_next(struct event_recording *rec, const void **data, size_t *size);
/* Reads a whole file into a malloc'ed buffer: 0 or a negative errno. */
int event_recording_load(const char *path, uint8_t **buf, size_t *len);

#endif /* KSPAN_EVENT_RECORDING_H */
