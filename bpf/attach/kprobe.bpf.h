/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * kprobe.bpf.h - the kprobe front-end: kprobes and kretprobes on the
 * kernel's TCP functions (CONFIG_KPROBES, any kernel with BTF). Each program
 * only unpacks its registers and calls socket_probes.bpf.h. Loaded only when
 * the loader picks this backend (section prefix kprobe/ and kretprobe/).
 *
 * A kretprobe fires for at most `maxactive` calls in flight at once (the
 * kernel default is 2 per CPU, at least 10): beyond that many threads
 * blocked in tcp_recvmsg, returns are missed and their bytes not seen.
 */
#ifndef KSPAN_KPROBE_BPF_H
#define KSPAN_KPROBE_BPF_H

#include "attach/socket_probes.bpf.h"

/* The attach macros give every program a ctx that it may not use. */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunused-parameter"

SEC("kprobe/tcp_sendmsg")
int BPF_KPROBE(kspan_kprobe_tcp_sendmsg, struct sock *sk, struct msghdr *msg)
{
	return sock_probe__data_enter(sk, msg, false, KSPAN_DIR_EGRESS, 0);
}

SEC("kretprobe/tcp_sendmsg")
int BPF_KRETPROBE(kspan_kretprobe_tcp_sendmsg, int ret)
{
	return sock_probe__data_exit(ret);
}

SEC("kprobe/tcp_recvmsg")
int BPF_KPROBE(kspan_kprobe_tcp_recvmsg, struct sock *sk, struct msghdr *msg)
{
	__u64 fourth = PT_REGS_PARM4(ctx), fifth = PT_REGS_PARM5(ctx);

	/* Both loaded at fixed offsets: the verifier refuses a ctx pointer that
	 * clang would otherwise offset by a selected amount. */
	asm volatile("" : "+r"(fourth), "+r"(fifth));
	return sock_probe__data_enter(sk, msg, false, KSPAN_DIR_INGRESS,
				      tcp_recvmsg_flags_arg == 4 ? fifth : fourth);
}

SEC("kretprobe/tcp_recvmsg")
int BPF_KRETPROBE(kspan_kretprobe_tcp_recvmsg, int ret)
{
	return sock_probe__data_exit(ret);
}

/* A socket in a sockhash with an sk_msg program (kspan's header insertion)
 * sends through tcp_bpf_sendmsg instead of tcp_sendmsg. */
SEC("kprobe/tcp_bpf_sendmsg")
int BPF_KPROBE(kspan_kprobe_tcp_bpf_sendmsg, struct sock *sk, struct msghdr *msg)
{
	return sock_probe__data_enter(sk, msg, false, KSPAN_DIR_EGRESS, 0);
}

SEC("kretprobe/tcp_bpf_sendmsg")
int BPF_KRETPROBE(kspan_kretprobe_tcp_bpf_sendmsg, int ret)
{
	return sock_probe__data_exit(ret);
}

/* Kernels before 6.5 only; the loader leaves these out when the kernel has
 * no tcp_sendpage. */
SEC("kprobe/tcp_sendpage")
int BPF_KPROBE(kspan_kprobe_tcp_sendpage, struct sock *sk)
{
	return sock_probe__sendpage_enter(sk);
}

SEC("kretprobe/tcp_sendpage")
int BPF_KRETPROBE(kspan_kretprobe_tcp_sendpage, int ret)
{
	return sock_probe__data_exit(ret);
}

SEC("kretprobe/inet_csk_accept")
int BPF_KRETPROBE(kspan_kretprobe_inet_csk_accept, struct sock *sk)
{
	return sock_probe__accepted(sk);
}

SEC("kprobe/tcp_connect")
int BPF_KPROBE(kspan_kprobe_tcp_connect, struct sock *sk)
{
	return sock_probe__connect(sk);
}

SEC("kprobe/tcp_close")
int BPF_KPROBE(kspan_kprobe_tcp_close, struct sock *sk)
{
	return sock_probe__close(sk);
}

#pragma clang diagnostic pop

#endif /* KSPAN_KPROBE_BPF_H */
