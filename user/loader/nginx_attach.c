// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* nginx_attach.c - the nginx upstream hand-off uprobes, one set per file. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "lib/log.h"
#include "lib/proc_pids.h"
#include "loader/nginx_attach.h"

static const struct {
	const char *program, *function;
	bool retprobe;
} probes[NGINX_PROGRAMS] = {
    /* Each return before its entry: a call whose entry fires then always
     * has its return probed too (a uretprobe takes the return address at
     * the entry), so no hand-off stays open on a thread for a call whose
     * return kspan missed; a return without its entry is ignored. */
    {"kspan_uretprobe_nginx_upstream_init", "ngx_http_upstream_init", true},
    {"kspan_uprobe_nginx_upstream_init", "ngx_http_upstream_init", false},
    {"kspan_uretprobe_nginx_connect_peer", "ngx_event_connect_peer", true},
    {"kspan_uprobe_nginx_connect_peer", "ngx_event_connect_peer", false},
};

void nginx_programs_select(struct bpf_object *obj)
{
	for (int i = 0; i < NGINX_PROGRAMS; i++) {
		struct bpf_program *p = bpf_object__find_program_by_name(obj, probes[i].program);
		if (p)
			bpf_program__set_autoattach(p, false);
	}
}

void nginx_attacher_init(struct nginx_attacher *a, struct bpf_object *obj, const char *proc_root,
			 struct agent_stats *stats)
{
	memset(a, 0, sizeof(*a));
	a->stats = stats;
	snprintf(a->proc_root, sizeof(a->proc_root), "%s", proc_root);
	if (!obj)
		return;
	for (int i = 0; i < NGINX_PROGRAMS; i++) {
		struct bpf_program *p = bpf_object__find_program_by_name(obj, probes[i].program);
		if (!p || bpf_program__fd(p) < 0) {
			memset(a->prog, 0, sizeof(a->prog));
			return;
		}
		a->prog[i] = p;
	}
}

int nginx_executable_name(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return strncmp(base, "nginx", 5) == 0;
}

static bool file_known(const struct nginx_attacher *a, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < a->file_count; i++)
		if (a->files[i].dev == dev && a->files[i].ino == ino)
			return true;
	return false;
}

static void file_remember(struct nginx_attacher *a, uint64_t dev, uint64_t ino)
{
	struct nginx_file *f;

	if (a->file_count == NGINX_MAX_FILES)
		return;
	if (a->file_count % 16 == 0) {
		f = realloc(a->files, (a->file_count + 16) * sizeof(*f));
		if (!f)
			return;
		a->files = f;
	}
	a->files[a->file_count++] = (struct nginx_file){.dev = dev, .ino = ino};
}

/* All four uprobes on the file at path, or none: 0 or a negative errno. */
static int attach_file(struct nginx_attacher *a, const char *path)
{
	size_t first = a->links.count;
	int err = 0;

	for (int i = 0; i < NGINX_PROGRAMS && !err; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = probes[i].function,
			    .retprobe = probes[i].retprobe);
		struct bpf_link *link =
		    bpf_program__attach_uprobe_opts(a->prog[i], -1, path, 0, &opts);
		if (!link) {
			err = -errno;
			break;
		}
		err = link_list_keep(&a->links, link);
		if (err)
			bpf_link__destroy(link);
	}
	if (err)
		link_list_truncate(&a->links, first);
	return err;
}

void nginx_attacher_on_exec(struct nginx_attacher *a, uint32_t tgid)
{
	char exe[96], held[64], name[256];
	struct stat st;
	ssize_t n;
	int fd, err;

	if (!a->prog[0])
		return;
	snprintf(exe, sizeof(exe), "%s/%u/exe", a->proc_root, tgid);
	n = readlink(exe, name, sizeof(name) - 1);
	if (n <= 0)
		return; /* gone already, or a kernel thread */
	name[n] = '\0';
	if (!nginx_executable_name(name))
		return;
	fd = open(exe, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || file_known(a, st.st_dev, st.st_ino)) {
		close(fd);
		return;
	}
	/* Through a descriptor of its own: /proc/PID/exe vanishes with the
	 * process (go_tls_attach.c). */
	snprintf(held, sizeof(held), "/proc/self/fd/%d", fd);
	err = attach_file(a, held);
	file_remember(a, st.st_dev, st.st_ino);
	close(fd);
	if (err) {
		STAT_INC(a->stats, nginx_attach_failed);
		log_warn("nginx upstream hand-off not probed in %s (pid %u): %s%s", name, tgid,
			 strerror(-err),
			 err == -ENOENT ? " (ngx_http_upstream_init or ngx_event_connect_peer "
					  "not exported)"
					: "");
		return;
	}
	STAT_INC(a->stats, nginx_executables_probed);
	log_info("probing nginx upstream hand-off in %s (pid %u, %d uprobes)", name, tgid,
		 NGINX_PROGRAMS);
}

static void scan_one(void *a, uint32_t pid)
{
	nginx_attacher_on_exec(a, pid);
}

void nginx_attacher_scan(struct nginx_attacher *a)
{
	if (a->prog[0])
		proc_pids_each(a->proc_root, scan_one, a);
}

void nginx_attacher_free(struct nginx_attacher *a)
{
	link_list_free(&a->links);
	free(a->files);
	memset(a, 0, sizeof(*a));
}
