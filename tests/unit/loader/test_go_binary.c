// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_go_binary.c - the Go crypto/tls probe targets of real executables
 * (build/go/tls_app, built by `make unit-tests` with Debian's golang-go, and
 * its -ldflags='-s -w' twin), and the parsers under go_binary.h on crafted
 * input: versions, struct offsets, pclntab layouts, RET decoding.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loader/elf_image.h"
#include "loader/go_binary.h"
#include "go_tls_offsets.h"
#include "loader/go_pclntab.h"
#include "loader/go_tls_attach.h"
#include "loader/go_struct_offsets.h"
#include "loader/x86_decode.h"

#define APP	     "build/go/tls_app"
#define APP_STRIPPED "build/go/tls_app_stripped"

/* The function's bytes, read through the file offsets go_binary found. */
static uint8_t *read_at(const char *path, uint64_t offset, uint64_t len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(len);

	assert_non_null(f);
	assert_non_null(buf);
	assert_int_equal(fseek(f, (long)offset, SEEK_SET), 0);
	assert_int_equal(fread(buf, 1, len, f), len);
	fclose(f);
	return buf;
}

static void check_binary(const char *path, bool stripped, struct go_tls_binary *b)
{
	assert_int_equal(go_binary_inspect(path, b), 0);
	assert_string_equal(b->version_text, "go1.19.8");
	assert_int_equal(b->version.major, 1);
	assert_int_equal(b->version.minor, 19);
	assert_int_equal(b->from_pclntab, stripped);
	assert_true(b->has_offsets);
	assert_int_equal(b->offsets.tls_conn_data, 8);
	assert_int_equal(b->offsets.netfd_sysfd, 16);
	assert_true(b->read.size > 16 && b->read.size < 4096);
	assert_true(b->write.size > 16 && b->write.size < 4096);
	assert_int_not_equal(b->read.addr, b->write.addr);
	assert_true(b->read_return_count >= 1);

	/* Each return lies inside Read, and decodes as a RET there: the
	 * bytes at the file offset are the instruction the uprobe replaces. */
	uint8_t *code = read_at(path, b->read.file_offset, b->read.size);
	uint64_t rets[GO_TLS_MAX_RETURNS];
	size_t n = 0;
	assert_int_equal(
	    x86_find_returns(code, b->read.size, b->read.addr, rets, GO_TLS_MAX_RETURNS, &n), 0);
	assert_int_equal(n, b->read_return_count);
	for (uint32_t i = 0; i < b->read_return_count; i++) {
		uint64_t off = b->read_returns[i] - b->read.file_offset;
		assert_true(b->read_returns[i] > b->read.file_offset);
		assert_true(off < b->read.size);
		assert_int_equal(rets[i] - b->read.addr, off);
		assert_true(code[off] == 0xc3 || code[off] == 0xc2);
	}
	/* Go's prologue starts with the stack-bound check against g in R14
	 * (register ABI): cmp rsp, [r14+0x10] = 49 3b 66 10, or for larger
	 * frames a lea first; the entry probe goes after its jbe (0f 86 rel32
	 * or 76 rel8), and the arguments' registers are untouched up to it. */
	uint64_t at = b->read.probe_offset - b->read.file_offset;
	if (code[0] == 0x49) {
		assert_memory_equal(code, "\x49\x3b\x66\x10", 4);
		assert_true((code[4] == 0x0f && code[5] == 0x86 && at == 10) ||
			    (code[4] == 0x76 && at == 6));
	} else {
		assert_int_equal(code[0], 0x4c); /* lea r12, [rsp - N] */
		assert_true(at > 8 && at < 24);
	}
	free(code);
	code = read_at(path, b->write.file_offset, b->write.size);
	at = b->write.probe_offset - b->write.file_offset;
	assert_true(at >= 6 && at < 24);
	assert_true(code[at - 6] == 0x0f || code[at - 2] == 0x76);
	free(code);
	/* tls_app is a client and a server: both handshakes, each probed
	 * right after its stack check's jbe. */
	assert_int_equal(b->handshake_count, 2);
	assert_int_not_equal(b->handshakes[0], b->handshakes[1]);
	for (uint32_t i = 0; i < b->handshake_count; i++) {
		code = read_at(path, b->handshakes[i] - 6, 6);
		assert_true((code[0] == 0x0f && code[1] == 0x86) || code[4] == 0x76);
		free(code);
	}
}

static void test_symbols_from_symtab(void **state)
{
	struct go_tls_binary b;

	(void)state;
	check_binary(APP, false, &b);
}

