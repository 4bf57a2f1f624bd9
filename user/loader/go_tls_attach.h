/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * go_tls_attach.h - the Go crypto/tls uprobes (bpf/attach/uprobe_go_tls.bpf.h)
 * attached to every Go executable kspan sees run: the processes running at
 * start, and each process at its exec (KSPAN_EVENT_PROC_EXEC).
 *
 * One attachment per executable file, by device and inode: a uprobe is on
 * the file's inode and fires in every process that runs it, present or
 * future. The file is reached as /proc/PID/exe, which the kernel resolves
 * to the process's own file even in a container with its own root (and
 * after the path was replaced or deleted). Each file is inspected once, Go
 * or not (go_binary.h); what was probed is logged, what could not be is
 * counted (go_tls_executables_unsupported, go_tls_attach_failed) and logged.
 */
#ifndef KSPAN_GO_TLS_ATTACH_H
#define KSPAN_GO_TLS_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loader/link_list.h"

#include "model/agent_stats.h"

struct bpf_object;
struct bpf_program;
struct bpf_link;
struct go_tls_binary;

/* Executables remembered (probed or not) at most; beyond, new files are
 * inspected at each exec again (not leaked). */
#define GO_TLS_MAX_FILES 8192

struct go_tls_file {
	uint64_t dev, ino;
	uint32_t links;	 /* uprobes attached to it (0: not a probed Go file) */
	bool goroutines; /* its goroutine probes are attached: its processes are marked Go */
};

struct go_tls_attacher {
	/* NULL: not in the object */
	struct bpf_program *write, *read, *read_return, *handshake;
	/* the goroutine parenting programs (uprobe_go_goroutines.bpf.h) */
	struct bpf_program *newproc, *newproc_return, *round_trip, *request_write;
	int go_processes_fd; /* the map of Go processes, -1 when absent */
	/* the programs' go_processes_gen (mapped .bss), bumped after every
	 * entry added to go_processes (bpf/propagation/go_parent.bpf.h); NULL
	 * when the object has none */
	volatile uint32_t *go_processes_gen;
	struct agent_stats *stats;
	char proc_root[64];
	struct go_tls_file *files;
	size_t file_count;
	struct link_list links;
	int cookies; /* 1: the kernel takes attach cookies, 0: not, -1: unknown */
};

/* Before load: only the set of Go programs with preemption disabled
 * (guarded) or the other is loaded (bpf/attach/uprobe_go_tls.bpf.h), and
 * neither is attached automatically. */
void go_tls_programs_select(struct bpf_object *obj, bool guarded);

/* Finds the programs in obj (loaded). Never fails: without them every call
 * below does nothing. */
void go_tls_attacher_init(struct go_tls_attacher *a, struct bpf_object *obj, const char *proc_root,
			  struct agent_stats *stats);
/* Every process now in proc_root. */
void go_tls_attacher_scan(struct go_tls_attacher *a);
/* Process tgid has just exec'd (or is seen for the first time). */
void go_tls_attacher_on_exec(struct go_tls_attacher *a, uint32_t tgid);
/* Detaches every uprobe. */
void go_tls_attacher_free(struct go_tls_attacher *a);

/* The attach cookie of b's struct offsets (include/go_tls_offsets.h). */
uint64_t go_tls_cookie(const struct go_tls_binary *b);

#endif /* KSPAN_GO_TLS_ATTACH_H */
