/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * fentry.bpf.h - the fentry front-end: fentry and fexit (BPF
 * trampolines) on the kernel's TCP functions, the cheapest hooks where the
 * kernel allows them. Same targets and bodies as kprobe.bpf.h.
 * Loaded only when the loader picks this backend (section prefix fentry/ and
 * fexit/). Return values come from bpf_get_func_ret() and the recvmsg flags
 * from bpf_get_func_arg() (5.17+), so no program depends on the number of
 * arguments a kernel version gives a function.
 */
#ifndef KSPAN_FENTRY_BPF_H
#define KSPAN_FENTRY_BPF_H

#include "attach/socket_probes.bpf.h"

/* The attach macros give every program a ctx that it may not use. */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunused-parameter"

static __always_inline long fexit__ret(void *ctx)
{
	__u64 ret = 0;

	bpf_get_func_ret(ctx, &ret);
	return (long)ret;
}

SEC("fentry/tcp_sendmsg")
int BPF_PROG(kspan_fentry_tcp_sendmsg, struct sock *sk, struct msghdr *msg)
{
	return sock_probe__data_enter(sk, msg, true, KSPAN_DIR_EGRESS, 0);
}

SEC("fexit/tcp_sendmsg")
int BPF_PROG(kspan_fexit_tcp_sendmsg)
{
	return sock_probe__data_exit((int)fexit__ret(ctx));
}

SEC("fentry/tcp_recvmsg")
int BPF_PROG(kspan_fentry_tcp_recvmsg, struct sock *sk, struct msghdr *msg)
{
	__u64 flags = 0;

	bpf_get_func_arg(ctx, tcp_recvmsg_flags_arg, &flags);
	return sock_probe__data_enter(sk, msg, true, KSPAN_DIR_INGRESS, flags);
}

SEC("fexit/tcp_recvmsg")
int BPF_PROG(kspan_fexit_tcp_recvmsg)
{
	return sock_probe__data_exit((int)fexit__ret(ctx));
}

/* A socket in a sockhash with an sk_msg program (kspan's header insertion)
 * sends through tcp_bpf_sendmsg instead of tcp_sendmsg. */
SEC("fentry/tcp_bpf_sendmsg")
int BPF_PROG(kspan_fentry_tcp_bpf_sendmsg, struct sock *sk, struct msghdr *msg)
{
	return sock_probe__data_enter(sk, msg, true, KSPAN_DIR_EGRESS, 0);
}

SEC("fexit/tcp_bpf_sendmsg")
int BPF_PROG(kspan_fexit_tcp_bpf_sendmsg)
{
	return sock_probe__data_exit((int)fexit__ret(ctx));
}

/* Kernels before 6.5 only; the loader leaves these out when the kernel has
 * no tcp_sendpage. */
SEC("fentry/tcp_sendpage")
int BPF_PROG(kspan_fentry_tcp_sendpage, struct sock *sk)
{
	return sock_probe__sendpage_enter(sk);
}

SEC("fexit/tcp_sendpage")
int BPF_PROG(kspan_fexit_tcp_sendpage)
{
	return sock_probe__data_exit((int)fexit__ret(ctx));
}

SEC("fexit/inet_csk_accept")
int BPF_PROG(kspan_fexit_inet_csk_accept)
{
	return sock_probe__accepted((struct sock *)fexit__ret(ctx));
}

SEC("fentry/tcp_connect")
int BPF_PROG(kspan_fentry_tcp_connect, struct sock *sk)
{
	return sock_probe__connect(sk);
}

SEC("fentry/tcp_close")
int BPF_PROG(kspan_fentry_tcp_close, struct sock *sk)
{
	return sock_probe__close(sk);
}

#pragma clang diagnostic pop

#endif /* KSPAN_FENTRY_BPF_H */
