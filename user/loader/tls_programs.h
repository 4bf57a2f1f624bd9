/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tls_programs.h - the uprobe programs on TLS libraries
 * (bpf/attach/uprobe_openssl.bpf.h): which of their two sets is loaded, and
 * attaching one library file's functions to them.
 */
#ifndef KSPAN_TLS_PROGRAMS_H
#define KSPAN_TLS_PROGRAMS_H

#include <stdbool.h>
#include <stdint.h>

struct kspan_bpf;
struct bpf_link;

/* The OpenSSL functions probed: entry of each, and one return program. */
#define TLS_OPENSSL_FUNCS 5
#define TLS_OPENSSL_LINKS (2 * TLS_OPENSSL_FUNCS)

/* Where the read and write pairs were probed (loader/tls_placement.h). */
struct tls_openssl_placement {
	/* The file offset of the internal worker probed for the pair
	 * (ssl_write_internal, ssl_read_internal); 0: the public functions. */
	uint64_t write_worker, read_worker;
	/* Why a pair is probed at its public functions although they begin
	 * with a single-stepped instruction; NULL: they do not. */
	const char *write_why, *read_why;
};

/* Before load: only the set with preemption disabled (guarded) or the
 * other is loaded; neither is attached automatically (uprobes name a file). */
void tls_programs_select(struct kspan_bpf *skel, bool guarded);

/*
 * Attaches the OpenSSL programs of the loaded set to the functions of the
 * ELF file at path (a shared library or an executable that links OpenSSL
 * statically), for process pid only, or for every process that maps it
 * (pid -1). The write pair (SSL_write, SSL_write_ex) and the read pair are
 * each probed at their public entries or, when those begin with an
 * instruction the kernel single-steps, at the internal worker both forms
 * call (tls_placement.h; *placed says which). links[] receives the links
 * (NULL where the file lacks a function, or for the int form of a pair
 * probed at its worker); returns how many probes (entry and return) were
 * attached, or a negative errno when none could be (why says why).
 */
int tls_programs_attach_openssl(struct kspan_bpf *skel, bool guarded, const char *path, int pid,
				struct bpf_link *links[TLS_OPENSSL_LINKS],
				struct tls_openssl_placement *placed, char *why, size_t len);

#endif /* KSPAN_TLS_PROGRAMS_H */
