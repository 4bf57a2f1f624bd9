// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tls_libraries.c - finding TLS library files in processes' maps and
 * attaching the OpenSSL uprobes to each once. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "lib/log.h"
#include "lib/proc_pids.h"
#include "loader/node_attach.h"
#include "loader/tls_libraries.h"

/* How long after exec() a process is scanned again: its dynamic loader maps
 * the libraries within milliseconds; a dlopen()ed libssl may come later. */
#define TLS_EXEC_WATCH_NS (2000ull * 1000000)

void tls_libraries_init(struct tls_libraries *t, struct kspan_bpf *skel, bool guarded,
			const char *proc_root, struct agent_stats *stats)
{
	memset(t, 0, sizeof(*t));
	t->skel = skel;
	t->guarded = guarded;
	t->proc_root = proc_root;
	t->stats = stats;
}

void tls_libraries_only_pids(struct tls_libraries *t, const uint32_t *pids, size_t count)
{
	t->only_pids = count ? pids : NULL;
	t->only_pid_count = count;
}

/* Is pid one of the processes probed? */
static bool probed_pid(const struct tls_libraries *t, uint32_t pid)
{
	if (!t->only_pids)
		return true;
	for (size_t i = 0; i < t->only_pid_count; i++)
		if (t->only_pids[i] == pid)
			return true;
	return false;
}

bool tls_library_is_libssl(const char *name)
{
	/* libssl.so.3, libssl.so.1.1, libssl.so (a development link) */
	return strncmp(name, "libssl.so", 9) == 0 && (name[9] == 0 || name[9] == '.');
}

bool tls_maps_line_parse(const char *line, uint64_t *dev, uint64_t *ino, const char **path)
{
	unsigned int major, minor;
	unsigned long long inode;
	int off = 0;

	/* address perms offset dev inode path (proc(5)) */
	if (sscanf(line, "%*s %*s %*s %x:%x %llu %n", &major, &minor, &inode, &off) != 3 ||
	    off == 0 || inode == 0 || line[off] != '/')
		return false;
	*dev = ((uint64_t)major << 32) | minor;
	*ino = inode;
	*path = line + off;
	return true;
}

bool tls_elf_defines_function(const char *path, const char *name)
{
	bool found = false;
	Elf_Scn *scn = NULL;
	Elf *elf;
	int fd;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	while (elf && !found && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB) || !sh.sh_entsize ||
		    !(data = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize && !found; i++) {
			GElf_Sym sym;
			const char *n;

			if (!gelf_getsym(data, (int)i, &sym) ||
			    GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF)
				continue;
			n = elf_strptr(elf, sh.sh_link, sym.st_name);
			found = n && strcmp(n, name) == 0;
		}
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return found;
}

/* One pair's place: "at 0x355a0", "at the entries" or why a trap remains. */
static void pair_describe(uint64_t worker, const char *why, char *out, size_t size)
{
	if (worker)
		snprintf(out, size, "at its worker 0x%" PRIx64, worker);
	else if (why)
		snprintf(out, size, "at its entries, single-stepped: %s", why);
	else
		snprintf(out, size, "at its entries");
}

/* "internal workers at 0x355a0/0x35290", "public functions", or each pair. */
static void tls_placement_describe(const struct tls_openssl_placement *p, char *out, size_t size)
{
	char w[96], r[96];

	if (p->write_worker && p->read_worker) {
		snprintf(out, size, "internal workers at 0x%" PRIx64 "/0x%" PRIx64, p->write_worker,
			 p->read_worker);
		return;
	}
	if (!p->write_worker && !p->read_worker && !p->write_why && !p->read_why) {
		snprintf(out, size, "public functions");
		return;
	}
	pair_describe(p->write_worker, p->write_why, w, sizeof(w));
	pair_describe(p->read_worker, p->read_why, r, sizeof(r));
	snprintf(out, size, "writes %s, reads %s", w, r);
}

/* The file (dev, ino) as probed for pid (0: for every process). */
static struct tls_library *find(struct tls_libraries *t, uint64_t dev, uint64_t ino, uint32_t pid)
{
	for (size_t i = 0; i < t->count; i++)
		if (t->libs[i].dev == dev && t->libs[i].ino == ino && t->libs[i].pid == pid)
			return &t->libs[i];
	return NULL;
}

/* Remembers the file (dev, ino); with probe, attaches to it as pid sees it
 * at path. Recorded even when attaching fails, or when the file is an
 * executable without OpenSSL, so that every file is looked at once. */
static int add(struct tls_libraries *t, uint32_t pid, uint64_t dev, uint64_t ino, const char *path,
	       bool probe)
{
	char where[512], why[256] = "", placement[256];
	struct tls_openssl_placement placed;
	struct tls_library *lib;

	if (t->count == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 8;
		struct tls_library *libs = realloc(t->libs, cap * sizeof(*libs));

		if (!libs)
			return -ENOMEM;
		t->libs = libs;
		t->cap = cap;
	}
	lib = &t->libs[t->count++];
	memset(lib, 0, sizeof(*lib));
	lib->dev = dev;
	lib->ino = ino;
	lib->pid = t->only_pids ? pid : 0;
	snprintf(lib->path, sizeof(lib->path), "%s", path);
	if (!probe)
		return 0;
	/* Through the process's root: a container's file, as it sees it. */
	snprintf(where, sizeof(where), "%s/%u/root%s", t->proc_root, pid, path);
	lib->probed =
	    tls_programs_attach_openssl(t->skel, t->guarded, where, lib->pid ? (int)lib->pid : -1,
					lib->links, &placed, why, sizeof(why));
	if (lib->probed <= 0) {
		lib->probed = 0;
		log_warn("TLS: %s (pid %u) not probed: %s", path, pid, why);
		return 0;
	}
	tls_placement_describe(&placed, placement, sizeof(placement));
	log_info("TLS: OpenSSL probed in %s (pid %u's view, %s%s)", path, pid, placement,
		 lib->pid ? ", for this process only" : "");
	if (t->stats) {
		STAT_INC(t->stats, tls_libraries_probed);
		if (placed.write_why || placed.read_why)
			STAT_INC(t->stats, tls_libraries_single_step);
	}
	t->probed_files++;
	return 1;
}

