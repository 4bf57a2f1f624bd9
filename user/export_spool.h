/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * export_spool.h - batches that could not be sent, kept on disk across agent
 * restarts (--spool-dir). One file per batch: a header line naming what the
 * body is (protocol and compression: a batch is only ever sent the way it was
 * encoded), then the request body as it would go on the wire. Files are
 * written to a temporary name, synced and renamed, so a reader never sees half
 * a batch. The directory is bounded in bytes; what does not fit is counted.
 *
 * Life of a spooled batch: written when kspan stops before sending it; loaded
 * (oldest first) into the export queue by the next kspan, its file kept; the
 * file is removed once the batch is finished with (accepted, or dropped and
 * counted). A batch is therefore never sent twice, unless kspan is killed
 * between the collector's answer and the removal.
 */
#ifndef KSPAN_EXPORT_SPOOL_H
#define KSPAN_EXPORT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "export_queue.h"

struct export_spool {
	char *dir;
	uint64_t max_bytes;
	uint64_t bytes; /* held in the directory */
	uint64_t next_id;
};

/* Create dir (0700) if needed. 0 or a negative errno (logged). */
int export_spool_open(struct export_spool *s, const char *dir, uint64_t max_bytes);
void export_spool_close(struct export_spool *s);

/*
 * Every batch in the directory written with this `format` (protocol and
 * compression, opaque here), oldest first, as a list linked by ->next, each
 * with its spool_id set. Files of another format or unreadable ones are
 * removed; their spans are added to *discarded_spans.
 */
struct export_batch *export_spool_load(struct export_spool *s, uint32_t format,
				       uint64_t *discarded_spans);

/* Write b (sets b->spool_id). 0, -ENOSPC when the directory is full, or -errno. */
int export_spool_write(struct export_spool *s, uint32_t format, struct export_batch *b);

/* The batch is finished with: remove its file (no-op when it has none). */
void export_spool_remove(struct export_spool *s, struct export_batch *b);

#endif /* KSPAN_EXPORT_SPOOL_H */
