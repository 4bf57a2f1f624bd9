/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * socket_lookup.bpf.h - from a file descriptor of the current process to the
 * TCP socket behind it, and from the socket to the connection tuple.
 *
 * Syscall tracepoints only see the fd number, so the fd table is walked with
 * CO-RE reads (current->files->fdt->fd[fd]). Works from any program type.
 */
#ifndef KSPAN_SOCKET_LOOKUP_BPF_H
#define KSPAN_SOCKET_LOOKUP_BPF_H

#include "base/kernel.bpf.h"
#include "kspan_abi.h"

#define KSPAN_SOCK_STREAM 1
#define KSPAN_IPPROTO_TCP 6
#define KSPAN_S_IFMT	  00170000
#define KSPAN_S_IFSOCK	  0140000

/* The sequence number just past the last byte queued on a TCP socket
 * (tcp_sock.write_seq): it moves with every byte any path writes - write,
 * sendmsg, sendfile, splice, io_uring, bytes an sk_msg program inserted - so
 * two reads that differ by more than the bytes kspan saw written tell that
 * some were not. */
static __always_inline __u32 socket__write_seq(__u64 sk)
{
	return BPF_CORE_READ((struct tcp_sock *)sk, write_seq);
}

/* Has nothing been written to the socket yet? No data segment ever sent
 * (TCP Fast Open data counts), and nothing queued unsent. */
static __always_inline bool socket__nothing_written(__u64 sk)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;

	return BPF_CORE_READ(tp, data_segs_out) == 0 &&
	       BPF_CORE_READ(tp, write_seq) == BPF_CORE_READ(tp, snd_nxt);
}

/* The socket's cookie (sock_gen_cookie), 0 until a BPF program or the
 * kernel first asked for it: kspan's sock_ops does when the socket enters
 * the sockhash, so every socket the sk_msg program sees has one. */
static __always_inline __u64 socket__cookie(__u64 sk)
{
	return (__u64)BPF_CORE_READ((struct sock *)sk, __sk_common.skc_cookie.counter);
}

/* The open file at `fd` of the current process, or NULL. */
static __always_inline struct file *file__from_fd(__u32 fd)
{
	/* A BTF pointer: the first hops are plain loads, no helper calls. */
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = task->files->fdt;
	struct file **fds;
	struct file *file = NULL;

	if (!fdt || fd >= fdt->max_fds)
		return NULL;
	fds = fdt->fd;
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]))
		return NULL;
	return file;
}

/* The struct sock of a TCP (stream, IPv4/IPv6) socket opened as `file`, or
 * NULL. */
static __always_inline struct sock *socket__from_file(struct file *file)
{
	struct socket *sock;
	struct sock *sk;
	__u16 family;
	short type;

	if (!file)
		return NULL;
	if ((BPF_CORE_READ(file, f_inode, i_mode) & KSPAN_S_IFMT) != KSPAN_S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	if (!sock)
		return NULL;
	type = BPF_CORE_READ(sock, type);
	if (type != KSPAN_SOCK_STREAM)
		return NULL;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return NULL;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != KSPAN_AF_INET && family != KSPAN_AF_INET6)
		return NULL;
	return sk;
}

/* The struct sock of a TCP (stream, IPv4/IPv6) socket at `fd`, or NULL. */
static __always_inline struct sock *socket__from_fd(__u32 fd)
{
	return socket__from_file(file__from_fd(fd));
}

/* Is `sk` a TCP socket (IPv4 or IPv6)? The socket-function front-ends see
 * every caller of inet_csk_accept (DCCP, MPTCP too). */
static __always_inline bool socket__is_tcp(struct sock *sk)
{
	__u16 family;

	if (!sk || BPF_CORE_READ(sk, sk_type) != KSPAN_SOCK_STREAM ||
	    BPF_CORE_READ(sk, sk_protocol) != KSPAN_IPPROTO_TCP)
		return false;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	return family == KSPAN_AF_INET || family == KSPAN_AF_INET6;
}

/* Fills the tuple as seen from this end: local = our address and port. */
static __always_inline void socket__read_tuple(struct sock *sk, struct kspan_conn_tuple *t)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	t->family = family;
	t->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	t->remote_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == KSPAN_AF_INET) {
		__u32 l = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 r = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__builtin_memcpy(t->local_addr, &l, 4);
		__builtin_memcpy(t->remote_addr, &r, 4);
	} else {
		BPF_CORE_READ_INTO(&t->local_addr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&t->remote_addr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
	t->netns_ino = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

/* Start time of the current process (its thread-group leader): together with
 * the tgid it names a process across pid reuse. */
static __always_inline __u64 task__process_start_ns(void)
{
	return bpf_get_current_task_btf()->group_leader->start_time;
}

#endif /* KSPAN_SOCKET_LOOKUP_BPF_H */
