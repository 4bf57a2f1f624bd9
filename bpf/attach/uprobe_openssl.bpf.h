/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * uprobe_openssl.bpf.h - uprobes on OpenSSL's plaintext calls (libssl.so.3,
 * .so.1.1, or OpenSSL linked into an executable), loaded with every backend
 * and attached by user/loader/tls_libraries.c to each library file:
 *
 *   int SSL_write(SSL *s, const void *buf, int num);
 *   int SSL_write_ex(SSL *s, const void *buf, size_t num, size_t *written);
 *   int SSL_read(SSL *s, void *buf, int num);
 *   int SSL_read_ex(SSL *s, void *buf, size_t num, size_t *readbytes);
 *   int SSL_do_handshake(SSL *s);     (SSL_connect and SSL_accept call it)
 *
 * One entry program per function (the handshake's moves no plaintext),
 * one return program for all: the entry remembers what the
 * return needs (capture/tls_calls.bpf.h). SSL_write
 * and SSL_write_ex return > 0 / 1 on success (OpenSSL's ssl_lib.c calls
 * ssl_write_internal from both, never one from the other, so a call is never
 * nested in another on the same thread).
 *
 * Where the public functions begin with an instruction the kernel
 * single-steps (a trap per call), the loader attaches the _ex programs to
 * the workers both forms call instead (user/loader/tls_placement.h):
 *
 *   int ssl_write_internal(SSL *s, const void *buf, size_t num, size_t *written);
 *   int ssl_read_internal(SSL *s, void *buf, size_t num, size_t *readbytes);
 *
 * They have the _ex arguments and return 1 on success, 0 or -1 (WANT_READ,
 * WANT_WRITE, an error) otherwise, the length in *written / *readbytes; for
 * SSL_write that pointer is a local of SSL_write's frame, still live at the
 * worker's return. One call of either form is one worker call: nothing
 * nests. OpenSSL's SSL BIO (BIO_f_ssl) calls the workers directly, so its
 * plaintext is seen there too.
 *
 * Uprobe programs run with migration but not preemption disabled: another
 * task can run a BPF program on the same CPU in the middle of one, and since
 * 6.13 programs of this type may run on a per-CPU private stack, which that
 * would corrupt. Where the kernel has bpf_preempt_disable (6.10+) and the
 * verifier allows global functions under it (the loader finds out: it
 * clears tls_preempt_guard and loads again when not), the bodies run with
 * preemption disabled; the per-CPU scratch they use is then theirs alone.
 */
#ifndef KSPAN_UPROBE_OPENSSL_BPF_H
#define KSPAN_UPROBE_OPENSSL_BPF_H

#include "attach/data_path.bpf.h"
#include "capture/tls_calls.bpf.h"
#include "propagation/tls_tx.bpf.h"

extern void bpf_preempt_disable(void) __weak __ksym;
extern void bpf_preempt_enable(void) __weak __ksym;

static __always_inline void tls__entry(struct tls_call *call)
{
	__u64 id = bpf_get_current_pid_tgid();

	if (!process__selected(id >> 32))
		return;
	tls__call_enter(id, call);
	if (call->direction == KSPAN_DIR_EGRESS)
		kspan_tls_client_enter(call);
	tls__call_remember(id, call);
}

static __always_inline int tls__entry_args(__u64 ssl, __u64 buf, __u64 len, __u64 len_out,
					   __u8 direction, bool guarded)
{
	struct tls_call call = {
	    .ssl = ssl,
	    .buf = buf,
	    .len_out = len_out,
	    .len = len > 0x7fffffff ? 0x7fffffff : (__u32)len,
	    .direction = direction,
	};

	if (guarded)
		bpf_preempt_disable();
	tls__entry(&call);
	if (guarded)
		bpf_preempt_enable();
	return 0;
}

/* ret: the function's int result (the upper half of rax is undefined). */
static __always_inline void tls__return(int ret)
{
	__u64 id = bpf_get_current_pid_tgid(), moved = 0;
	struct inflight_syscall in;
	struct tls_call *p = bpf_map_lookup_elem(&tls_calls, &id);
	struct tls_call call;

	if (!p) {
		if (process__selected(id >> 32))
			counter__inc(KSPAN_CNT_TLS_CALLS_LOST);
		return;
	}
	if (p->depth) {
		p->depth--; /* the return of a call inside this one */
		return;
	}
	call = *p;
	bpf_map_delete_elem(&tls_calls, &id);
	tls__bind_membio(id, &call);
	if (!call.direction)
		return; /* handshake or shutdown: no plaintext */
	if (call.len_out) {
		/* _ex: 1 on success, the length in *len_out. */
		if (ret != 1 || bpf_probe_read_user(&moved, sizeof(moved), (void *)call.len_out))
			moved = 0;
	} else if (ret > 0) {
		moved = (__u64)ret;
	}
	if (moved == 0 || moved > call.len) {
		/* Nothing moved (SSL_write of 0 bytes, WANT_READ, close_notify):
		 * a write is retried with the same bytes, which are then the
		 * same request. */
		tls_tx__retract(&call);
		return;
	}
	if (tls__call_exit(&call, (__u32)moved, &in))
		data__handle(&in, (__u32)moved, true);
}

/* The programs, in two sets: with preemption disabled (`guarded`), and
 * without, for kernels that lack bpf_preempt_disable (before 6.10) or whose
 * verifier refuses global functions under it (before 6.15?): the loader
 * loads one set (user/loader/tls_libraries.c). */
#define KSPAN_SSL_ENTRY(name, guarded, has_len_out, direction)                                     \
	SEC("uprobe")                                                                              \
	int name(struct pt_regs *ctx)                                                              \
	{                                                                                          \
		return tls__entry_args(PT_REGS_PARM1(ctx), PT_REGS_PARM2(ctx),                     \
				       has_len_out ? PT_REGS_PARM3(ctx)                            \
						   : (__u64)(__u32)PT_REGS_PARM3(ctx),             \
				       has_len_out ? PT_REGS_PARM4(ctx) : 0, direction, guarded);  \
	}

#define KSPAN_SSL_RETURN(name, guarded)                                                            \
	SEC("uretprobe")                                                                           \
	int name(struct pt_regs *ctx)                                                              \
	{                                                                                          \
		int ret = (int)PT_REGS_RC(ctx);                                                    \
                                                                                                   \
		if (guarded)                                                                       \
			bpf_preempt_disable();                                                     \
		tls__return(ret);                                                                  \
		if (guarded)                                                                       \
			bpf_preempt_enable();                                                      \
		return 0;                                                                          \
	}

/* SSL_write and SSL_read take an int length: only its low 32 bits are set. */
KSPAN_SSL_ENTRY(kspan_uprobe_ssl_write, true, false, KSPAN_DIR_EGRESS)
KSPAN_SSL_ENTRY(kspan_uprobe_ssl_write_ex, true, true, KSPAN_DIR_EGRESS)
KSPAN_SSL_ENTRY(kspan_uprobe_ssl_read, true, false, KSPAN_DIR_INGRESS)
KSPAN_SSL_ENTRY(kspan_uprobe_ssl_read_ex, true, true, KSPAN_DIR_INGRESS)
/* SSL_do_handshake: only its syscalls matter. */
KSPAN_SSL_ENTRY(kspan_uprobe_ssl_do_handshake, true, false, 0)
KSPAN_SSL_RETURN(kspan_uretprobe_ssl_return, true)

KSPAN_SSL_ENTRY(kspan_uprobe_ssl_write_preemptible, false, false, KSPAN_DIR_EGRESS)
KSPAN_SSL_ENTRY(kspan_uprobe_ssl_write_ex_preemptible, false, true, KSPAN_DIR_EGRESS)
KSPAN_SSL_ENTRY(kspan_uprobe_ssl_read_preemptible, false, false, KSPAN_DIR_INGRESS)
KSPAN_SSL_ENTRY(kspan_uprobe_ssl_read_ex_preemptible, false, true, KSPAN_DIR_INGRESS)
KSPAN_SSL_ENTRY(kspan_uprobe_ssl_do_handshake_preemptible, false, false, 0)
KSPAN_SSL_RETURN(kspan_uretprobe_ssl_return_preemptible, false)

#endif /* KSPAN_UPROBE_OPENSSL_BPF_H */
