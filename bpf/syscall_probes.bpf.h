/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * syscall_probes.bpf.h - the probe bodies, independent of how they are
 * attached. A front-end (syscall tracepoints today; kprobe and fentry later)
 * only extracts the syscall arguments and calls these.
 */
#ifndef KSPAN_SYSCALL_PROBES_BPF_H
#define KSPAN_SYSCALL_PROBES_BPF_H

#include "data_capture.bpf.h"

#define KSPAN_MSG_PEEK 2
#define KSPAN_EINPROGRESS 115

static __always_inline void probe__remember(__u64 id, __u32 fd, __u64 sk, __u64 buf, __u32 iovcnt,
					    __u8 syscall, __u8 direction)
{
	struct inflight_syscall in = {
		.sk = sk,
		.buf = buf,
		.ts_enter = bpf_ktime_get_ns(),
		.fd = fd,
		.iovcnt = iovcnt,
		.syscall = syscall,
		.direction = direction,
	};

	if (bpf_map_update_elem(&inflight, &id, &in, BPF_ANY))
		counter__inc(KSPAN_CNT_INFLIGHT_FULL);
}

/* Entry of read/write-like syscalls: remember them only for TCP sockets of
 * selected processes, so that file and pipe I/O costs one fd lookup. */
static __always_inline int probe__io_enter(__u32 fd, __u64 buf, __u32 iovcnt, __u8 syscall,
					   __u8 direction)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sock *sk;

	if (!process__selected(id >> 32))
		return 0;
	sk = socket__from_fd(fd);
	if (!sk)
		return 0;
	probe__remember(id, fd, (__u64)sk, buf, iovcnt, syscall, direction);
	return 0;
}

/* recvmsg/sendmsg: the bytes are behind msg->msg_iov. */
static __always_inline int probe__msg_enter(__u32 fd, __u64 user_msg, __u8 syscall, __u8 direction)
{
	struct user_msghdr msg;

	if (bpf_probe_read_user(&msg, sizeof(msg), (void *)user_msg))
		return 0;
	return probe__io_enter(fd, (__u64)msg.msg_iov, (__u32)msg.msg_iovlen, syscall, direction);
}

static __always_inline int probe__recv_enter(__u32 fd, __u64 buf, __u32 iovcnt, __u64 flags,
					     __u8 syscall)
{
	/* MSG_PEEK leaves the bytes in the socket: they are read again later. */
	if (flags & KSPAN_MSG_PEEK)
		return 0;
	return probe__io_enter(fd, buf, iovcnt, syscall, KSPAN_DIR_INGRESS);
}

static __always_inline int probe__recvmsg_enter(__u32 fd, __u64 user_msg, __u64 flags)
{
	if (flags & KSPAN_MSG_PEEK)
		return 0;
	return probe__msg_enter(fd, user_msg, KSPAN_SYS_RECVMSG, KSPAN_DIR_INGRESS);
}

/* Exit of every syscall remembered above. */
static __always_inline int probe__io_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct inflight_syscall *p = bpf_map_lookup_elem(&inflight, &id);
	struct inflight_syscall in;

	if (!p)
		return 0;
	in = *p;
	bpf_map_delete_elem(&inflight, &id);
	if (in.syscall == INFLIGHT_CONNECT) {
		if (ret == 0 || ret == -KSPAN_EINPROGRESS)
			conn__get(id >> 32, in.fd, in.sk, KSPAN_ROLE_CLIENT, false);
		return 0;
	}
	if (ret <= 0)
		return 0;
	data__handle(&in, (__u32)ret);
	return 0;
}

static __always_inline int probe__connect_enter(__u32 fd)
{
	return probe__io_enter(fd, 0, 0, INFLIGHT_CONNECT, 0);
}

/* accept/accept4 returned a new connection: we are its server. */
static __always_inline int probe__accept_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sock *sk;

	if (ret < 0 || !process__selected(id >> 32))
		return 0;
	sk = socket__from_fd((__u32)ret);
	if (sk)
		conn__get(id >> 32, (__u32)ret, (__u64)sk, KSPAN_ROLE_SERVER, false);
	return 0;
}

static __always_inline int probe__close_enter(__u32 fd)
{
	__u64 id = bpf_get_current_pid_tgid();

	if (!process__selected(id >> 32))
		return 0;
	conn__close(id >> 32, fd);
	return 0;
}

#endif /* KSPAN_SYSCALL_PROBES_BPF_H */
