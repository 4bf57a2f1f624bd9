// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_tls_placement.c - where OpenSSL's read and write pairs are probed
 * (loader/tls_placement.h): on the system's libssl.so.3 and node, and on
 * crafted code: which first instructions the kernel emulates, and when the
 * worker both public forms call is taken.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "loader/elf_image.h"
#include "loader/tls_placement.h"
#include "loader/x86_decode.h"

#define LIBSSL "/usr/lib/x86_64-linux-gnu/libssl.so.3"
#define NODE   "/usr/bin/node"

static int read_image(void *ctx, uint64_t addr, uint8_t *buf, size_t len)
{
	for (; len >= 16; len /= 2)
		if (elf_image_read(ctx, addr, buf, len) == 0)
			return (int)len;
	return -ENOENT;
}

/* Does one of the first 64 bytes at addr begin an e8 rel32 to target? A raw
 * scan, not the decoder under test. */
static bool raw_call_to(struct elf_image *img, uint64_t addr, uint64_t target)
{
	uint8_t code[64];
	int32_t rel;

	assert_int_equal(elf_image_read(img, addr, code, sizeof(code)), 0);
	for (size_t k = 0; k + 5 <= sizeof(code); k++) {
		if (code[k] != 0xe8)
			continue;
		memcpy(&rel, code + k + 1, sizeof(rel));
		if (addr + k + 5 + (int64_t)rel == target)
			return true;
	}
	return false;
}

/* Places the pair (name, name_ex) of the file at path; skipped without it. */
static enum tls_pair_place place_in_file(const char *path, const char *name, const char *name_ex,
					 uint64_t *worker, struct elf_image **img,
					 struct elf_symbol *pub, struct elf_symbol *pub_ex)
{
	const char *why = NULL;

	if (access(path, R_OK) != 0)
		skip();
	assert_int_equal(elf_image_open(path, img), 0);
	assert_int_equal(elf_image_symbol(*img, name, pub), 0);
	assert_int_equal(elf_image_symbol(*img, name_ex, pub_ex), 0);
	return tls_place_pair(read_image, *img, pub->addr, pub_ex->addr, worker, &why);
}

/* Debian's OpenSSL 3.0: SSL_write and SSL_read begin with `sub $0x18, %rsp`;
 * their workers with pushes. */
static void check_libssl_pair(const char *name, const char *name_ex, uint64_t *worker)
{
	struct elf_symbol pub, pub_ex;
	struct elf_image *img;
	uint8_t head[16];

	assert_int_equal(place_in_file(LIBSSL, name, name_ex, worker, &img, &pub, &pub_ex),
			 TLS_PAIR_WORKER);
	assert_true(*worker != pub.addr && *worker != pub_ex.addr);
	assert_true(raw_call_to(img, pub.addr, *worker));
	assert_true(raw_call_to(img, pub_ex.addr, *worker));
	assert_int_equal(elf_image_read(img, *worker, head, sizeof(head)), 0);
	assert_true(x86_uprobe_emulates(head, sizeof(head)));
	elf_image_close(img);
}

static void test_libssl_pairs_at_their_workers(void **state)
{
	uint64_t write_worker = 0, read_worker = 0;

	(void)state;
	check_libssl_pair("SSL_write", "SSL_write_ex", &write_worker);
	check_libssl_pair("SSL_read", "SSL_read_ex", &read_worker);
	assert_true(write_worker != read_worker);
}

/* node links OpenSSL statically, built with frame pointers: its public
 * functions begin with `push %rbp` (the workers are inlined into them). */
static void test_node_pairs_at_their_entries(void **state)
{
	struct elf_symbol pub, pub_ex;
	struct elf_image *img;
	uint64_t worker = 0;

	(void)state;
	assert_int_equal(
	    place_in_file(NODE, "SSL_write", "SSL_write_ex", &worker, &img, &pub, &pub_ex),
	    TLS_PAIR_PUBLIC);
	elf_image_close(img);
	assert_int_equal(
	    place_in_file(NODE, "SSL_read", "SSL_read_ex", &worker, &img, &pub, &pub_ex),
	    TLS_PAIR_PUBLIC);
	elf_image_close(img);
}