/* -s -w drops .symtab: the pclntab gives the same functions. */
static void test_symbols_from_pclntab_when_stripped(void **state)
{
	struct go_tls_binary full, stripped;

	(void)state;
	check_binary(APP, false, &full);
	check_binary(APP_STRIPPED, true, &stripped);
	/* The same code, linked the same way: the same returns; the pclntab's
	 * range also covers the alignment padding after the function. */
	assert_true(stripped.read.size >= full.read.size &&
		    stripped.read.size < full.read.size + 32);
	assert_true(stripped.write.size >= full.write.size &&
		    stripped.write.size < full.write.size + 32);
	assert_int_equal(full.read_return_count, stripped.read_return_count);
	for (uint32_t i = 0; i < full.read_return_count; i++)
		assert_int_equal(full.read_returns[i] - full.read.file_offset,
				 stripped.read_returns[i] - stripped.read.file_offset);
}

/* The goroutine parenting probes of chain_app (net/http server and client):
 * all found, with symbols and stripped, at the same places relative to
 * each other; newproc1's RETs decoded. */
static void test_goroutine_probes(void **state)
{
	struct go_tls_binary full, stripped;
	const struct go_goroutine_probes *f = &full.goroutines, *s = &stripped.goroutines;

	(void)state;
	assert_int_equal(go_binary_inspect("build/go/chain_app", &full), 0);
	assert_int_equal(go_binary_inspect("build/go/chain_app_stripped", &stripped), 0);
	assert_true(f->present);
	assert_true(s->present);
	assert_true(f->newproc_return_count >= 1);
	assert_int_equal(f->newproc_return_count, s->newproc_return_count);
	for (uint32_t i = 0; i < f->newproc_return_count; i++) {
		assert_true(f->newproc_returns[i] > f->newproc);
		assert_int_equal(f->newproc_returns[i] - f->newproc,
				 s->newproc_returns[i] - s->newproc);
	}
	assert_true(f->round_trip != f->request_write && f->round_trip != f->newproc);
	assert_int_equal(f->request_write - f->round_trip, s->request_write - s->round_trip);
	/* tls_app (Go 1.19) has all three too: its client uses net/http. */
	assert_int_equal(go_binary_inspect(APP, &full), 0);
	assert_true(full.goroutines.present);
}

/* The pclntab of the full binary agrees with its symbol table. */
static void test_pclntab_agrees_with_symtab(void **state)
{
	struct elf_image *img;
	struct elf_section tab, text;
	struct elf_symbol sym;
	struct go_function_range r;

	(void)state;
	assert_int_equal(elf_image_open(APP, &img), 0);
	assert_int_equal(elf_image_section(img, ".gopclntab", &tab), 0);
	assert_int_equal(elf_image_section(img, ".text", &text), 0);
	const char *names[] = {GO_TLS_READ_SYMBOL, GO_TLS_WRITE_SYMBOL, "main.main",
			       "net/http.(*conn).serve"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(elf_image_symbol(img, names[i], &sym), 0);
		assert_int_equal(go_pclntab_find(tab.data, tab.size, text.addr, names[i], &r), 0);
		assert_int_equal(r.entry, sym.addr);
		assert_true(r.end >= sym.addr + sym.size);
		assert_true(r.end - (sym.addr + sym.size) < 64); /* alignment padding */
	}
	assert_int_equal(
	    go_pclntab_find(tab.data, tab.size, text.addr, "crypto/tls.(*Conn).Rea", &r), -ENOENT);
	/* Every truncation of the table is refused or not found, never read
	 * past (valgrind watches). */
	for (size_t len = 0; len < 256; len++)
		assert_int_not_equal(go_pclntab_find(tab.data, len, text.addr, names[0], &r), 0);
	elf_image_close(img);
}

