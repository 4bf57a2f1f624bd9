// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* export_spool.c - unsent batches in files, one per batch. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "export_spool.h"
#include "log.h"

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

int export_spool_open(struct export_spool *s, const char *dir, uint64_t max_bytes)
{
	memset(s, 0, sizeof(*s));
	if (mkdir(dir, 0700) && errno != EEXIST) {
		int err = -errno;
		log_warn("--spool-dir %s: cannot create it: %s", dir, strerror(errno));
		return err;
	}
	if (access(dir, W_OK | X_OK)) {
		int err = -errno;
		log_warn("--spool-dir %s: not writable: %s", dir, strerror(errno));
		return err;
	}
	s->dir = strdup(dir);
	if (!s->dir)
		return -ENOMEM;
	s->max_bytes = max_bytes;
	/* Ids continue after the ones on disk: the wall clock in ns is larger. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	s->next_id = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return 0;
}

void export_spool_close(struct export_spool *s)
{
	free(s->dir);
	memset(s, 0, sizeof(*s));
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One file into a batch; NULL when it is not a batch of this format. */
static struct export_batch *read_batch(const char *path, uint32_t format, uint32_t *n_spans)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char magic[32];
	unsigned fmt = 0, spans = 0;
	size_t len = 0;
	struct export_batch *b = NULL;
	*n_spans = 0;
	if (fscanf(f, "%31s format=%u spans=%u bytes=%zu", magic, &fmt, &spans, &len) == 4 &&
	    fgetc(f) == '\n' && strcmp(magic, SPOOL_MAGIC) == 0) {
		*n_spans = spans;
		uint8_t *body = fmt == format && len < (1u << 30) ? malloc(len ? len : 1) : NULL;
		if (body && fread(body, 1, len, f) == len && fgetc(f) == EOF)
			b = export_batch_new(body, len, spans);
		if (!b)
			free(body);
	}
	fclose(f);
	return b;
}

struct export_batch *export_spool_load(struct export_spool *s, uint32_t format,
				       uint64_t *discarded_spans)
{
	DIR *d = opendir(s->dir);
	if (!d)
		return NULL;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len <= strlen(SPOOL_SUFFIX) ||
		    strcmp(e->d_name + len - strlen(SPOOL_SUFFIX), SPOOL_SUFFIX) != 0)
			continue;
		if (n == cap) {
			char **grown = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*names));
			if (!grown)
				break;
			names = grown;
		}
		if (!(names[n] = strdup(e->d_name)))
			break;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), compare_names);
	struct export_batch *head = NULL, **tail = &head;
	for (size_t i = 0; i < n; i++) {
		char *path;
		if (asprintf(&path, "%s/%s", s->dir, names[i]) >= 0) {
			uint32_t spans = 0;
			struct export_batch *b = read_batch(path, format, &spans);
			if (b) {
				b->spool_id = strtoull(names[i], NULL, 10);
				s->bytes += (uint64_t)file_size(path);
				*tail = b;
				tail = &b->next;
			} else {
				log_warn("spool: %s is not a batch of this protocol and "
					 "compression; removed (%u spans)",
					 path, spans);
				*discarded_spans += spans;
				unlink(path);
			}
			free(path);
		}
		free(names[i]);
	}
	free(names);
	return head;
}

int export_spool_write(struct export_spool *s, uint32_t format, struct export_batch *b)
{
	char header[HEADER_MAX];
	int hlen = snprintf(header, sizeof(header), "%s format=%u spans=%u bytes=%zu\n",
			    SPOOL_MAGIC, format, b->n_spans, b->len);
	uint64_t size = (uint64_t)hlen + b->len;
	if (s->bytes + size > s->max_bytes)
		return -ENOSPC;
	uint64_t id = s->next_id++;
	char *tmp = batch_path(s, id, ".tmp"), *final = batch_path(s, id, SPOOL_SUFFIX);
	int err = tmp && final ? 0 : -ENOMEM;
	int fd = err ? -1 : open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (!err && fd < 0)
		err = -errno;
	if (!err && (write(fd, header, (size_t)hlen) != hlen ||
		     write(fd, b->body, b->len) != (ssize_t)b->len || fsync(fd)))
		err = errno ? -errno : -EIO;
	if (fd >= 0)
		close(fd);
	if (!err && rename(tmp, final))
		err = -errno;
	if (err && tmp)
		unlink(tmp);
	free(tmp);
	free(final);
	if (err)
		return err;
	b->spool_id = id;
	s->bytes += size;
	return 0;
}

void export_spool_remove(struct export_spool *s, struct export_batch *b)
{
	if (!b->spool_id || !s->dir)
		return;
	char *path = batch_path(s, b->spool_id, SPOOL_SUFFIX);
	if (path) {
		uint64_t size = (uint64_t)file_size(path);
		if (unlink(path) == 0)
			s->bytes -= size < s->bytes ? size : s->bytes;
		free(path);
	}
	b->spool_id = 0;
}
