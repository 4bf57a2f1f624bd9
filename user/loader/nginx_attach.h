/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * nginx_attach.h - the nginx upstream hand-off uprobes
 * (bpf/attach/uprobe_nginx.bpf.h) attached to every nginx executable kspan
 * sees run: the processes running at start, and each process at its exec.
 *
 * An executable is nginx when its file name begins with "nginx" (nginx,
 * nginx-debug) and it exports the probed functions (.dynsym: Debian's and
 * nginx.org's packages export them for dynamic modules, and strip keeps
 * them). One attachment per file (device and inode), reached through
 * /proc/PID/exe as go_tls_attach.h explains; what was probed is logged,
 * what failed is counted (nginx_attach_failed).
 */
#ifndef KSPAN_NGINX_ATTACH_H
#define KSPAN_NGINX_ATTACH_H

#include <stddef.h>
#include <stdint.h>

#include "loader/link_list.h"
#include "model/agent_stats.h"

struct bpf_object;
struct bpf_program;
struct bpf_link;

/* Files remembered at most (probed or not); beyond, new files are looked at
 * at each exec again. */
#define NGINX_MAX_FILES 1024
/* ngx_http_upstream_init and ngx_event_connect_peer, entry and return. */
#define NGINX_PROGRAMS 4

struct nginx_file {
	uint64_t dev, ino;
};

struct nginx_attacher {
	struct bpf_program *prog[NGINX_PROGRAMS]; /* NULL: not loaded */
	struct agent_stats *stats;
	char proc_root[64];
	struct nginx_file *files;
	size_t file_count;
	struct link_list links;
};

/* Before load: the programs are attached by file, never automatically. */
void nginx_programs_select(struct bpf_object *obj);

/* Finds the programs in obj (loaded). Never fails: without them every call
 * below does nothing. */
void nginx_attacher_init(struct nginx_attacher *a, struct bpf_object *obj, const char *proc_root,
			 struct agent_stats *stats);
/* Every process now in proc_root. */
void nginx_attacher_scan(struct nginx_attacher *a);
/* Process tgid has just exec'd (or is seen for the first time). */
void nginx_attacher_on_exec(struct nginx_attacher *a, uint32_t tgid);
/* Detaches every uprobe. */
void nginx_attacher_free(struct nginx_attacher *a);

/* Is an executable of this path (as /proc/PID/exe names it) nginx by its
 * name? Its last component begins with "nginx". */
int nginx_executable_name(const char *path);

#endif /* KSPAN_NGINX_ATTACH_H */
