/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tls_placement.h - where OpenSSL's plaintext calls are probed in one file.
 *
 * A uprobe on an instruction the kernel cannot emulate executes it out of
 * line, a single step whose #DB trap a hypervisor may intercept: ~24 us a
 * hit on a virtual machine, against ~1 us for an emulated instruction
 * (x86_uprobe_emulates). OpenSSL 3.0's SSL_write, SSL_write_ex, SSL_read and
 * SSL_read_ex as Debian builds them begin with `sub $N, %rsp`: each call
 * of a probed process paid the trap. SSL_write and SSL_write_ex both call one
 * local function, ssl_write_internal(s, buf, size_t num, size_t *written),
 * which begins with pushes; SSL_read and SSL_read_ex call ssl_read_internal
 * the same way (ssl/ssl_lib.c, 1.1.1 and 3.x). Both have the _ex convention
 * and return 1, 0 or -1 with the length moved in *written / *readbytes. A
 * probe there sees every call of either public form, once.
 */
#ifndef KSPAN_TLS_PLACEMENT_H
#define KSPAN_TLS_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

/* Reads up to len bytes of code at virtual address addr: how many (> 0),
 * or a negative errno. */
typedef int (*tls_code_reader)(void *ctx, uint64_t addr, uint8_t *buf, size_t len);

enum tls_pair_place {
	TLS_PAIR_PUBLIC,   /* both public functions begin with an emulated instruction */
	TLS_PAIR_WORKER,   /* the worker both call (*worker) */
	TLS_PAIR_FALLBACK, /* the public functions, at a trap's cost (*why) */
};

/*
 * The place of one pair: the int form (SSL_write at `pub`) and the _ex form
 * (SSL_write_ex at `pub_ex`, 0 when the file lacks it). The worker is the
 * first direct call of pub reached with rdi and rsi unchanged; pub_ex must
 * call the same function the same way, and its first instruction must be
 * emulated. *why names what did not hold, for a fallback.
 */
enum tls_pair_place tls_place_pair(tls_code_reader read, void *ctx, uint64_t pub, uint64_t pub_ex,
				   uint64_t *worker, const char **why);

#endif /* KSPAN_TLS_PLACEMENT_H */