/* A crafted Go 1.16 table and a 1.20 one: the two functab layouts. */
static void test_pclntab_layouts(void **state)
{
	uint8_t t[256] = {0};
	struct go_function_range r;
	uint64_t w;
	uint32_t v;

	(void)state;
	/* 1.20: nfunc 1, textStart, funcname at 96, pcln at 128. */
	v = GO_PCLNTAB_MAGIC_120;
	memcpy(t, &v, 4);
	t[6] = 1;
	t[7] = 8;
	w = 1;
	memcpy(t + 8, &w, 8);
	w = 96;
	memcpy(t + 8 + 3 * 8, &w, 8);
	w = 128;
	memcpy(t + 8 + 7 * 8, &w, 8);
	memcpy(t + 96, "main.f", 7);
	/* functab: (0x40, _func at +16), end 0x90; _func: entryoff, nameoff 0 */
	v = 0x40;
	memcpy(t + 128, &v, 4);
	v = 16;
	memcpy(t + 132, &v, 4);
	v = 0x90;
	memcpy(t + 136, &v, 4);
	v = 0x40;
	memcpy(t + 144, &v, 4);
	assert_int_equal(go_pclntab_find(t, sizeof(t), 0x401000, "main.f", &r), 0);
	assert_int_equal(r.entry, 0x401040);
	assert_int_equal(r.end, 0x401090);
	assert_int_equal(go_pclntab_find(t, sizeof(t), 0x401000, "main.g", &r), -ENOENT);

	/* 1.16: the same, words instead of offsets, no textStart. */
	memset(t, 0, sizeof(t));
	v = GO_PCLNTAB_MAGIC_116;
	memcpy(t, &v, 4);
	t[6] = 1;
	t[7] = 8;
	w = 1;
	memcpy(t + 8, &w, 8);
	w = 96;
	memcpy(t + 8 + 2 * 8, &w, 8);
	w = 128;
	memcpy(t + 8 + 6 * 8, &w, 8);
	memcpy(t + 96, "main.f", 7);
	w = 0x401040;
	memcpy(t + 128, &w, 8);
	w = 48;
	memcpy(t + 136, &w, 8);
	w = 0x401090;
	memcpy(t + 144, &w, 8);
	w = 0x401040;
	memcpy(t + 176, &w, 8); /* _func.entry; nameoff 0 follows */
	assert_int_equal(go_pclntab_find(t, sizeof(t), 0, "main.f", &r), 0);
	assert_int_equal(r.entry, 0x401040);
	assert_int_equal(r.end, 0x401090);

	/* Go 1.2-1.15 and 32-bit tables are refused. */
	v = 0xfffffffb;
	memcpy(t, &v, 4);
	assert_int_equal(go_pclntab_find(t, sizeof(t), 0, "main.f", &r), -EPROTONOSUPPORT);
	v = GO_PCLNTAB_MAGIC_116;
	memcpy(t, &v, 4);
	t[7] = 4;
	assert_int_equal(go_pclntab_find(t, sizeof(t), 0, "main.f", &r), -EPROTONOSUPPORT);
	/* A function count the table cannot hold. */
	t[7] = 8;
	w = 1ull << 60;
	memcpy(t + 8, &w, 8);
	assert_int_equal(go_pclntab_find(t, sizeof(t), 0, "main.f", &r), -EPROTONOSUPPORT);
}

/* The stack check of both prologue shapes; none in a NOSPLIT function. */
static void test_after_stack_check(void **state)
{
	/* cmp rsp, [r14+0x10]; jbe +0x100; sub rsp, 0x18 */
	const uint8_t small[] = {0x49, 0x3b, 0x66, 0x10, 0x0f, 0x86, 0x00,
				 0x01, 0x00, 0x00, 0x48, 0x83, 0xec, 0x18};
	/* lea r12, [rsp-0x100]; cmp r12, [r14+0x10]; jbe +0x20; push rbp */
	const uint8_t large[] = {0x4c, 0x8d, 0xa4, 0x24, 0x00, 0xff, 0xff, 0xff,
				 0x4d, 0x3b, 0x66, 0x10, 0x76, 0x20, 0x55};
	/* sub rsp, 0x18; mov [rsp+0x10], rbp; ret: no check */
	const uint8_t nosplit[] = {0x48, 0x83, 0xec, 0x18, 0x48, 0x89, 0x6c, 0x24, 0x10, 0xc3};
	uint64_t after = 0;

	(void)state;
	assert_int_equal(x86_go_after_stack_check(small, sizeof(small), 0x1000, &after), 0);
	assert_int_equal(after, 0x100a);
	assert_int_equal(x86_go_after_stack_check(large, sizeof(large), 0x2000, &after), 0);
	assert_int_equal(after, 0x200e);
	assert_int_equal(x86_go_after_stack_check(nosplit, sizeof(nosplit), 0x3000, &after),
			 -ENOENT);
}