static void test_emulated_first_instructions(void **state)
{
	static const struct {
		uint8_t code[4];
		size_t len;
		bool emulated;
	} cases[] = {
	    {{0x55}, 1, true},			  /* push %rbp */
	    {{0x41, 0x56}, 2, true},		  /* push %r14 */
	    {{0x41, 0x57}, 2, true},		  /* push %r15 */
	    {{0xe8, 0, 0, 0}, 4, true},		  /* call rel32 (cut short) */
	    {{0xe9, 0, 0, 0}, 4, true},		  /* jmp rel32 */
	    {{0xeb, 0x10}, 2, true},		  /* jmp rel8 */
	    {{0x74, 0x10}, 2, true},		  /* je rel8 */
	    {{0x0f, 0x84, 0, 0}, 4, true},	  /* je rel32 */
	    {{0x90}, 1, true},			  /* nop */
	    {{0x48, 0x83, 0xec, 0x18}, 4, false}, /* sub $0x18, %rsp */
	    {{0xf3, 0x0f, 0x1e, 0xfa}, 4, false}, /* endbr64 */
	    {{0x48, 0x89, 0xe5}, 3, false},	  /* mov %rsp, %rbp */
	    {{0x66, 0x90}, 2, false},		  /* xchg %ax, %ax: the kernel refuses 66 */
	    {{0x41, 0x5e}, 2, false},		  /* pop %r14 */
	    {{0x41}, 1, false},			  /* a prefix alone */
	    {{0}, 0, false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(x86_uprobe_emulates(cases[i].code, cases[i].len),
				 cases[i].emulated);
}

/* Crafted code at BASE: the int form at PUB, the _ex form at PUB_EX, and
 * functions at WORKER and OTHER. */
#define BASE   0x1000u
#define PUB    0x1000u
#define PUB_EX 0x1040u
#define WORKER 0x1080u
#define OTHER  0x10c0u

struct code {
	uint8_t bytes[0x100];
};

static int read_code(void *ctx, uint64_t addr, uint8_t *buf, size_t len)
{
	struct code *c = ctx;

	if (addr < BASE || addr >= BASE + sizeof(c->bytes))
		return -ENOENT;
	if (len > BASE + sizeof(c->bytes) - addr)
		len = BASE + sizeof(c->bytes) - addr;
	memcpy(buf, c->bytes + (addr - BASE), len);
	return (int)len;
}

/* Writes `len` bytes at addr; returns the address after them. */
static uint64_t put(struct code *c, uint64_t addr, const uint8_t *bytes, size_t len)
{
	memcpy(c->bytes + (addr - BASE), bytes, len);
	return addr + len;
}

/* call rel32 at addr to target. */
static uint64_t put_call(struct code *c, uint64_t addr, uint64_t target)
{
	int32_t rel = (int32_t)(target - (addr + 5));
	uint8_t call[5] = {0xe8};

	memcpy(call + 1, &rel, sizeof(rel));
	return put(c, addr, call, sizeof(call));
}

static const uint8_t SUB_18[] = {0x48, 0x83, 0xec, 0x18};  /* sub $0x18, %rsp */
static const uint8_t SUB_8[] = {0x48, 0x83, 0xec, 0x08};   /* sub $0x8, %rsp */
static const uint8_t TEST_JS[] = {0x85, 0xd2, 0x78, 0x20}; /* test %edx,%edx; js +0x20 */
static const uint8_t ARGS[] = {0x48, 0x89, 0xe1,	   /* mov %rsp, %rcx */
			       0x48, 0x63, 0xd2};	   /* movslq %edx, %rdx */
static const uint8_t RET[] = {0xc3};
static const uint8_t PUSH_R14[] = {0x41, 0x56};

/* The shape of Debian's OpenSSL 3.0: SSL_write = sub; test; js; args; call
 * worker; SSL_write_ex = sub; call worker; worker = push %r14. */
static void debian_like(struct code *c, uint64_t write_target, uint64_t ex_target)
{
	uint64_t at;

	memset(c, 0xcc, sizeof(*c));
	at = put(c, PUB, SUB_18, sizeof(SUB_18));
	at = put(c, at, TEST_JS, sizeof(TEST_JS));
	at = put(c, at, ARGS, sizeof(ARGS));
	at = put_call(c, at, write_target);
	put(c, at, RET, sizeof(RET));
	at = put(c, PUB_EX, SUB_8, sizeof(SUB_8));
	at = put_call(c, at, ex_target);
	put(c, at, RET, sizeof(RET));
	at = put(c, WORKER, PUSH_R14, sizeof(PUSH_R14));
	put(c, at, RET, sizeof(RET));
	at = put(c, OTHER, PUSH_R14, sizeof(PUSH_R14));
	put(c, at, RET, sizeof(RET));
}

static enum tls_pair_place place(struct code *c, uint64_t pub_ex, uint64_t *worker,
				 const char **why)
{
	*worker = 0;
	*why = NULL;
	return tls_place_pair(read_code, c, PUB, pub_ex, worker, why);
}

static void test_crafted_worker_found(void **state)
{
	struct code c;
	uint64_t worker;
	const char *why;

	(void)state;
	debian_like(&c, WORKER, WORKER);
	assert_int_equal(place(&c, PUB_EX, &worker, &why), TLS_PAIR_WORKER);
	assert_int_equal(worker, WORKER);
}

static void test_crafted_public_entries_cheap(void **state)
{
	struct code c;
	uint64_t worker;
	const char *why;

	(void)state;
	debian_like(&c, WORKER, WORKER);
	put(&c, PUB, (const uint8_t[]){0x55, 0x48, 0x89, 0xe5}, 4); /* push %rbp; mov %rsp,%rbp */
	put(&c, PUB_EX, (const uint8_t[]){0x55, 0x48, 0x89, 0xe5}, 4);
	assert_int_equal(place(&c, PUB_EX, &worker, &why), TLS_PAIR_PUBLIC);
	assert_int_equal(worker, 0);
	/* One cheap form is not enough: the other would trap on every call. */
	debian_like(&c, WORKER, WORKER);
	put(&c, PUB, (const uint8_t[]){0x55, 0x48, 0x89, 0xe5}, 4);
	assert_int_equal(place(&c, PUB_EX, &worker, &why), TLS_PAIR_WORKER);
	assert_int_equal(worker, WORKER);
}

/* A -fcf-protection build: every entry begins with endbr64, which the kernel
 * single-steps; the worker is probed on the instruction after it. */
static void test_crafted_endbr64_worker(void **state)
{
	static const uint8_t ENDBR64[] = {0xf3, 0x0f, 0x1e, 0xfa};
	struct code c;
	uint64_t worker;
	const char *why;
	uint64_t at;

	(void)state;
	memset(&c, 0xcc, sizeof(c));
	at = put(&c, PUB, ENDBR64, sizeof(ENDBR64));
	at = put(&c, at, SUB_18, sizeof(SUB_18));
	at = put(&c, at, TEST_JS, sizeof(TEST_JS));
	at = put(&c, at, ARGS, sizeof(ARGS));
	at = put_call(&c, at, WORKER);
	put(&c, at, RET, sizeof(RET));
	at = put(&c, PUB_EX, ENDBR64, sizeof(ENDBR64));
	at = put(&c, at, SUB_8, sizeof(SUB_8));
	at = put_call(&c, at, WORKER);
	put(&c, at, RET, sizeof(RET));
	at = put(&c, WORKER, ENDBR64, sizeof(ENDBR64));
	at = put(&c, at, PUSH_R14, sizeof(PUSH_R14));
	put(&c, at, RET, sizeof(RET));
	assert_int_equal(x86_endbr64_len(ENDBR64, sizeof(ENDBR64)), 4);
	assert_int_equal(x86_endbr64_len(ENDBR64, 3), 0);
	assert_int_equal(x86_endbr64_len(PUSH_R14, sizeof(PUSH_R14)), 0);
	assert_false(x86_uprobe_emulates(ENDBR64, sizeof(ENDBR64)));
	assert_int_equal(place(&c, PUB_EX, &worker, &why), TLS_PAIR_WORKER);
	assert_int_equal(worker, WORKER + 4);
	/* endbr64, then an instruction single-stepped as well: no better. */
	put(&c, WORKER + 4, SUB_18, sizeof(SUB_18));
	assert_int_equal(place(&c, PUB_EX, &worker, &why), TLS_PAIR_FALLBACK);
	assert_string_equal(why, "the worker's first instruction is not emulated either");
}

static void test_crafted_fallbacks(void **state)
{
	struct code c;
	uint64_t worker;
	const char *why;

	(void)state;
	/* The two forms call different functions. */
	debian_like(&c, WORKER, OTHER);
	assert_int_equal(place(&c, PUB_EX, &worker, &why), TLS_PAIR_FALLBACK);
	assert_string_equal(why, "the two forms call different functions");
	/* No _ex form to cross-check with. */
	debian_like(&c, WORKER, WORKER);
	assert_int_equal(place(&c, 0, &worker, &why), TLS_PAIR_FALLBACK);
	assert_string_equal(why, "no _ex form to cross-check a worker");
	/* The worker begins with an instruction the kernel single-steps. */
	debian_like(&c, WORKER, WORKER);
	put(&c, WORKER, SUB_18, sizeof(SUB_18));
	assert_int_equal(place(&c, PUB_EX, &worker, &why), TLS_PAIR_FALLBACK);
	assert_string_equal(why, "the worker's first instruction is not emulated either");
	/* rdi changes before the call: the callee's first argument is
	 * not the SSL object the caller got. */
	debian_like(&c, WORKER, WORKER);
	put(&c, PUB + 4, (const uint8_t[]){0x48, 0x89, 0xc7, 0x90}, 4); /* mov %rax,%rdi */
	assert_int_equal(place(&c, PUB_EX, &worker, &why), TLS_PAIR_FALLBACK);
	assert_string_equal(why, "no direct call with the arguments unchanged");
	/* esi (the buffer's low half) changes before the call. */
	debian_like(&c, WORKER, WORKER);
	put(&c, PUB + 4, (const uint8_t[]){0x31, 0xf6, 0x90, 0x90}, 4); /* xor %esi,%esi */
	assert_int_equal(place(&c, PUB_EX, &worker, &why), TLS_PAIR_FALLBACK);
	assert_string_equal(why, "no direct call with the arguments unchanged");
	/* A return before any call. */
	debian_like(&c, WORKER, WORKER);
	put(&c, PUB_EX + 4, RET, sizeof(RET));
	assert_int_equal(place(&c, PUB_EX, &worker, &why), TLS_PAIR_FALLBACK);
	assert_string_equal(why, "no direct call with the arguments unchanged");
	/* An indirect call (a PLT slot through the GOT) comes first. */
	debian_like(&c, WORKER, WORKER);
	put(&c, PUB_EX + 4, (const uint8_t[]){0xff, 0x15, 0, 0, 0, 0}, 6);
	assert_int_equal(place(&c, PUB_EX, &worker, &why), TLS_PAIR_FALLBACK);
	assert_string_equal(why, "no direct call with the arguments unchanged");
	/* Unreadable code. */
	debian_like(&c, WORKER, WORKER);
	assert_int_equal(tls_place_pair(read_code, &c, 0x9000, PUB_EX, &worker, &why),
			 TLS_PAIR_FALLBACK);
	assert_string_equal(why, "code unreadable");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_libssl_pairs_at_their_workers),
	    cmocka_unit_test(test_node_pairs_at_their_entries),
	    cmocka_unit_test(test_emulated_first_instructions),
	    cmocka_unit_test(test_crafted_worker_found),
	    cmocka_unit_test(test_crafted_public_entries_cheap),
	    cmocka_unit_test(test_crafted_endbr64_worker),
	    cmocka_unit_test(test_crafted_fallbacks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
