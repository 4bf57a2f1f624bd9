// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tls_programs.c - selecting and attaching the TLS uprobe programs. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "kspan.skel.h"
#include "loader/tls_programs.h"

struct openssl_func {
	const char *name;
	struct bpf_program *entry;
};

static void openssl_programs(struct kspan_bpf *skel, bool guarded,
			     struct openssl_func funcs[TLS_OPENSSL_FUNCS], struct bpf_program **ret)
{
	__typeof__(skel->progs) *p = &skel->progs;

	funcs[0] =
	    (struct openssl_func){"SSL_write", guarded ? p->kspan_uprobe_ssl_write
						       : p->kspan_uprobe_ssl_write_preemptible};
	funcs[1] = (struct openssl_func){"SSL_write_ex",
					 guarded ? p->kspan_uprobe_ssl_write_ex
						 : p->kspan_uprobe_ssl_write_ex_preemptible};
	funcs[2] = (struct openssl_func){
	    "SSL_read", guarded ? p->kspan_uprobe_ssl_read : p->kspan_uprobe_ssl_read_preemptible};
	funcs[3] =
	    (struct openssl_func){"SSL_read_ex", guarded ? p->kspan_uprobe_ssl_read_ex
							 : p->kspan_uprobe_ssl_read_ex_preemptible};
	funcs[4] = (struct openssl_func){"SSL_do_handshake",
					 guarded ? p->kspan_uprobe_ssl_do_handshake
						 : p->kspan_uprobe_ssl_do_handshake_preemptible};
	*ret = guarded ? p->kspan_uretprobe_ssl_return : p->kspan_uretprobe_ssl_return_preemptible;
}

void tls_programs_select(struct kspan_bpf *skel, bool guarded)
{
	struct openssl_func funcs[TLS_OPENSSL_FUNCS];
	struct bpf_program *ret;

	for (int set = 0; set < 2; set++) {
		openssl_programs(skel, set == 1, funcs, &ret);
		for (int i = 0; i < TLS_OPENSSL_FUNCS; i++) {
			bpf_program__set_autoload(funcs[i].entry, guarded == (set == 1));
			bpf_program__set_autoattach(funcs[i].entry, false);
		}
		bpf_program__set_autoload(ret, guarded == (set == 1));
		bpf_program__set_autoattach(ret, false);
	}
}

int tls_programs_attach_openssl(struct kspan_bpf *skel, bool guarded, const char *path, int pid,
				struct bpf_link *links[TLS_OPENSSL_LINKS], char *why, size_t len)
{
	struct openssl_func funcs[TLS_OPENSSL_FUNCS];
	struct bpf_program *ret;
	int probed = 0, err = -ENOENT;

	openssl_programs(skel, guarded, funcs, &ret);
	memset(links, 0, sizeof(links[0]) * TLS_OPENSSL_LINKS);
	for (int i = 0; i < TLS_OPENSSL_FUNCS; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, entry, .func_name = funcs[i].name);
		LIBBPF_OPTS(bpf_uprobe_opts, exit, .func_name = funcs[i].name, .retprobe = true);
		struct bpf_link *in, *out;

		/* pid -1: every process that maps the file, now and later.
		 * Another pid: the kernel puts the breakpoints into that
		 * process's memory only, so no other process that maps the
		 * file traps (a trap costs ~10 us on a virtual machine). */
		in = bpf_program__attach_uprobe_opts(funcs[i].entry, pid, path, 0, &entry);
		if (!in) {
			err = -errno;
			continue; /* an older OpenSSL without the _ex forms */
		}
		out = bpf_program__attach_uprobe_opts(ret, pid, path, 0, &exit);
		if (!out) {
			err = -errno;
			bpf_link__destroy(in);
			continue;
		}
		links[2 * i] = in;
		links[2 * i + 1] = out;
		probed++;
	}
	if (probed == 0) {
		snprintf(why, len, "no SSL_read/SSL_write could be probed in %s: %s", path,
			 strerror(-err));
		return err;
	}
	return probed;
}
