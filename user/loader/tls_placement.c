// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tls_placement.c - choosing between OpenSSL's public read/write functions
 * and the internal worker they share, by decoding their first bytes. */
#include <stdbool.h>

#include "loader/tls_placement.h"
#include "loader/x86_decode.h"

/* Enough for SSL_write's prologue up to its worker's call (0x1e bytes in
 * Debian's 3.0) and for one instruction. */
#define PROLOGUE_BYTES 160

/* The code at addr: its length read, 0 when unreadable. */
static size_t code_at(tls_code_reader read, void *ctx, uint64_t addr, uint8_t *buf)
{
	int n = read(ctx, addr, buf, PROLOGUE_BYTES);

	return n > 0 ? (size_t)n : 0;
}

enum tls_pair_place tls_place_pair(tls_code_reader read, void *ctx, uint64_t pub, uint64_t pub_ex,
				   uint64_t *worker, const char **why)
{
	uint8_t code[PROLOGUE_BYTES], code_ex[PROLOGUE_BYTES], head[PROLOGUE_BYTES];
	size_t n = code_at(read, ctx, pub, code), n_ex = 0, n_head, skip;
	uint64_t target, target_ex;

	if (pub_ex)
		n_ex = code_at(read, ctx, pub_ex, code_ex);
	if (n == 0 || (pub_ex && n_ex == 0)) {
		*why = "code unreadable";
		return TLS_PAIR_FALLBACK;
	}
	if (x86_uprobe_emulates(code, n) && (!pub_ex || x86_uprobe_emulates(code_ex, n_ex)))
		return TLS_PAIR_PUBLIC;
	if (!pub_ex) {
		*why = "no _ex form to cross-check a worker";
		return TLS_PAIR_FALLBACK;
	}
	if (x86_first_call_keeping_args(code, n, pub, &target) != 0 ||
	    x86_first_call_keeping_args(code_ex, n_ex, pub_ex, &target_ex) != 0) {
		*why = "no direct call with the arguments unchanged";
		return TLS_PAIR_FALLBACK;
	}
	if (target != target_ex) {
		*why = "the two forms call different functions";
		return TLS_PAIR_FALLBACK;
	}
	n_head = code_at(read, ctx, target, head);
	/* A -fcf-protection build: the probe goes after the worker's endbr64
	 * (x86_endbr64_len). */
	skip = x86_endbr64_len(head, n_head);
	if (!x86_uprobe_emulates(head + skip, n_head - skip)) {
		*why = "the worker's first instruction is not emulated either";
		return TLS_PAIR_FALLBACK;
	}
	*worker = target + skip;
	return TLS_PAIR_WORKER;
}
