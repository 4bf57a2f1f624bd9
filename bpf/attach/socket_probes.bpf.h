/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * socket_probes.bpf.h - the probe bodies of the socket-function front-ends
 * (kprobe and fentry), which hook the kernel's TCP functions instead of the
 * system calls: every syscall that moves bytes on a TCP socket (read, readv,
 * recvfrom, recvmsg, write, writev, sendto, sendmsg; io_uring too) reaches
 * tcp_recvmsg or tcp_sendmsg, and sendfile reaches tcp_sendpage (until 6.5)
 * or tcp_sendmsg with a kernel-page iterator (6.5+).
 *
 * These hooks see a struct sock, never an fd; connections are keyed by the
 * socket, per process (conn_key), as on the tracepoint front-end. The bytes
 * are found through the msghdr's iov_iter, remembered at entry (the iterator
 * advances while the function copies) and read at return, like the syscall
 * bodies do.
 * What they cannot see: a read that was already blocked in tcp_recvmsg when
 * kspan attached (its entry is lost; the connection is adopted at its next
 * read or write).
 */
#ifndef KSPAN_SOCKET_PROBES_BPF_H
#define KSPAN_SOCKET_PROBES_BPF_H

#include "attach/syscall_probes.bpf.h"
#include "base/core_fixes.bpf.h"

/*
 * The user memory a msghdr's iterator will copy from or to: a flat buffer
 * (*iovcnt = 0) of *flat_len bytes (the iterator's count) or an iovec array
 * of user buffers. False for kernel memory (kvec, bvec:
 * splice, sendfile on 6.5+, in-kernel sockets). The iterator's layout differs
 * between kernels: base/core_fixes.bpf.h. `btf`: msg is typed (KERNEL_FIELD);
 * its pointer fields are probe reads all the same (their value is a number
 * here, and 6.1 types the buffer's as an iovec pointer).
 */
static __always_inline bool msg__user_memory(struct msghdr *msg, bool btf, __u64 *buf,
					     __u32 *iovcnt, __u32 *flat_len)
{
	__u8 type = KERNEL_FIELD(btf, msg, msg_iter.iter_type);
	__u64 offset = KERNEL_FIELD(btf, msg, msg_iter.iov_offset);

	if (iter_type__is_ubuf(type)) {
		*buf = (__u64)BPF_CORE_READ(msg, msg_iter.ubuf) + offset;
		*iovcnt = 0;
		*flat_len = msg__iter_count(msg, btf);
		return true;
	}
	if (!iter_type__is_iovec(type) || offset)
		return false; /* a partly consumed iovec array: not a message start */
	*buf = msg__iovec_array(msg);
	/* The array is the kernel's copy of the process's (import_iovec). */
	*iovcnt = (__u32)KERNEL_FIELD(btf, msg, msg_iter.nr_segs) | CAPTURE_IOV_KERNEL;
	return *buf != 0;
}

/* tcp_sendmsg / tcp_recvmsg entry (`btf`: the arguments are typed, fentry's;
 * kprobe's are addresses). */
static __always_inline int sock_probe__data_enter(struct sock *sk, struct msghdr *msg, bool btf,
						  __u8 direction, __u64 flags)
{
	__u64 id = bpf_get_current_pid_tgid(), buf = 0;
	__u32 iovcnt = 0, flat_len = 0;
	__u8 kind = direction == KSPAN_DIR_INGRESS ? KSPAN_SYS_RECVMSG : KSPAN_SYS_SENDMSG;

	/* MSG_PEEK leaves the bytes in the socket: they are read again later. */
	if ((flags & KSPAN_MSG_PEEK) || !process__selected(id >> 32) ||
	    probe__tls_nested(id, (__u64)sk))
		return 0;
	if (!msg__user_memory(msg, btf, &buf, &iovcnt, &flat_len)) {
		/* Bytes the process reads into kernel memory are not its own. */
		if (direction == KSPAN_DIR_INGRESS)
			return 0;
		kind = KSPAN_SYS_SENDFILE; /* counted, not captured */
	}
	probe__remember(thread_io__mine(), id, 0, (__u64)sk, buf, iovcnt, flat_len, kind, direction,
			0);
	return 0;
}

/* tcp_sendpage entry (sendfile and splice before 6.5): file pages, counted
 * so that Content-Length framing and timing stay exact. */
static __always_inline int sock_probe__sendpage_enter(struct sock *sk)
{
	__u64 id = bpf_get_current_pid_tgid();

	if (process__selected(id >> 32))
		probe__remember(thread_io__mine(), id, 0, (__u64)sk, 0, 0, 0, KSPAN_SYS_SENDFILE,
				KSPAN_DIR_EGRESS, 0);
	return 0;
}

/* Return of the functions above: `ret` bytes were moved. */
static __always_inline int sock_probe__data_exit(long ret)
{
	return probe__io_exit(ret);
}

/* inet_csk_accept returned `sk`: the current process is its server. */
static __always_inline int sock_probe__accepted(struct sock *sk)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (!socket__is_tcp(sk) || !process__selected(tgid))
		return 0;
	conn__close_socket(tgid, (__u64)sk);
	conn__get(tgid, (__u64)sk, KSPAN_ROLE_SERVER, false);
	return 0;
}

/* tcp_connect: the SYN is about to leave, both endpoints are known. */
static __always_inline int sock_probe__connect(struct sock *sk)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (tgid == self_tgid) {
		/* kspan's own connection (its exporter): remember its endpoint. */
		self__note_endpoint(sk, true);
		return 0;
	}
	if (!process__selected(tgid))
		return 0;
	conn__close_socket(tgid, (__u64)sk);
	conn__get(tgid, (__u64)sk, KSPAN_ROLE_CLIENT, false);
	node__connected((__u64)sk);
	return 0;
}

/* tcp_close: the last reference to the socket is gone. It runs in the
 * process that closed last (the server child of a forking server, usually
 * the one that used it); entries of other processes age out of the LRU
 * table, and a new connection on a reused socket starts over at accept or
 * connect. */
static __always_inline int sock_probe__close(struct sock *sk)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (tgid == self_tgid) {
		self__note_endpoint(sk, false);
		return 0;
	}
	if (process__selected(tgid))
		conn__close_socket(tgid, (__u64)sk);
	return 0;
}

#endif /* KSPAN_SOCKET_PROBES_BPF_H */
