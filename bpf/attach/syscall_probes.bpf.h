/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * syscall_probes.bpf.h - the probe bodies, independent of how they are
 * attached. The tracepoint front-end (tracepoint.bpf.h) only extracts the
 * syscall arguments and calls these; the socket-function front-ends (kprobe,
 * fentry) reach them through socket_probes.bpf.h.
 */
#ifndef KSPAN_SYSCALL_PROBES_BPF_H
#define KSPAN_SYSCALL_PROBES_BPF_H

#include "attach/data_path.bpf.h"
#include "base/conn_tracking.bpf.h"
#include "base/core_fixes.bpf.h"
#include "propagation/http1_tx.bpf.h"
#include "propagation/http2_tx.bpf.h"
#include "propagation/tls_tx.bpf.h"

/* Internal syscall kinds that never reach the ABI. */
#define INFLIGHT_CONNECT      100
#define INFLIGHT_SELF_CONNECT 101

#define KSPAN_MSG_PEEK	  2
#define KSPAN_EINPROGRESS 115

/* The CLIENT side of a write's entry (HTTP/1 request context, HTTP/2
 * stream contexts and header insertion plans), on its remembered entry. */
static __always_inline void probe__client_enter(struct inflight_syscall *in)
{
	int h2 = kspan_client_request_enter(in);

	if (h2)
		kspan_h2_tx_enter(in, h2 == CLIENT_ENTER_H2_PREFACE);
}

/*
 * Remembers a syscall until its exit. A write's CLIENT side is decided now
 * (decide_now), or left to the caller, which then calls
 * probe__client_enter_remembered(): returns true when it must.
 */
static __always_inline bool probe__remember(__u64 id, __u64 sk, __u64 buf, __u32 iovcnt,
					    __u32 flat_len, __u8 syscall, __u8 direction,
					    bool decide_now)
{
	struct inflight_syscall in = {
	    .sk = sk,
	    .buf = buf,
	    .ts_enter = bpf_ktime_get_ns(),
	    .iovcnt = iovcnt,
	    .flat_len = flat_len,
	    .syscall = syscall,
	    .direction = direction,
	};
	bool client = direction == KSPAN_DIR_EGRESS && syscall != KSPAN_SYS_SENDFILE;

	if (client && decide_now)
		probe__client_enter(&in);
	if (bpf_map_update_elem(&inflight, &id, &in, BPF_ANY)) {
		counter__inc(KSPAN_CNT_INFLIGHT_FULL);
		/* No exit will find the write: its plan must not outlive it
		 * (the connection is given up at its next write, whose entry
		 * finds write_seq moved). */
		if (client)
			bpf_map_delete_elem(&h2_tx_plans, &id);
		return false;
	}
	return client && !decide_now;
}

/* probe__client_enter() on the current thread's remembered write. */
static __always_inline int probe__client_enter_remembered(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct inflight_syscall *in = bpf_map_lookup_elem(&inflight, &id);

	if (in)
		probe__client_enter(in);
	return 0;
}

/* A syscall on socket sk made inside a TLS library call: ciphertext, never
 * remembered (so neither captured nor edited: the sk_msg program finds no
 * plan for it). A write's plaintext request is decided now if its call's
 * entry could not (the session's socket was unknown). Returns true when the
 * syscall must be skipped. */
static __always_inline bool probe__tls_nested(__u64 id, __u64 sk)
{
	struct tls_call *call = tls__nested_syscall(id, sk);

	if (!call)
		return false;
	kspan_tls_client_enter(call);
	return true;
}

/* Entry of read/write-like syscalls: remember them only for TCP sockets of
 * selected processes, so that file and pipe I/O costs one fd lookup.
 * Returns 1 when the write's CLIENT side is still to be decided
 * (probe__client_enter_remembered), which the tracepoint front-ends do in
 * one program they tail-call. */
static __always_inline int probe__io_enter(__u32 fd, __u64 buf, __u32 iovcnt, __u8 syscall,
					   __u8 direction)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sock *sk;

	if (!process__selected(id >> 32))
		return 0;
	sk = socket__from_fd(fd);
	if (!sk || probe__tls_nested(id, (__u64)sk))
		return 0;
	return probe__remember(id, (__u64)sk, buf, iovcnt, FLAT_LEN_SYSCALL_ARG, syscall, direction,
			       false);
}

