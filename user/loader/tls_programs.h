/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tls_programs.h - the uprobe programs on TLS libraries
 * (bpf/attach/uprobe_openssl.bpf.h): which of their two sets is loaded, and
 * attaching one library file's functions to them.
 */
#ifndef KSPAN_TLS_PROGRAMS_H
#define KSPAN_TLS_PROGRAMS_H

#include <stdbool.h>

struct kspan_bpf;
struct bpf_link;

/* The OpenSSL functions probed: entry of each, and one return program. */
#define TLS_OPENSSL_FUNCS 5
#define TLS_OPENSSL_LINKS (2 * TLS_OPENSSL_FUNCS)

/* Before load: only the set with preemption disabled (guarded) or the
 * other is loaded; neither is attached automatically (uprobes name a file). */
void tls_programs_select(struct kspan_bpf *skel, bool guarded);

/*
 * Attaches the OpenSSL programs of the loaded set to the functions of the
 * ELF file at path (a shared library or an executable that links OpenSSL
 * statically), for process pid only, or for every process that maps it
 * (pid -1). links[] receives the links
 * (NULL where the file lacks a function); returns how many functions were
 * probed, or a negative errno when none could be (why says why).
 */
int tls_programs_attach_openssl(struct kspan_bpf *skel, bool guarded, const char *path, int pid,
				struct bpf_link *links[TLS_OPENSSL_LINKS], char *why, size_t len);

#endif /* KSPAN_TLS_PROGRAMS_H */
