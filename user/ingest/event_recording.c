// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* event_recording.c - ring-buffer records to a file and back (format in the header). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/event_recording.h"
#include "lib/log.h"

/* The Makefile passes the checksum of include/kspan_abi.h; a build without
 * it (a test compiled by hand) writes and accepts 0 only. */
#ifndef KSPAN_ABI_ID
#define KSPAN_ABI_ID 0u
#endif

/* Records are 8-byte aligned in the file, as in the ring buffer, so that a
 * replay can hand out pointers into the file's buffer as the reader does. */
#define RECORD_ALIGN 8u

uint32_t event_recording_abi_id(void)
{
	return (uint32_t)KSPAN_ABI_ID;
}

static size_t padded(size_t size)
{
	return (size + RECORD_ALIGN - 1) & ~(size_t)(RECORD_ALIGN - 1);
}

int event_recorder_open(struct event_recorder *r, const char *path)
{
	uint8_t header[EVENT_RECORDING_HEADER];
	uint32_t version = EVENT_RECORDING_VERSION, abi = event_recording_abi_id();

	memset(r, 0, sizeof(*r));
	r->path = path;
	r->file = fopen(path, "wbe");
	if (!r->file) {
		int err = -errno;
		log_warn("--record-events: cannot create %s: %s", path, strerror(-err));
		return err;
	}
	/* Records arrive a few hundred bytes at a time: write them in big blocks. */
	setvbuf(r->file, NULL, _IOFBF, 1 << 20);
	memcpy(header, EVENT_RECORDING_MAGIC, 8);
	memcpy(header + 8, &version, 4);
	memcpy(header + 12, &abi, 4);
	if (fwrite(header, sizeof(header), 1, r->file) != 1) {
		int err = errno ? -errno : -EIO;
		log_warn("--record-events: cannot write %s: %s", path, strerror(-err));
		fclose(r->file);
		r->file = NULL;
		return err;
	}
	r->bytes = sizeof(header);
	return 0;
}

static void stop_recording(struct event_recorder *r, const char *why)
{
	log_warn("--record-events: %s stopped after %llu records: %s", r->path,
		 (unsigned long long)r->records, why);
	r->full = true;
}

void event_recorder_write(struct event_recorder *r, const void *data, size_t size)
{
	static const uint8_t zeros[RECORD_ALIGN];
	uint32_t prefix[2] = {(uint32_t)size, 0};
	size_t pad = padded(size) - size;

	if (!r->file || r->full)
		return;
	if (size > UINT32_MAX ||
	    r->bytes + sizeof(prefix) + size + pad > EVENT_RECORDING_MAX_BYTES) {
		stop_recording(r, "the file reached its bound of 1 GiB");
		return;
	}
	if (fwrite(prefix, sizeof(prefix), 1, r->file) != 1 ||
	    (size && fwrite(data, size, 1, r->file) != 1) ||
	    (pad && fwrite(zeros, pad, 1, r->file) != 1)) {
		stop_recording(r, errno ? strerror(errno) : "write error");
		return;
	}
	r->bytes += sizeof(prefix) + size + pad;
	r->records++;
}

int event_recorder_close(struct event_recorder *r)
{
	int err = 0;

	if (!r->file)
		return 0;
	if (fclose(r->file)) {
		err = -errno;
		log_warn("--record-events: writing %s failed: %s", r->path, strerror(-err));
	} else {
		log_info("--record-events: %llu records (%llu bytes) in %s",
			 (unsigned long long)r->records, (unsigned long long)r->bytes, r->path);
	}
	r->file = NULL;
	return err;
}

int event_recording_open(struct event_recording *rec, const uint8_t *buf, size_t len)
{
	uint32_t version, abi;

	memset(rec, 0, sizeof(*rec));
	if (len < EVENT_RECORDING_HEADER || memcmp(buf, EVENT_RECORDING_MAGIC, 8))
		return -EBADMSG;
	memcpy(&version, buf + 8, 4);
	memcpy(&abi, buf + 12, 4);
	if (version != EVENT_RECORDING_VERSION)
		return -EBADMSG;
	if (abi != event_recording_abi_id())
		return -EPROTO;
	rec->buf = buf;
	rec->len = len;
	rec->pos = EVENT_RECORDING_HEADER;
	return 0;
}

int event_recording_next(struct event_recording *rec, const void **data, size_t *size)
{
	uint32_t prefix[2];
	size_t left = rec->len - rec->pos;

	if (left < sizeof(prefix))
		return 0;
	memcpy(prefix, rec->buf + rec->pos, sizeof(prefix));
	if (prefix[0] > left - sizeof(prefix))
		return 0; /* cut short: the recording ends before this record */
	*data = rec->buf + rec->pos + sizeof(prefix);
	*size = prefix[0];
	rec->pos += sizeof(prefix) + padded(prefix[0]);
	if (rec->pos > rec->len)
		rec->pos = rec->len; /* the last record's padding was cut */
	return 1;
}

int event_recording_load(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	uint8_t *data = NULL;
	long size;
	int err = 0;

	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		err = -errno;
		goto out;
	}
	/* malloc aligns to 16: records, 8-aligned in the file, stay aligned. */
	data = malloc(size ? (size_t)size : 1);
	if (!data) {
		err = -ENOMEM;
		goto out;
	}
	if (size && fread(data, (size_t)size, 1, f) != 1) {
		err = -EIO;
		free(data);
		goto out;
	}
	*buf = data;
	*len = (size_t)size;
out:
	fclose(f);
	return err;
}
