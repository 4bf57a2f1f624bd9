// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* go_tls_attach.c - the Go crypto/tls uprobes, one set per executable file. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "go_tls_offsets.h"
#include "lib/log.h"
#include "lib/proc_pids.h"
#include "loader/go_binary.h"
#include "loader/go_tls_attach.h"

#define GO_TLS_PROGRAMS 4

static const char *const program_names[GO_TLS_PROGRAMS] = {
    "kspan_uprobe_go_tls_write", "kspan_uprobe_go_tls_read", "kspan_uprobe_go_tls_read_return",
    "kspan_uprobe_go_tls_handshake"};

/* Program i of the set with preemption disabled, or of the other one. */
static struct bpf_program *program(struct bpf_object *obj, int i, bool guarded)
{
	char name[96];

	snprintf(name, sizeof(name), "%s%s", program_names[i], guarded ? "" : "_preemptible");
	return bpf_object__find_program_by_name(obj, name);
}

static const char *const goroutine_program_names[] = {
    "kspan_uprobe_go_newproc", "kspan_uprobe_go_newproc_return", "kspan_uprobe_go_round_trip",
    "kspan_uprobe_go_request_write"};

void go_tls_programs_select(struct bpf_object *obj, bool guarded)
{
	for (size_t i = 0; i < sizeof(goroutine_program_names) / sizeof(goroutine_program_names[0]);
	     i++) {
		struct bpf_program *p =
		    bpf_object__find_program_by_name(obj, goroutine_program_names[i]);
		if (p)
			bpf_program__set_autoattach(p, false); /* uprobes name a file */
	}
	for (int set = 0; set < 2; set++)
		for (int i = 0; i < GO_TLS_PROGRAMS; i++) {
			struct bpf_program *p = program(obj, i, set == 1);
			if (!p)
				continue;
			bpf_program__set_autoload(p, guarded == (set == 1));
			bpf_program__set_autoattach(p, false); /* uprobes name a file */
		}
}

static struct bpf_program *loaded_program(struct bpf_object *obj, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, name);

	return p && bpf_program__fd(p) >= 0 ? p : NULL;
}

static void goroutine_programs_find(struct go_tls_attacher *a, struct bpf_object *obj)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, "go_processes");

	a->newproc = loaded_program(obj, goroutine_program_names[0]);
	a->newproc_return = loaded_program(obj, goroutine_program_names[1]);
	a->round_trip = loaded_program(obj, goroutine_program_names[2]);
	a->request_write = loaded_program(obj, goroutine_program_names[3]);
	a->go_processes_fd = m ? bpf_map__fd(m) : -1;
	if (!a->newproc || !a->newproc_return || !a->round_trip || !a->request_write ||
	    a->go_processes_fd < 0)
		a->newproc = NULL; /* all or nothing */
}

void go_tls_attacher_init(struct go_tls_attacher *a, struct bpf_object *obj, const char *proc_root,
			  struct agent_stats *stats)
{
	memset(a, 0, sizeof(*a));
	a->stats = stats;
	a->cookies = -1;
	a->go_processes_fd = -1;
	snprintf(a->proc_root, sizeof(a->proc_root), "%s", proc_root);
	if (!obj)
		return;
	goroutine_programs_find(a, obj);
	/* Whichever set go_tls_programs_select had loaded. */
	for (int set = 0; set < 2 && !a->write; set++) {
		struct bpf_program *p[GO_TLS_PROGRAMS];
		bool loaded = true;
		for (int i = 0; i < GO_TLS_PROGRAMS; i++) {
			p[i] = program(obj, i, set == 0);
			loaded = loaded && p[i] && bpf_program__fd(p[i]) >= 0;
		}
		if (loaded) {
			a->write = p[0];
			a->read = p[1];
			a->read_return = p[2];
			a->handshake = p[3];
		}
	}
}

uint64_t go_tls_cookie(const struct go_tls_binary *b)
{
	return GO_TLS_OFFSETS_PACK(b->offsets.tls_conn_data, b->offsets.tcp_conn_netfd,
				   b->offsets.netfd_sysfd);
}

static struct go_tls_file *file_find(struct go_tls_attacher *a, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < a->file_count; i++)
		if (a->files[i].dev == dev && a->files[i].ino == ino)
			return &a->files[i];
	return NULL;
}

static void file_remember(struct go_tls_attacher *a, uint64_t dev, uint64_t ino, uint32_t links,
			  bool goroutines)
{
	struct go_tls_file *f;

	if (a->file_count == GO_TLS_MAX_FILES)
		return;
	if (a->file_count % 64 == 0) {
		f = realloc(a->files, (a->file_count + 64) * sizeof(*f));
		if (!f)
			return;
		a->files = f;
	}
	a->files[a->file_count++] =
	    (struct go_tls_file){.dev = dev, .ino = ino, .links = links, .goroutines = goroutines};
}

