// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* go_binary.c - a Go executable's crypto/tls functions and version. */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loader/elf_image.h"
#include "loader/go_binary.h"
#include "loader/go_pclntab.h"
#include "loader/x86_decode.h"

/* src/debug/buildinfo/buildinfo.go: a 32-byte header, the magic, pointer
 * size, flags (bit 1: the strings follow inline, Go 1.18+). */
static const char buildinfo_magic[] = "\xff Go buildinf:";
#define BUILDINFO_MAGIC_LEN   14
#define BUILDINFO_HEADER_LEN  32
#define BUILDINFO_FLAG_INLINE 0x2

static int uvarint(const uint8_t *p, uint64_t len, uint64_t *v, uint64_t *used)
{
	uint64_t r = 0;

	for (uint64_t i = 0; i < len && i < 10; i++) {
		r |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*v = r;
			*used = i + 1;
			return 0;
		}
	}
	return -ENOENT;
}

int go_buildinfo_version(struct elf_image *img, const uint8_t *blob, uint64_t len, char *out,
			 uint64_t out_len)
{
	uint64_t n, used, str[2];

	if (len < BUILDINFO_HEADER_LEN || memcmp(blob, buildinfo_magic, BUILDINFO_MAGIC_LEN) != 0 ||
	    blob[14] != 8 || out_len == 0)
		return -ENOENT;
	if (blob[15] & BUILDINFO_FLAG_INLINE) {
		if (uvarint(blob + 32, len - 32, &n, &used) != 0 || n >= out_len ||
		    n > len - 32 - used)
			return -ENOENT;
		memcpy(out, blob + 32 + used, n);
		out[n] = '\0';
		return n ? 0 : -ENOENT;
	}
	if (blob[15] != 0 || !img) /* big-endian, or nothing to read through */
		return -ENOENT;
	memcpy(&n, blob + 16, 8); /* address of runtime.buildVersion */
	if (elf_image_read(img, n, str, sizeof(str)) != 0 || str[1] == 0 || str[1] >= out_len ||
	    elf_image_read(img, str[0], out, str[1]) != 0)
		return -ENOENT;
	out[str[1]] = '\0';
	return 0;
}

/* A function from .symtab, else from the pclntab. */
static int find_function(struct elf_image *img, const struct elf_section *pclntab,
			 uint64_t text_start, const char *name, struct go_function *f,
			 bool *from_pclntab)
{
	struct elf_symbol sym;
	int err;

	if (elf_image_symbol(img, name, &sym) == 0 && sym.size > 0) {
		f->addr = sym.addr;
		f->size = sym.size;
	} else {
		struct go_function_range r;
		if (!pclntab->data)
			return -ENOENT;
		err = go_pclntab_find(pclntab->data, pclntab->size, text_start, name, &r);
		if (err)
			return err;
		f->addr = r.entry;
		f->size = r.end - r.entry;
		*from_pclntab = true;
	}
	return elf_image_file_offset(img, f->addr, &f->file_offset);
}

/* The function's code, for the decoder; NULL when unreadable (bad size). */
static uint8_t *function_code(struct elf_image *img, const struct go_function *f)
{
	uint8_t *code;

	/* A Go function is some KiB at most; a larger size is a bad table. */
	if (f->size == 0 || f->size > (1u << 20))
		return NULL;
	code = malloc(f->size);
	if (code && elf_image_read(img, f->addr, code, f->size) != 0) {
		free(code);
		return NULL;
	}
	return code;
}

static int find_probe_offset(const uint8_t *code, struct go_function *f)
{
	uint64_t after;
	int err = x86_go_after_stack_check(code, f->size, f->addr, &after);

	if (err)
		return err == -ENOENT ? -EILSEQ : err;
	f->probe_offset = f->file_offset + (after - f->addr);
	return 0;
}

/* The file offsets of f's RETs into out[], their count into *count. */
static int find_returns(const uint8_t *code, const struct go_function *f, uint64_t *out,
			uint32_t *count)
{
	uint64_t rets[GO_TLS_MAX_RETURNS];
	size_t n = 0;
	int err = x86_find_returns(code, f->size, f->addr, rets, GO_TLS_MAX_RETURNS, &n);

	if (err)
		return err;
	if (n == 0)
		return -EILSEQ;
	for (size_t i = 0; i < n; i++)
		out[i] = f->file_offset + (rets[i] - f->addr);
	*count = (uint32_t)n;
	return 0;
}

static int find_read_returns(const uint8_t *code, struct go_tls_binary *out)
{
	return find_returns(code, &out->read, out->read_returns, &out->read_return_count);
}

