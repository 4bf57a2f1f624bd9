// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* export_spool.c - unsent batches in files, one per batch. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "export/otlp/export_spool.h"
#include "lib/log.h"

#define SPOOL_MAGIC  "kspan-otlp-batch/1"
#define SPOOL_SUFFIX ".batch"
/* A header line is far shorter than this. */
#define HEADER_MAX 128

static char *batch_path(const struct export_spool *s, uint64_t id, const char *suffix)
{
	char *p;
	/* Fixed-width ids sort by name in the order they were written. */
	if (asprintf(&p, "%s/%020" PRIu64 "%s", s->dir, id, suffix) < 0)
		return NULL;
	return p;
}

static off_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : 0;
}

/* --- the index of files, sorted by id ------------------------------------------------------- */

static struct spool_file *index_find(struct export_spool *s, uint64_t id)
{
	size_t lo = 0, hi = s->n_files;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->files[mid].id == id)
			return &s->files[mid];
		if (s->files[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int index_reserve(struct export_spool *s)
{
	if (s->n_files < s->cap_files)
		return 0;
	size_t cap = s->cap_files ? s->cap_files * 2 : 64;
	struct spool_file *grown = realloc(s->files, cap * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	s->files = grown;
	s->cap_files = cap;
	return 0;
}

/* Ids only grow while kspan runs: appending keeps the order (open sorts). */
static int index_append(struct export_spool *s, const struct spool_file *f)
{
	int err = index_reserve(s);
	if (err)
		return err;
	s->files[s->n_files++] = *f;
	s->bytes += f->size;
	if (!f->in_memory)
		s->waiting_spans += f->n_spans;
	return 0;
}

static void index_erase(struct export_spool *s, struct spool_file *f)
{
	size_t i = (size_t)(f - s->files);
	s->bytes -= f->size < s->bytes ? f->size : s->bytes;
	if (!f->in_memory)
		s->waiting_spans -= f->n_spans;
	memmove(f, f + 1, (s->n_files - i - 1) * sizeof(*f));
	s->n_files--;
}

static int compare_ids(const void *a, const void *b)
{
	uint64_t x = ((const struct spool_file *)a)->id, y = ((const struct spool_file *)b)->id;
	return x < y ? -1 : x > y;
}

/* --- files ------------------------------------------------------------------------------------ */

/* Reads a file's header line; its length, or -1 when it is not a batch file.
 * *format_ok says whether the body is of `format`. */
static long read_header(FILE *f, uint32_t format, uint32_t *n_spans, size_t *len, bool *format_ok)
{
	char magic[32];
	unsigned fmt = 0, spans = 0;
	*n_spans = 0;
	if (fscanf(f, "%31s format=%u spans=%u bytes=%zu", magic, &fmt, &spans, len) != 4 ||
	    fgetc(f) != '\n' || strcmp(magic, SPOOL_MAGIC) != 0)
		return -1;
	*n_spans = spans;
	*format_ok = fmt == format && *len < (1u << 30);
	return ftell(f);
}

/* One file into a batch; NULL when it is not a whole batch of this format. */
static struct export_batch *read_batch(const char *path, uint32_t format, uint32_t *n_spans)
{
	FILE *f = fopen(path, "rb");
	struct export_batch *b = NULL;
	size_t len = 0;
	bool format_ok = false;

	*n_spans = 0;
	if (!f)
		return NULL;
	if (read_header(f, format, n_spans, &len, &format_ok) >= 0 && format_ok) {
		uint8_t *body = malloc(len ? len : 1);
		if (body && fread(body, 1, len, f) == len && fgetc(f) == EOF)
			b = export_batch_new(body, len, *n_spans);
		if (!b)
			free(body);
	}
	fclose(f);
	return b;
}

static bool has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), k = strlen(suffix);
	return n > k && strcmp(name + n - k, suffix) == 0;
}

/* Adds one file of the directory to the index, or removes it (counted) when
 * it cannot be sent. */
static void index_file(struct export_spool *s, const char *name, uint64_t *discarded_spans)
{
	char *path;
	if (asprintf(&path, "%s/%s", s->dir, name) < 0)
		return;
	FILE *f = fopen(path, "rb");
	uint32_t spans = 0;
	size_t len = 0;
	bool format_ok = false;
	long hlen = f ? read_header(f, s->format, &spans, &len, &format_ok) : -1;
	if (f)
		fclose(f);
	uint64_t size = (uint64_t)file_size(path);
	if (hlen >= 0 && format_ok && size == (uint64_t)hlen + len) {
		struct spool_file entry = {.id = strtoull(name, NULL, 10),
					   .size = size,
					   .n_spans = spans,
					   .earlier_run = true};
		if (index_append(s, &entry) == 0) {
			free(path);
			return;
		}
	}
	log_warn("spool: %s is not a batch of this protocol and compression; removed (%u spans)",
		 path, spans);
	*discarded_spans += spans;
	unlink(path);
	free(path);
}

/*
 * The directory kspan will read batches from and send to the collector: it
 * must be kspan's own. A symbolic link could point kspan's writes (as root)
 * anywhere; a directory another user owns or can write to lets that user plant
 * batches that kspan sends with its credentials, or read what it spools.
 * Opened without following links; returns the descriptor or -errno (logged).
 */
static int open_own_directory(const char *dir)
{
	struct stat st, opened;
	int fd;

	if (lstat(dir, &st)) {
		int err = -errno;
		log_warn("--spool-dir %s: %s", dir, strerror(errno));
		return err;
	}
	if (S_ISLNK(st.st_mode)) {
		log_warn("--spool-dir %s: is a symbolic link; give the directory itself", dir);
		return -ELOOP;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_warn("--spool-dir %s: not a directory", dir);
		return -ENOTDIR;
	}
	if (st.st_uid != geteuid()) {
		log_warn(
		    "--spool-dir %s: owned by uid %u, not by kspan's uid %u: chown it, or give a "
		    "directory of kspan's own",
		    dir, (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		log_warn("--spool-dir %s: writable by group or others (mode %04o): chmod go-w it",
			 dir, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int err = -errno;
		log_warn("--spool-dir %s: cannot open it: %s", dir, strerror(errno));
		return err;
	}
	/* The one checked above, not one swapped in since. */
	if (fstat(fd, &opened) || opened.st_dev != st.st_dev || opened.st_ino != st.st_ino) {
		log_warn("--spool-dir %s: replaced while kspan opened it", dir);
		close(fd);
		return -EAGAIN;
	}
	return fd;
}

/*
 * One kspan per spool directory: two would send each other's batches and
 * remove each other's files. The lock is on the directory itself (flock works
 * on a directory's descriptor), so the directory holds batches only and no
 * lock file can be removed under a running kspan; the kernel drops it when
 * kspan exits, however it exits.
 */
static int lock_directory(int fd, const char *dir)
{
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK) {
		log_warn("--spool-dir %s: in use by another kspan; give each kspan its own "
			 "directory",
			 dir);
		return -EBUSY;
	}
	/* A file system without locks (some network ones): not worth refusing
	 * the spool for, but the user should know. */
	log_warn("--spool-dir %s: cannot be locked (%s): make sure no other kspan uses it", dir,
		 strerror(errno));
	return 0;
}

int export_spool_open(struct export_spool *s, const char *dir, uint64_t max_bytes, uint32_t format,
		      uint64_t *discarded_spans)
{
	int err;

	memset(s, 0, sizeof(*s));
	s->dir_fd = -1;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		err = -errno;
		log_warn("--spool-dir %s: cannot create it: %s", dir, strerror(errno));
		return err;
	}
	s->dir_fd = open_own_directory(dir);
	if (s->dir_fd < 0) {
		err = s->dir_fd;
		s->dir_fd = -1;
		return err;
	}
	err = lock_directory(s->dir_fd, dir);
	if (!err && access(dir, W_OK | X_OK)) {
		err = -errno;
		log_warn("--spool-dir %s: not writable: %s", dir, strerror(errno));
	}
	if (!err && !(s->dir = strdup(dir)))
		err = -ENOMEM;
	if (err) {
		close(s->dir_fd);
		s->dir_fd = -1;
		return err;
	}
	s->max_bytes = max_bytes;
	s->format = format;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (has_suffix(e->d_name, SPOOL_SUFFIX))
			index_file(s, e->d_name, discarded_spans);
		else if (has_suffix(e->d_name, ".tmp")) /* a write cut short by a crash */
			unlinkat(dirfd(d), e->d_name, 0);
	}
	if (d)
		closedir(d);
	if (s->n_files)
		qsort(s->files, s->n_files, sizeof(*s->files), compare_ids);
	/* Ids continue after the ones on disk: the wall clock in ns is larger,
	 * unless the clock went back. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	s->next_id = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (s->n_files && s->files[s->n_files - 1].id >= s->next_id)
		s->next_id = s->files[s->n_files - 1].id + 1;
	return 0;
}

void export_spool_close(struct export_spool *s)
{
	if (s->dir_fd >= 0)
		close(s->dir_fd); /* and with it the lock */
	free(s->dir);
	free(s->files);
	memset(s, 0, sizeof(*s));
	s->dir_fd = -1;
}

struct export_batch *export_spool_take(struct export_spool *s, size_t max_spans, size_t max_bytes,
				       uint64_t *earlier_run_spans, uint64_t *discarded_spans)
{
	struct export_batch *head = NULL, **tail = &head;
	size_t spans = 0, bytes = 0;

	for (size_t i = 0; i < s->n_files;) {
		struct spool_file *f = &s->files[i];
		if (f->in_memory) {
			i++;
			continue;
		}
		if (head && (spans + f->n_spans > max_spans || bytes + f->size > max_bytes))
			break;
		char *path = batch_path(s, f->id, SPOOL_SUFFIX);
		uint32_t n = 0;
		struct export_batch *b = path ? read_batch(path, s->format, &n) : NULL;
		if (!b) {
			if (!path)
				break; /* out of memory: try again later */
			log_warn("spool: %s could not be read back; removed (%u spans)", path,
				 f->n_spans);
			*discarded_spans += f->n_spans;
			unlink(path);
			free(path);
			index_erase(s, f);
			continue;
		}
		free(path);
		b->spool_id = f->id;
		f->in_memory = true;
		s->waiting_spans -= f->n_spans;
		if (f->earlier_run)
			*earlier_run_spans += f->n_spans;
		f->earlier_run = false;
		spans += b->n_spans;
		bytes += b->len;
		*tail = b;
		tail = &b->next;
		i++;
	}
	return head;
}

/*
 * Durable once this returns 0: the data is fsynced before the rename (a crash
 * leaves the old name or the whole new file, never a short one), the
 * directory after it (the rename itself survives a crash).
 */
static int write_file(struct export_spool *s, uint64_t id, const char *header, size_t hlen,
		      const struct export_batch *b)
{
	char *tmp = batch_path(s, id, ".tmp"), *final = batch_path(s, id, SPOOL_SUFFIX);
	int err = tmp && final ? 0 : -ENOMEM;
	int fd = err ? -1 : open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (!err && fd < 0)
		err = -errno;
	errno = 0;
	if (!err && (write(fd, header, hlen) != (ssize_t)hlen ||
		     write(fd, b->body, b->len) != (ssize_t)b->len || fsync(fd)))
		err = errno ? -errno : -EIO;
	if (fd >= 0)
		close(fd);
	if (!err && rename(tmp, final))
		err = -errno;
	if (!err && fsync(s->dir_fd)) {
		err = -errno;
		unlink(final); /* not indexed: it must not be sent by the next kspan */
	}
	if (err && tmp)
		unlink(tmp);
	free(tmp);
	free(final);
	return err;
}

int export_spool_keep(struct export_spool *s, struct export_batch *b)
{
	struct spool_file *f = b->spool_id ? index_find(s, b->spool_id) : NULL;
	if (f) { /* written before: it only leaves memory */
		f->in_memory = false;
		s->waiting_spans += f->n_spans;
		b->spool_id = 0;
		return 0;
	}
	char header[HEADER_MAX];
	int hlen = snprintf(header, sizeof(header), "%s format=%u spans=%u bytes=%zu\n",
			    SPOOL_MAGIC, s->format, b->n_spans, b->len);
	struct spool_file entry = {
	    .id = s->next_id, .size = (uint64_t)hlen + b->len, .n_spans = b->n_spans};
	if (s->bytes + entry.size > s->max_bytes)
		return -ENOSPC;
	/* Room in the index first: a file on disk is always indexed. */
	int err = index_reserve(s);
	if (!err)
		err = write_file(s, entry.id, header, (size_t)hlen, b);
	if (err)
		return err;
	s->next_id++;
	b->spool_id = 0;
	return index_append(s, &entry);
}

void export_spool_remove(struct export_spool *s, struct export_batch *b)
{
	if (!b->spool_id || !s->dir)
		return;
	char *path = batch_path(s, b->spool_id, SPOOL_SUFFIX);
	struct spool_file *f = index_find(s, b->spool_id);
	if (path)
		unlink(path);
	if (f)
		index_erase(s, f);
	free(path);
	b->spool_id = 0;
}
