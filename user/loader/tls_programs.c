// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tls_programs.c - selecting and attaching the TLS uprobe programs. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>
#include <elf.h>

#include "kspan.skel.h"
#include "loader/elf_image.h"
#include "loader/tls_placement.h"
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

/* Reads code from the ELF file (tls_code_reader): a function near the end
 * of its segment has fewer bytes than asked for. */
static int read_image(void *ctx, uint64_t addr, uint8_t *buf, size_t len)
{
	for (; len >= 16; len /= 2)
		if (elf_image_read(ctx, addr, buf, len) == 0)
			return (int)len;
	return -ENOENT;
}

/* The place of the pair (funcs[i], funcs[i + 1]): 0 (by name at the public
 * functions) or the worker's file offset. */
static uint64_t pair_place(struct elf_image *img, const struct openssl_func *funcs, int i,
			   const char **why)
{
	struct elf_symbol pub, pub_ex = {0};
	uint64_t worker, offset;

	/* Not decoded (another architecture, whose uprobes follow other
	 * rules; no such function): the public functions, as always. */
	*why = NULL;
	if (!img || elf_image_machine(img) != EM_X86_64 ||
	    elf_image_symbol(img, funcs[i].name, &pub) != 0)
		return 0;
	if (elf_image_symbol(img, funcs[i + 1].name, &pub_ex) != 0)
		pub_ex.addr = 0;
	switch (tls_place_pair(read_image, img, pub.addr, pub_ex.addr, &worker, why)) {
	case TLS_PAIR_PUBLIC:
		return 0;
	case TLS_PAIR_WORKER:
		if (elf_image_file_offset(img, worker, &offset) == 0)
			return offset;
		*why = "the worker is outside an executable segment";
		return 0;
	case TLS_PAIR_FALLBACK:
		break;
	}
	return 0;
}

/* Attaches entry and the return program at name or, without one, at the file
 * offset: links[0] and links[1], or a negative errno. */
static int attach_entry_and_return(struct bpf_program *entry, struct bpf_program *ret, int pid,
				   const char *path, const char *name, uint64_t offset,
				   struct bpf_link **links)
{
	LIBBPF_OPTS(bpf_uprobe_opts, in_opts, .func_name = name);
	LIBBPF_OPTS(bpf_uprobe_opts, out_opts, .func_name = name, .retprobe = true);
	struct bpf_link *in, *out;
	int err;

	/* pid -1: every process that maps the file, now and later.
	 * Another pid: the kernel puts the breakpoints into that
	 * process's memory only, so no other process that maps the
	 * file traps. */
	in = bpf_program__attach_uprobe_opts(entry, pid, path, name ? 0 : offset, &in_opts);
	if (!in)
		return -errno;
	out = bpf_program__attach_uprobe_opts(ret, pid, path, name ? 0 : offset, &out_opts);
	if (!out) {
		err = -errno;
		bpf_link__destroy(in);
		return err;
	}
	links[0] = in;
	links[1] = out;
	return 0;
}

int tls_programs_attach_openssl(struct kspan_bpf *skel, bool guarded, const char *path, int pid,
				struct bpf_link *links[TLS_OPENSSL_LINKS],
				struct tls_openssl_placement *placed, char *why, size_t len)
{
	struct openssl_func funcs[TLS_OPENSSL_FUNCS];
	struct bpf_program *ret;
	struct elf_image *img = NULL;
	uint64_t workers[TLS_OPENSSL_FUNCS] = {0};
	int probed = 0, err = -ENOENT;

	openssl_programs(skel, guarded, funcs, &ret);
	memset(links, 0, sizeof(links[0]) * TLS_OPENSSL_LINKS);
	memset(placed, 0, sizeof(*placed));
	if (elf_image_open(path, &img) != 0)
		img = NULL;
	/* funcs[]: the write pair (0, 1), the read pair (2, 3); a pair at its
	 * worker attaches the _ex form's program there, once. */
	workers[0] = pair_place(img, funcs, 0, &placed->write_why);
	workers[2] = pair_place(img, funcs, 2, &placed->read_why);
	elf_image_close(img);
	/* A pair at its worker: the _ex form's program there, once. Should
	 * that fail, the pair goes back to its public entries. */
	for (int i = 0; i < 4; i += 2) {
		const char **pair_why = i == 0 ? &placed->write_why : &placed->read_why;
		int e;

		if (!workers[i])
			continue;
		e = attach_entry_and_return(funcs[i + 1].entry, ret, pid, path, NULL, workers[i],
					    &links[2 * (i + 1)]);
		if (e == 0) {
			probed++;
			continue;
		}
		workers[i] = 0;
		*pair_why = "attaching at the worker failed";
	}
	placed->write_worker = workers[0];
	placed->read_worker = workers[2];
	for (int i = 0; i < TLS_OPENSSL_FUNCS; i++) {
		int e;

		if (i < 4 && workers[i & ~1])
			continue; /* probed at the pair's worker */
		e = attach_entry_and_return(funcs[i].entry, ret, pid, path, funcs[i].name, 0,
					    &links[2 * i]);
		if (e) {
			err = e; /* an older OpenSSL without the _ex forms */
			continue;
		}
		probed++;
	}
	if (probed == 0) {
		snprintf(why, len, "no SSL_read/SSL_write could be probed in %s: %s", path,
			 strerror(-err));
		return err;
	}
	return probed;
}