/* One function's entry probe offset (and its RETs when rets is not NULL). */
static int find_probed_function(struct elf_image *img, const struct elf_section *pclntab,
				uint64_t text_start, const char *name, uint64_t *probe,
				uint64_t *rets, uint32_t *ret_count)
{
	struct go_function f = {0};
	bool from_pclntab = false;
	uint8_t *code;
	int err = find_function(img, pclntab, text_start, name, &f, &from_pclntab);

	if (err)
		return err;
	code = function_code(img, &f);
	if (!code)
		return -EILSEQ;
	err = find_probe_offset(code, &f);
	if (!err && rets)
		err = find_returns(code, &f, rets, ret_count);
	free(code);
	*probe = f.probe_offset;
	return err;
}

/* The goroutine probes, when the program has all of them (Go 1.18+:
 * newproc1(fn, callergp, callerpc), callergp in RBX). A program without
 * net/http's client has none: nothing to carry. */
static void find_goroutine_functions(struct elf_image *img, const struct elf_section *pclntab,
				     uint64_t text_start, struct go_tls_binary *out)
{
	struct go_goroutine_probes *p = &out->goroutines;

	if (out->version.major != 1 || out->version.minor < 18)
		return;
	p->present = find_probed_function(img, pclntab, text_start, GO_NEWPROC1_SYMBOL, &p->newproc,
					  p->newproc_returns, &p->newproc_return_count) == 0 &&
		     find_probed_function(img, pclntab, text_start, GO_ROUND_TRIP_SYMBOL,
					  &p->round_trip, NULL, NULL) == 0 &&
		     find_probed_function(img, pclntab, text_start, GO_REQUEST_WRITE_SYMBOL,
					  &p->request_write, NULL, NULL) == 0;
}

/* The handshake functions the program has: their probe offsets. A file
 * where one is absent (the linker keeps only what is called) or does not
 * decode still has its Read and Write probed. */
static void find_handshakes(struct elf_image *img, const struct elf_section *pclntab,
			    uint64_t text_start, struct go_tls_binary *out)
{
	static const char *const names[GO_TLS_MAX_HANDSHAKES] = {GO_TLS_CLIENT_HANDSHAKE_SYMBOL,
								 GO_TLS_SERVER_HANDSHAKE_SYMBOL};
	bool from_pclntab = false;

	for (int i = 0; i < GO_TLS_MAX_HANDSHAKES; i++) {
		struct go_function f = {0};
		uint8_t *code;
		int err;
		if (find_function(img, pclntab, text_start, names[i], &f, &from_pclntab) != 0)
			continue;
		code = function_code(img, &f);
		if (!code)
			continue;
		err = find_probe_offset(code, &f);
		free(code);
		if (!err)
			out->handshakes[out->handshake_count++] = f.probe_offset;
	}
}

static int decode_functions(struct elf_image *img, struct go_tls_binary *out)
{
	uint8_t *code = function_code(img, &out->write);
	int err;

	if (!code)
		return -EILSEQ;
	err = find_probe_offset(code, &out->write);
	free(code);
	if (err)
		return err;
	code = function_code(img, &out->read);
	if (!code)
		return -EILSEQ;
	err = find_probe_offset(code, &out->read);
	if (!err)
		err = find_read_returns(code, out);
	free(code);
	return err;
}

static int inspect(struct elf_image *img, struct go_tls_binary *out)
{
	struct elf_section buildinfo, pclntab = {0}, text;
	const struct go_struct_offsets *offsets;
	int err;

	if (elf_image_section(img, ".go.buildinfo", &buildinfo) != 0 || !buildinfo.data ||
	    go_buildinfo_version(img, buildinfo.data, buildinfo.size, out->version_text,
				 sizeof(out->version_text)) != 0)
		return -ENOEXEC;
	if (elf_image_machine(img) != EM_X86_64)
		return -EPROTONOSUPPORT;
	if (go_version_parse(out->version_text, &out->version) != 0 ||
	    !go_version_has_register_abi(out->version))
		return -EPROTONOSUPPORT;
	if (elf_image_section(img, ".text", &text) != 0)
		return -ENOEXEC;
	elf_image_section(img, ".gopclntab", &pclntab);
	err = find_function(img, &pclntab, text.addr, GO_TLS_WRITE_SYMBOL, &out->write,
			    &out->from_pclntab);
	if (!err)
		err = find_function(img, &pclntab, text.addr, GO_TLS_READ_SYMBOL, &out->read,
				    &out->from_pclntab);
	if (err)
		return err;
	err = decode_functions(img, out);
	if (err)
		return err;
	find_handshakes(img, &pclntab, text.addr, out);
	find_goroutine_functions(img, &pclntab, text.addr, out);
	offsets = go_struct_offsets_for(out->version);
	out->has_offsets = offsets != NULL;
	if (offsets)
		out->offsets = *offsets;
	return 0;
}

int go_binary_inspect(const char *path, struct go_tls_binary *out)
{
	struct elf_image *img;
	int err;

	memset(out, 0, sizeof(*out));
	err = elf_image_open(path, &img);
	if (err)
		return err;
	err = inspect(img, out);
	elf_image_close(img);
	return err;
}