/* One uprobe at file offset `offset`; the cookie when the kernel takes
 * one (5.15+), else none: the probes fall back to the default offsets. */
static int attach_one(struct go_tls_attacher *a, struct bpf_program *prog, const char *path,
		      uint64_t offset, uint64_t cookie)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts);
	struct bpf_link *link = NULL;
	int err;

	if (a->cookies != 0) {
		opts.bpf_cookie = cookie;
		link = bpf_program__attach_uprobe_opts(prog, -1, path, offset, &opts);
		if (link)
			a->cookies = 1;
		else if (a->cookies == -1 && (errno == EINVAL || errno == EOPNOTSUPP))
			a->cookies = 0;
	}
	if (!link && a->cookies == 0) {
		if (cookie != GO_TLS_OFFSETS_DEFAULT)
			return -EOPNOTSUPP; /* another layout needs a cookie */
		opts.bpf_cookie = 0;
		link = bpf_program__attach_uprobe_opts(prog, -1, path, offset, &opts);
	}
	if (!link)
		return -errno;
	err = link_list_keep(&a->links, link);
	if (err)
		bpf_link__destroy(link);
	return err;
}

/* Every uprobe of one Go executable: 0 and the count, or a negative errno
 * (what was attached is kept: the file is not tried again). */
static int attach_binary(struct go_tls_attacher *a, const char *path, const struct go_tls_binary *b,
			 uint32_t *attached)
{
	uint64_t cookie = go_tls_cookie(b);
	int err;

	*attached = 0;
	err = attach_one(a, a->write, path, b->write.probe_offset, cookie);
	if (!err) {
		++*attached;
		err = attach_one(a, a->read, path, b->read.probe_offset, cookie);
	}
	for (uint32_t i = 0; !err && i < b->read_return_count; i++) {
		++*attached;
		err = attach_one(a, a->read_return, path, b->read_returns[i], cookie);
	}
	for (uint32_t i = 0; !err && i < b->handshake_count; i++) {
		++*attached;
		err = attach_one(a, a->handshake, path, b->handshakes[i], cookie);
	}
	if (!err)
		++*attached;
	return err;
}

/* The goroutine probes of one Go executable (0 or a negative errno); no
 * cookie: they read no struct offsets. */
static int attach_goroutines(struct go_tls_attacher *a, const char *path,
			     const struct go_goroutine_probes *p, uint32_t *attached)
{
	int err = attach_one(a, a->newproc, path, p->newproc, GO_TLS_OFFSETS_DEFAULT);

	for (uint32_t i = 0; !err && i < p->newproc_return_count; i++) {
		++*attached;
		err = attach_one(a, a->newproc_return, path, p->newproc_returns[i],
				 GO_TLS_OFFSETS_DEFAULT);
	}
	if (!err) {
		++*attached;
		err = attach_one(a, a->round_trip, path, p->round_trip, GO_TLS_OFFSETS_DEFAULT);
	}
	if (!err) {
		++*attached;
		err =
		    attach_one(a, a->request_write, path, p->request_write, GO_TLS_OFFSETS_DEFAULT);
	}
	if (!err)
		++*attached;
	return err;
}

/* Process tgid runs a Go program whose goroutines kspan follows: its
 * threads' requests are not used for parenting (go_parent.bpf.h). */
static void mark_go_process(struct go_tls_attacher *a, uint32_t tgid)
{
	uint8_t one = 1;

	if (a->go_processes_fd < 0 || bpf_map_update_elem(a->go_processes_fd, &tgid, &one, BPF_ANY))
		return;
	/* After the entry: connections that found tgid absent look again. */
	if (a->go_processes_gen)
		__atomic_fetch_add(a->go_processes_gen, 1, __ATOMIC_SEQ_CST);
}

/* Inspects and probes one executable (first sight of its file); returns
 * the uprobes attached. `name` is its path as the process sees it, for the
 * log. */
