/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tls_libraries.h - which TLS library files the uprobes of
 * bpf/attach/uprobe_openssl.bpf.h are attached to.
 *
 * A uprobe belongs to a file (its inode), not to a process: one attachment
 * per file serves every process that maps it, now and later. Files are found
 * in the processes' memory maps (/proc/PID/maps: libssl.so.*), named by
 * device and inode, and attached through /proc/PID/root/<path>, so that a
 * container's own libssl (its own root) is probed as the container sees it.
 * The executable itself is probed when its symbol tables define SSL_write
 * (OpenSSL linked statically: node); each file is looked at once.
 * At start every process is scanned; later, a process that exec()s is
 * scanned again for a while (its loader maps the libraries after exec), so
 * that a library file no process mapped before is probed before the
 * process's first requests, as far as it can be.
 *
 * With --pid, only the chosen processes are scanned, and each file is
 * attached once per chosen process that maps it, for that process alone:
 * other processes mapping the same libssl (a load generator, a sidecar)
 * then run it without a single trap.
 */
#ifndef KSPAN_TLS_LIBRARIES_H
#define KSPAN_TLS_LIBRARIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "loader/node_attach.h"
#include "loader/tls_programs.h"
#include "model/agent_stats.h"

struct kspan_bpf;

struct tls_library {
	uint64_t dev, ino; /* of the file, as /proc/PID/maps names it */
	uint32_t pid;	   /* the only process probed (with --pid), else 0 */
	char path[256];	   /* as the first process that mapped it sees it */
	struct bpf_link *links[TLS_OPENSSL_LINKS];
	int probed; /* functions probed; 0: attaching failed (not tried again) */
	struct bpf_link *node_links[NODE_LINKS]; /* node executables (node_attach.h) */
};

/* A process that exec()ed recently: scanned until its deadline. */
struct tls_exec_watch {
	uint32_t pid;
	uint64_t until_mono;
};

#define TLS_EXEC_WATCH_MAX 256

struct tls_libraries {
	struct kspan_bpf *skel;
	bool guarded;	       /* which program set is loaded (tls_programs.h) */
	const char *proc_root; /* "/proc" */
	struct agent_stats *stats;
	struct tls_library *libs; /* every file looked at, probed or not */
	size_t count, cap;
	size_t probed_files;
	const uint32_t *only_pids; /* --pid: the processes probed; NULL: all */
	size_t only_pid_count;
	struct tls_exec_watch watch[TLS_EXEC_WATCH_MAX];
	size_t watching;
};

void tls_libraries_init(struct tls_libraries *t, struct kspan_bpf *skel, bool guarded,
			const char *proc_root, struct agent_stats *stats);
/* Probe these processes only (--pid), each for itself; before any scan. */
void tls_libraries_only_pids(struct tls_libraries *t, const uint32_t *pids, size_t count);
/* Every process (or every --pid one): the scan at start. */
void tls_libraries_scan_all(struct tls_libraries *t);
/* One process; returns how many library files were newly probed. */
int tls_libraries_scan_pid(struct tls_libraries *t, uint32_t pid);
/* A process exec()ed at now: scan it at each tick for a while. */
void tls_libraries_on_exec(struct tls_libraries *t, uint32_t pid, uint64_t now);
void tls_libraries_tick(struct tls_libraries *t, uint64_t now);
/* Detaches every library (the links); the table stays. */
void tls_libraries_detach(struct tls_libraries *t);
void tls_libraries_free(struct tls_libraries *t);

/* Does the ELF file at path define function `name` (.dynsym or .symtab)? */
bool tls_elf_defines_function(const char *path, const char *name);
/* Is this file name (a path's last component) an OpenSSL libssl? */
bool tls_library_is_libssl(const char *name);
/* Parses one /proc/PID/maps line: the mapped file's device, inode and path
 * (path points into line). False for anonymous and special mappings. */
bool tls_maps_line_parse(const char *line, uint64_t *dev, uint64_t *ino, const char **path);

#endif /* KSPAN_TLS_LIBRARIES_H */