/* node's read callback probes, when the executable is node (node_attach.h). */
static void add_node(struct tls_libraries *t, struct tls_library *lib, uint32_t pid,
		     const char *where)
{
	char why[256] = "";
	int rc = node_attach_executable(t->skel, where, lib->pid ? (int)lib->pid : -1,
					lib->node_links, why, sizeof(why));

	if (rc < 0)
		log_warn("node: %s (pid %u) not probed: %s", lib->path, pid, why);
	else if (rc > 0)
		log_info("node: read callbacks probed in %s (pid %u's view)", lib->path, pid);
}

/* The executable pid runs, as it sees it ("" when unknown). */
static void exe_path(const struct tls_libraries *t, uint32_t pid, char *out, size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "%s/%u/exe", t->proc_root, pid);
	n = readlink(link, out, size - 1);
	out[n > 0 ? n : 0] = 0;
}

int tls_libraries_scan_pid(struct tls_libraries *t, uint32_t pid)
{
	char file[64], line[1024], exe[256], where[512];
	struct tls_library *lib;
	int added = 0;
	FILE *f;

	if (!probed_pid(t, pid))
		return 0;
	snprintf(file, sizeof(file), "%s/%u/maps", t->proc_root, pid);
	f = fopen(file, "re");
	if (!f)
		return 0; /* gone already, or a kernel thread */
	exe_path(t, pid, exe, sizeof(exe));
	while (fgets(line, sizeof(line), f)) {
		uint64_t dev, ino;
		const char *path, *name;
		size_t n = strlen(line);

		if (n && line[n - 1] == '\n')
			line[n - 1] = 0;
		if (!tls_maps_line_parse(line, &dev, &ino, &path))
			continue;
		name = strrchr(path, '/');
		if (!name || find(t, dev, ino, t->only_pids ? pid : 0) ||
		    strstr(path, " (deleted)"))
			continue; /* known, or replaced on disk: the old file has no path */
		if (tls_library_is_libssl(name + 1)) {
			if (add(t, pid, dev, ino, path, true) > 0)
				added++;
		} else if (strcmp(path, exe) == 0) {
			/* OpenSSL linked into the executable (node): its own
			 * symbol tables name SSL_write. */
			snprintf(where, sizeof(where), "%s/%u/root%s", t->proc_root, pid, path);
			if (add(t, pid, dev, ino, path,
				tls_elf_defines_function(where, "SSL_write")) > 0)
				added++;
			lib = find(t, dev, ino, t->only_pids ? pid : 0);
			if (lib)
				add_node(t, lib, pid, where);
		}
	}
	fclose(f);
	return added;
}

static void scan_one(void *t, uint32_t pid)
{
	tls_libraries_scan_pid(t, pid);
}

void tls_libraries_scan_all(struct tls_libraries *t)
{
	int err;

	if (t->only_pids) {
		for (size_t i = 0; i < t->only_pid_count; i++)
			tls_libraries_scan_pid(t, t->only_pids[i]);
		if (t->probed_files == 0)
			log_info("TLS: no chosen process maps an OpenSSL library yet");
		return;
	}
	err = proc_pids_each(t->proc_root, scan_one, t);
	if (err) {
		log_warn("TLS: reading %s failed (%s): no TLS library is probed", t->proc_root,
			 strerror(-err));
		return;
	}
	if (t->probed_files == 0)
		log_info("TLS: no process maps an OpenSSL library yet");
}

void tls_libraries_on_exec(struct tls_libraries *t, uint32_t pid, uint64_t now)
{
	if (!probed_pid(t, pid))
		return;
	if (t->watching == TLS_EXEC_WATCH_MAX) {
		/* The oldest watch is the likeliest to be done. */
		memmove(&t->watch[0], &t->watch[1], (TLS_EXEC_WATCH_MAX - 1) * sizeof(t->watch[0]));
		t->watching--;
		if (t->stats)
			STAT_INC(t->stats, tls_exec_watch_dropped);
	}
	t->watch[t->watching++] = (struct tls_exec_watch){pid, now + TLS_EXEC_WATCH_NS};
}

void tls_libraries_tick(struct tls_libraries *t, uint64_t now)
{
	size_t kept = 0;

	for (size_t i = 0; i < t->watching; i++) {
		tls_libraries_scan_pid(t, t->watch[i].pid);
		if (t->watch[i].until_mono > now)
			t->watch[kept++] = t->watch[i];
	}
	t->watching = kept;
}

void tls_libraries_detach(struct tls_libraries *t)
{
	for (size_t i = 0; i < t->count; i++) {
		for (int j = 0; j < TLS_OPENSSL_LINKS; j++) {
			bpf_link__destroy(t->libs[i].links[j]);
			t->libs[i].links[j] = NULL;
		}
		for (int j = 0; j < NODE_LINKS; j++) {
			bpf_link__destroy(t->libs[i].node_links[j]);
			t->libs[i].node_links[j] = NULL;
		}
	}
}

void tls_libraries_free(struct tls_libraries *t)
{
	tls_libraries_detach(t);
	free(t->libs);
	t->libs = NULL;
	t->count = t->cap = 0;
}