static uint32_t inspect_and_attach(struct go_tls_attacher *a, uint32_t tgid, const char *exe,
				   const char *name, bool *goroutines)
{
	struct go_tls_binary b;
	uint32_t attached = 0;
	int err = go_binary_inspect(exe, &b);

	if (err == -ENOEXEC || err == -ENOENT)
		return 0; /* not Go, or Go without crypto/tls */
	if (err) {
		STAT_INC(a->stats, go_tls_executables_unsupported);
		log_info("Go crypto/tls not probed in %s (pid %u, %s): %s", name, tgid,
			 b.version_text[0] ? b.version_text : "version unknown",
			 err == -EPROTONOSUPPORT ? "Go before 1.17 or not x86-64"
						 : "its code did not decode");
		return 0;
	}
	if (!b.has_offsets) {
		STAT_INC(a->stats, go_tls_executables_unsupported);
		log_info("Go crypto/tls not probed in %s (pid %u): kspan has no struct offsets for "
			 "%s",
			 name, tgid, b.version_text);
		return 0;
	}
	err = attach_binary(a, exe, &b, &attached);
	if (err) {
		STAT_INC(a->stats, go_tls_attach_failed);
		log_warn("attaching the Go crypto/tls uprobes to %s (pid %u) failed: %s", name,
			 tgid, strerror(-err));
		return attached;
	}
	STAT_INC(a->stats, go_tls_executables_probed);
	log_info("probing Go crypto/tls in %s (pid %u, %s%s, %u uprobes)", name, tgid,
		 b.version_text, b.from_pclntab ? ", stripped: functions from the pclntab" : "",
		 attached);
	if (a->newproc && b.goroutines.present) {
		uint32_t more = 0;
		err = attach_goroutines(a, exe, &b.goroutines, &more);
		attached += more;
		if (err) {
			STAT_INC(a->stats, go_goroutine_attach_failed);
			log_warn("attaching the Go goroutine uprobes to %s (pid %u) failed: %s",
				 name, tgid, strerror(-err));
		} else {
			STAT_INC(a->stats, go_goroutine_executables_probed);
			*goroutines = true;
			log_info("following goroutines in %s (pid %u, %u uprobes)", name, tgid,
				 more);
		}
	}
	return attached;
}

/* The file is inspected and probed through a descriptor of its own
 * (/proc/self/fd/N): /proc/PID/exe vanishes when the process exits, which a
 * short-lived first process of the file (a client making one request) may
 * do between the inspection and the last uprobe, leaving the file half
 * probed for good. */
void go_tls_attacher_on_exec(struct go_tls_attacher *a, uint32_t tgid)
{
	char exe[96], held[64], name[256];
	struct go_tls_file *known;
	bool goroutines = false;
	uint32_t links;
	struct stat st;
	ssize_t n;
	int fd;

	if (!a->write)
		return;
	snprintf(exe, sizeof(exe), "%s/%u/exe", a->proc_root, tgid);
	fd = open(exe, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return; /* gone already, or a kernel thread */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return;
	}
	known = file_find(a, st.st_dev, st.st_ino);
	if (known) {
		if (known->goroutines)
			mark_go_process(a, tgid);
		close(fd);
		return;
	}
	n = readlink(exe, name, sizeof(name) - 1);
	if (n < 0)
		n = 0;
	name[n] = '\0';
	snprintf(held, sizeof(held), "/proc/self/fd/%d", fd);
	links = inspect_and_attach(a, tgid, held, name, &goroutines);
	if (goroutines)
		mark_go_process(a, tgid);
	file_remember(a, st.st_dev, st.st_ino, links, goroutines);
	close(fd);
}

static void scan_one(void *a, uint32_t pid)
{
	go_tls_attacher_on_exec(a, pid);
}

void go_tls_attacher_scan(struct go_tls_attacher *a)
{
	if (a->write)
		proc_pids_each(a->proc_root, scan_one, a);
}

/*
 * Releasing a uprobe costs the kernel a grace period (on 6.18 about 0.1 s
 * each, one after the other: measured), so a node with a few Go programs
 * would hold kspan's exit for seconds. A child process inherits the links'
 * descriptors and releases them as it exits, after kspan: the parent's
 * close only drops a reference. The child closes everything else first (the
 * metrics port, the ring buffer) and calls only async-signal-safe
 * functions (the parent has threads). Without fork, the release is done
 * here.
 */
static void release_in_child(struct go_tls_attacher *a)
{
	pid_t pid;

	if (a->links.count == 0)
		return;
	pid = fork();
	if (pid != 0)
		return; /* parent (or fork failed: the links are released below) */
	for (int fd = 0; fd < 65536; fd++) {
		bool keep = false;
		for (size_t i = 0; i < a->links.count && !keep; i++)
			keep = bpf_link__fd(a->links.links[i]) == fd;
		if (!keep)
			close(fd);
	}
	_exit(0);
}

void go_tls_attacher_free(struct go_tls_attacher *a)
{
	release_in_child(a);
	link_list_free(&a->links);
	free(a->files);
	memset(a, 0, sizeof(*a));
}