/* A 0xC3 byte inside an instruction is no return. */
static void test_returns_by_decoding(void **state)
{
	/* mov eax, 0xc3c3c3c3; add rsp, 0x18; ret; int3; mov ecx, 0xc3; ret 8 */
	const uint8_t code[] = {0xb8, 0xc3, 0xc3, 0xc3, 0xc3, 0x48, 0x83, 0xc4, 0x18, 0xc3,
				0xcc, 0xb9, 0xc3, 0x00, 0x00, 0x00, 0xc2, 0x08, 0x00};
	uint64_t rets[4];
	size_t n = 0;

	(void)state;
	assert_int_equal(x86_find_returns(code, sizeof(code), 0x1000, rets, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(rets[0], 0x1009);
	assert_int_equal(rets[1], 0x1010);
	assert_int_equal(x86_find_returns(code, sizeof(code), 0x1000, rets, 1, &n), -E2BIG);
	/* An instruction cut by the end of the range. */
	assert_int_equal(x86_find_returns(code, 3, 0x1000, rets, 4, &n), -EILSEQ);
}

static void test_versions(void **state)
{
	struct go_version v;

	(void)state;
	assert_int_equal(go_version_parse("go1.19.8", &v), 0);
	assert_int_equal(v.major, 1);
	assert_int_equal(v.minor, 19);
	assert_int_equal(v.patch, 8);
	assert_int_equal(go_version_parse("go1.21rc2", &v), 0);
	assert_int_equal(v.minor, 21);
	assert_int_equal(v.patch, 0);
	assert_int_equal(go_version_parse("go1.22.0 X:boringcrypto", &v), 0);
	assert_int_equal(v.minor, 22);
	assert_int_equal(go_version_parse("devel +abc123", &v), -EINVAL);
	assert_int_equal(go_version_parse("go1", &v), -EINVAL);
	assert_int_equal(go_version_parse("go1.x", &v), -EINVAL);
	assert_int_equal(go_version_parse("", &v), -EINVAL);

	/* Offsets: 1.17 to 1.24; stack-ABI releases and unknown ones: none. */
	assert_false(go_version_has_register_abi((struct go_version){1, 16, 15}));
	assert_true(go_version_has_register_abi((struct go_version){1, 17, 0}));
	assert_null(go_struct_offsets_for((struct go_version){1, 16, 0}));
	assert_non_null(go_struct_offsets_for((struct go_version){1, 17, 0}));
	assert_non_null(go_struct_offsets_for((struct go_version){1, 24, 3}));
	assert_null(go_struct_offsets_for((struct go_version){1, 25, 0}));
	assert_null(go_struct_offsets_for((struct go_version){2, 0, 0}));
}

/* The buildinfo blob, both encodings; a corrupt length is refused. */
static void test_buildinfo_inline(void **state)
{
	uint8_t blob[64] = "\xff Go buildinf:";
	char out[48];

	(void)state;
	blob[14] = 8;
	blob[15] = 2;
	blob[32] = 8;
	memcpy(blob + 33, "go1.20.3", 8);
	assert_int_equal(go_buildinfo_version(NULL, blob, sizeof(blob), out, sizeof(out)), 0);
	assert_string_equal(out, "go1.20.3");
	blob[32] = 200;
	assert_int_equal(go_buildinfo_version(NULL, blob, sizeof(blob), out, sizeof(out)), -ENOENT);
	/* Before 1.18: pointers, which need the file to follow. */
	blob[15] = 0;
	assert_int_equal(go_buildinfo_version(NULL, blob, sizeof(blob), out, sizeof(out)), -ENOENT);
	blob[0] = 0;
	assert_int_equal(go_buildinfo_version(NULL, blob, sizeof(blob), out, sizeof(out)), -ENOENT);
}

/* The cookie carries the table's offsets; on kernels without cookies the
 * probes use GO_TLS_OFFSETS_DEFAULT, which must be every row's layout. */
static void test_cookie_packs_the_offsets(void **state)
{
	struct go_tls_binary b;

	(void)state;
	assert_int_equal(go_binary_inspect(APP, &b), 0);
	assert_int_equal(go_tls_cookie(&b), GO_TLS_OFFSETS_DEFAULT);
	assert_int_equal(GO_TLS_CONN_DATA(go_tls_cookie(&b)), 8);
	assert_int_equal(GO_TLS_TCPCONN_NETFD(go_tls_cookie(&b)), 0);
	assert_int_equal(GO_TLS_NETFD_SYSFD(go_tls_cookie(&b)), 16);
	for (uint16_t minor = 17; minor <= 24; minor++) {
		const struct go_struct_offsets *o =
		    go_struct_offsets_for((struct go_version){1, minor, 0});
		assert_non_null(o);
		assert_int_equal(
		    GO_TLS_OFFSETS_PACK(o->tls_conn_data, o->tcp_conn_netfd, o->netfd_sysfd),
		    GO_TLS_OFFSETS_DEFAULT);
	}
}

/* Not Go: kspan itself (C), and a file that is not ELF. */
static void test_not_go(void **state)
{
	struct go_tls_binary b;

	(void)state;
	assert_int_equal(go_binary_inspect("build/kspan", &b), -ENOEXEC);
	assert_int_equal(go_binary_inspect("Makefile", &b), -ENOEXEC);
	assert_int_equal(go_binary_inspect("build/no-such-file", &b), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_symbols_from_symtab),
	    cmocka_unit_test(test_symbols_from_pclntab_when_stripped),
	    cmocka_unit_test(test_pclntab_agrees_with_symtab),
	    cmocka_unit_test(test_pclntab_layouts),
	    cmocka_unit_test(test_returns_by_decoding),
	    cmocka_unit_test(test_after_stack_check),
	    cmocka_unit_test(test_versions),
	    cmocka_unit_test(test_buildinfo_inline),
	    cmocka_unit_test(test_cookie_packs_the_offsets),
	    cmocka_unit_test(test_not_go),
	    cmocka_unit_test(test_goroutine_probes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