/* recvmsg/sendmsg: the bytes are behind msg->msg_iov. */
static __always_inline int probe__msg_enter(__u32 fd, __u64 user_msg, __u8 syscall, __u8 direction)
{
	/* Two fields, not the whole user_msghdr: a sendmsg entry calls
	 * kspan_client_request_enter, and the chain must stay within the
	 * verifier's 512-byte combined stack (6.1 counts every frame). */
	__u64 iov = 0, iovlen = 0;

	if (bpf_probe_read_user(
		&iov, sizeof(iov),
		(void *)(user_msg + __builtin_offsetof(struct user_msghdr, msg_iov))) ||
	    bpf_probe_read_user(
		&iovlen, sizeof(iovlen),
		(void *)(user_msg + __builtin_offsetof(struct user_msghdr, msg_iovlen))))
		return 0;
	return probe__io_enter(fd, iov, (__u32)iovlen, syscall, direction);
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

/*
 * A read that returned data but whose entry we never saw: it was blocked
 * when kspan attached - typically a server waiting on an idle keep-alive
 * connection, whose next request would otherwise be lost. The arguments are
 * still in the task's saved user registers: remember them as if the entry
 * had been seen, for the exit to handle. Only for a while after attach
 * (adopt_reads_until_ns): afterwards every traced read has a remembered
 * entry, and this would only cost time on non-socket reads.
 */
static __always_inline void probe__adopt_unseen_read(__u64 id, long ret, __u8 syscall)
{
	struct inflight_syscall in = {
	    .flat_len = FLAT_LEN_SYSCALL_ARG, .syscall = syscall, .direction = KSPAN_DIR_INGRESS};
	struct pt_regs *regs;
	struct sock *sk;

	if (ret <= 0 || !syscall || bpf_ktime_get_ns() >= adopt_reads_until_ns ||
	    !process__selected(id >> 32) || bpf_map_lookup_elem(&inflight, &id))
		return;
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	sk = socket__from_fd((__u32)PT_REGS_PARM1_CORE_SYSCALL(regs));
	if (!sk)
		return;
	in.sk = (__u64)sk;
	in.buf = PT_REGS_PARM2_CORE_SYSCALL(regs);
	in.ts_enter = bpf_ktime_get_ns(); /* unknown; a read's span uses its exit */
	switch (syscall) {
	case KSPAN_SYS_READV:
		in.iovcnt = (__u32)PT_REGS_PARM3_CORE_SYSCALL(regs);
		break;
	case KSPAN_SYS_RECVFROM:
		if (PT_REGS_PARM4_CORE_SYSCALL(regs) & KSPAN_MSG_PEEK)
			return;
		break;
	case KSPAN_SYS_RECVMSG: {
		struct user_msghdr msg;
		if ((PT_REGS_PARM3_CORE_SYSCALL(regs) & KSPAN_MSG_PEEK) ||
		    bpf_probe_read_user(&msg, sizeof(msg), (void *)in.buf))
			return;
		in.buf = (__u64)msg.msg_iov;
		in.iovcnt = (__u32)msg.msg_iovlen;
		break;
	}
	}
	if (bpf_map_update_elem(&inflight, &id, &in, BPF_NOEXIST))
		counter__inc(KSPAN_CNT_INFLIGHT_FULL);
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
		/* A new connection, whatever an entry left behind by a socket
		 * at the same address said (exit, or dup2() over the last fd,
		 * closes without a close() syscall). */
		if (ret == 0 || ret == -KSPAN_EINPROGRESS) {
			conn__close_socket(id >> 32, in.sk);
			conn__get(id >> 32, in.sk, KSPAN_ROLE_CLIENT, false);
		}
		return 0;
	}
	if (in.syscall == INFLIGHT_SELF_CONNECT) {
		if (ret == 0 || ret == -KSPAN_EINPROGRESS)
			self__note_endpoint((struct sock *)in.sk, true);
		return 0;
	}
	if (ret <= 0) {
		/* Nothing written: a plan of HTTP/2 streams must not outlive
		 * its write (http2_tx.bpf.h). */
		if (in.direction == KSPAN_DIR_EGRESS)
			bpf_map_delete_elem(&h2_tx_plans, &id);
		return 0;
	}
	data__handle(&in, (__u32)ret);
	return 0;
}

static __always_inline int probe__connect_enter(__u32 fd)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sock *sk;

	if ((__u32)(id >> 32) != self_tgid)
		return probe__io_enter(fd, 0, 0, INFLIGHT_CONNECT, 0);
	/* kspan's own connection (its exporter): remember its endpoint. */
	sk = socket__from_fd(fd);
	if (sk)
		probe__remember(id, (__u64)sk, 0, 0, 0, INFLIGHT_SELF_CONNECT, 0, true);
	return 0;
}

/* accept/accept4 returned a new connection: we are its server. */
static __always_inline int probe__accept_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sock *sk;

	if (ret < 0 || !process__selected(id >> 32))
		return 0;
	sk = socket__from_fd((__u32)ret);
	if (sk) {
		conn__close_socket(id >> 32, (__u64)sk);
		conn__get(id >> 32, (__u64)sk, KSPAN_ROLE_SERVER, false);
	}
	return 0;
}

/* close(fd) ends the connection when it drops the last reference to the
 * socket's file, as tcp_close does for the socket-function front-ends: a
 * dup()ed fd closed while another fd (or a forked child) still holds the
 * socket leaves it open. */
static __always_inline int probe__close_enter(__u32 fd)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct file *file;
	struct sock *sk;

	if ((__u32)(id >> 32) == self_tgid) {
		sk = socket__from_fd(fd);
		if (sk)
			self__note_endpoint(sk, false);
		return 0;
	}
	if (!process__selected(id >> 32))
		return 0;
	file = file__from_fd(fd);
	sk = socket__from_file(file);
	if (sk && file__is_last_reference(file))
		conn__close_socket(id >> 32, (__u64)sk);
	return 0;
}

#endif /* KSPAN_SYSCALL_PROBES_BPF_H */
