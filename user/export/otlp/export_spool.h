/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * export_spool.h - batches the export queue cannot hold, kept on disk
 * (--spool-dir): those pushed out of a full queue while the collector is slow
 * or down, and those still unsent when kspan stops. One file per batch: a
 * header line naming what the body is (protocol and compression: a batch is
 * only ever sent the way it was encoded), then the request body as it would
 * go on the wire. Files are written to a temporary name, fsynced, renamed,
 * and the directory fsynced, so a reader never sees half a batch and a batch
 * kept survives a crash. The directory is bounded in bytes; what does not fit
 * is counted by the caller. It must be kspan's own (owner, mode, not a
 * symbolic link) and is locked for as long as the spool is open: one kspan
 * per directory.
 *
 * Life of a spooled batch: written when it leaves memory unsent; read back
 * (oldest first) into the export queue when the queue has run empty, or by
 * the next kspan; its file kept meanwhile, so a batch pushed out again needs
 * no second write; removed once the batch is finished with (accepted, or
 * dropped and counted). A batch is therefore never sent twice, unless kspan
 * is killed between the collector's answer and the removal.
 *
 * The spool keeps an index of its files: which ones a batch in memory holds,
 * and which wait on disk only. Not thread-safe: the exporter holds its lock.
 */
#ifndef KSPAN_EXPORT_SPOOL_H
#define KSPAN_EXPORT_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "export/otlp/export_queue.h"

struct spool_file {
	uint64_t id;	  /* its name; larger is younger */
	uint64_t size;	  /* bytes on disk */
	uint32_t n_spans; /* spans of its batch */
	bool in_memory;	  /* a batch in memory holds it */
	bool earlier_run; /* written by a previous kspan, not read back yet */
};

struct export_spool {
	char *dir;
	int dir_fd;	 /* open, flock()ed: fsynced after each rename; -1 when closed */
	uint32_t format; /* protocol and compression, opaque here */
	uint64_t max_bytes;
	uint64_t bytes; /* held in the directory */
	uint64_t next_id;
	struct spool_file *files; /* sorted by id */
	size_t n_files, cap_files;
	uint64_t waiting_spans; /* of the files no batch in memory holds */
};

/*
 * Create dir (0700) if needed, check that it is kspan's own (not a symbolic
 * link, owned by kspan's uid, not writable by group or others), lock it
 * (-EBUSY when another kspan holds it) and index the batches in it. Files of
 * another format or unreadable ones are removed; their spans are added to
 * *discarded_spans. 0 or a negative errno (logged in one line).
 */
int export_spool_open(struct export_spool *s, const char *dir, uint64_t max_bytes, uint32_t format,
		      uint64_t *discarded_spans);
void export_spool_close(struct export_spool *s);

/*
 * Read back the oldest batches that wait on disk only, as a list linked by
 * ->next, each with its spool_id set: at least one when any waits, then as
 * many more as fit in max_spans and max_bytes. *earlier_run_spans gets the
 * spans of those a previous kspan wrote; unreadable files are removed and
 * their spans added to *discarded_spans.
 */
struct export_batch *export_spool_take(struct export_spool *s, size_t max_spans, size_t max_bytes,
				       uint64_t *earlier_run_spans, uint64_t *discarded_spans);

/*
 * b leaves memory: write it durably (file and directory fsynced; sets
 * b->spool_id) unless its file exists already. 0, -ENOSPC when the directory
 * is full, or -errno. The caller frees b either way.
 */
int export_spool_keep(struct export_spool *s, struct export_batch *b);

/* The batch is finished with: remove its file (no-op when it has none). */
void export_spool_remove(struct export_spool *s, struct export_batch *b);

#endif /* KSPAN_EXPORT_SPOOL_H */
