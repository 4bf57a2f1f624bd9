/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * syscall_probes.bpf.h - the probe bodies, independent of how they are
 * attached. The tracepoint front-end (tracepoint.bpf.h) only extracts the
 * syscall arguments and calls these; the socket-function front-ends (kprobe,
 * fentry) reach them through socket_probes.bpf.h. Writes (and connect) are
 * remembered at their entry, in the thread's task storage; reads are seen
 * at their exit only (their arguments are still in the saved registers).
 */
#ifndef KSPAN_SYSCALL_PROBES_BPF_H
#define KSPAN_SYSCALL_PROBES_BPF_H

#include "attach/data_path.bpf.h"
#include "attach/go_background_read.bpf.h"
#include "base/conn_tracking.bpf.h"
#include "base/core_fixes.bpf.h"
#include "base/inflight.bpf.h"
#include "base/socket_cache.bpf.h"
#include "propagation/http1_tx.bpf.h"
#include "propagation/http2_tx.bpf.h"
#include "propagation/tls_tx.bpf.h"

/* Internal syscall kinds that never reach the ABI. */
#define INFLIGHT_CONNECT      100
#define INFLIGHT_SELF_CONNECT 101

#define KSPAN_MSG_PEEK	  2
#define KSPAN_EINPROGRESS 115

/*
 * Remembers a syscall until its exit, in the slot of the thread's state t
 * (thread_io__mine(), base/inflight.bpf.h); `key` names the syscall for the exit (0: the
 * front-end has no name for it). A write's CLIENT side (HTTP/1 request
 * context, HTTP/2 stream contexts and header insertion plans) is decided
 * now, before its bytes can leave.
 */
static __always_inline void probe__remember(struct thread_io *t, __u64 id, __u64 key, __u64 sk,
					    __u64 buf, __u32 iovcnt, __u32 flat_len, __u8 syscall,
					    __u8 direction, __u8 hints)
{
	struct inflight_syscall *in = inflight__slot(t);
	int h2;

	if (!in)
		return;
	/* A write whose exit was never seen (kspan attached between the two)
	 * must not leave its insertion plan to this one. */
	if (in->in_hash)
		bpf_map_delete_elem(&inflight, &id);
	__builtin_memset(in, 0, sizeof(*in));
	in->key = key;
	in->sk = sk;
	in->buf = buf;
	in->iovcnt = iovcnt;
	in->flat_len = flat_len;
	in->syscall = syscall;
	in->direction = direction;
	in->io_flags = socket__hint_io_flags(hints);
	/* A SERVER connection's write (a response): no CLIENT side to decide,
	 * and no use for its entry time (a response's span time is its
	 * exit's; ts_enter 0 makes the event carry the exit's). */
	if (direction == KSPAN_DIR_EGRESS && (hints & SOCKET_HINT_SERVER))
		return;
	in->ts_enter = bpf_ktime_get_ns();
	if (direction != KSPAN_DIR_EGRESS || syscall == KSPAN_SYS_SENDFILE)
		return;
	h2 = kspan_client_request_enter(in);
	if (h2)
		kspan_h2_tx_enter(in, h2 == CLIENT_ENTER_H2_PREFACE);
	inflight__publish(id, in);
}

/* A syscall on socket sk made inside a TLS library call: ciphertext, never
 * remembered (so neither captured nor edited: the sk_msg program finds no
 * plan for it). A write's plaintext request is decided now if its call's
 * entry could not (the session's socket was unknown). Returns true when the
 * syscall must be skipped. */
__noinline int kspan_tls_nested_syscall(struct tls_call *call)
{
	if (!call)
		return 0;
	tls__bind_nested(bpf_get_current_pid_tgid(), call);
	kspan_tls_client_enter(call);
	return 0;
}

static __always_inline bool probe__tls_nested(__u64 id, __u64 sk)
{
	struct tls_call *call = bpf_map_lookup_elem(&tls_calls, &id);

	/* The common case, no TLS call in flight, costs one lookup; the rest
	 * is a global function, verified once and with its own stack frame
	 * (the socket-function front-ends decide a write's CLIENT side in the
	 * same program, within 6.1's 512-byte combined stack). The socket
	 * goes through the call's entry: the fentry front-end's is a BTF
	 * pointer, which a global function does not take as a number. */
	if (!call)
		return false;
	call->sk = sk;
	kspan_tls_nested_syscall(call);
	return true;
}

/* A read's exit inside a TLS library call: the same as probe__tls_nested,
 * less the CLIENT side a write decides, so that the read exit's call chain
 * stays within 6.1's 512-byte combined stack. */
__noinline int kspan_tls_nested_read(struct tls_call *call)
{
	if (!call)
		return 0;
	tls__bind_nested(bpf_get_current_pid_tgid(), call);
	return 0;
}

static __always_inline bool probe__tls_nested_read(__u64 id, __u64 sk)
{
	struct tls_call *call = bpf_map_lookup_elem(&tls_calls, &id);

	if (!call)
		return false;
	call->sk = sk;
	kspan_tls_nested_read(call);
	return true;
}

/* Entry of write-like syscalls (id: bpf_get_current_pid_tgid()): remembered
 * only for TCP sockets of selected processes, so that file and pipe I/O
 * costs one fd lookup. The thread's state serves both the socket cache and
 * the slot: one task storage get. */
static __always_inline int probe__io_enter(__u64 id, __u32 fd, __u64 key, __u64 buf, __u32 iovcnt,
					   __u32 flat_len, __u8 syscall, __u8 direction)
{
	struct thread_io *t;
	struct sock *sk;
	__u8 hints;

	if (!process__selected(id >> 32))
		return 0;
	t = thread_io__mine();
	sk = socket__from_fd_cached(t, fd, &hints);
	if (!sk || ((hints & SOCKET_HINT_TLS_CALLER) && probe__tls_nested(id, (__u64)sk)))
		return 0;
	probe__remember(t, id, key, (__u64)sk, buf, iovcnt, flat_len, syscall, direction, hints);
	return 0;
}

/* The iovec array and its length of a user msghdr (recvmsg/sendmsg): two
 * fields, not the whole user_msghdr, to keep the stack small (6.1 counts
 * every frame of a call chain against 512 bytes). */
static __always_inline bool msghdr__iov(__u64 user_msg, __u64 *iov, __u64 *iovlen)
{
	return bpf_probe_read_user(
		   iov, sizeof(*iov),
		   (void *)(user_msg + __builtin_offsetof(struct user_msghdr, msg_iov))) == 0 &&
	       bpf_probe_read_user(
		   iovlen, sizeof(*iovlen),
		   (void *)(user_msg + __builtin_offsetof(struct user_msghdr, msg_iovlen))) == 0;
}

/* sendmsg: the bytes are behind msg->msg_iov. */
static __always_inline int probe__msg_enter(__u64 id, __u32 fd, __u64 key, __u64 user_msg,
					    __u8 syscall, __u8 direction)
{
	__u64 iov = 0, iovlen = 0;

	if (!process__selected(id >> 32) || !msghdr__iov(user_msg, &iov, &iovlen))
		return 0;
	return probe__io_enter(id, fd, key, iov, (__u32)iovlen, 0, syscall, direction);
}

/* *in for data__handle: a read of kind `syscall` on sk that returned data, from
 * its arguments (`third`: read/recvfrom's length, readv's iovcnt; recvmsg's
 * buf is its user msghdr). False when recvmsg's msghdr cannot be read. */
static __always_inline bool probe__read_in(struct inflight_syscall *in, __u64 sk, __u8 io_flags,
					   __u64 buf, __u64 third, __u8 syscall)
{
	__u64 iov = 0, iovlen = 0;

	__builtin_memset(in, 0, sizeof(*in));
	in->io_flags = io_flags;
	in->sk = sk;
	in->buf = buf;
	in->syscall = syscall;
	in->direction = KSPAN_DIR_INGRESS;
	/* ts_enter 0: the exit's own time, which data__handle reads anyway. */
	if (syscall == KSPAN_SYS_READ || syscall == KSPAN_SYS_RECVFROM) {
		in->flat_len = (__u32)bound_len(third, KSPAN_CAPTURE_MAX);
	} else if (syscall == KSPAN_SYS_READV) {
		in->iovcnt = (__u32)third;
	} else if (syscall == KSPAN_SYS_RECVMSG) {
		if (!msghdr__iov(buf, &iov, &iovlen))
			return false;
		in->buf = iov;
		in->iovcnt = (__u32)iovlen;
	}
	return true;
}

/*
 * A read that returned data (ret > 0), seen only at its exit: its fd, buffer
 * and flags are still in the task's saved user registers, read by the
 * front-end (`third`: as for probe__read_in; a read needs nothing from its
 * entry: its span starts when the bytes arrived, so the exit time stands for
 * the entry's). Fills *in for data__handle; false when the fd is no traced TCP socket or the read
 * only peeked (MSG_PEEK leaves the bytes in the socket: they are read again).
 */
static __always_inline bool probe__read_seen_at_exit(__u32 fd, __u64 buf, __u64 third, __u64 flags,
						     __u8 syscall, struct inflight_syscall *in,
						     struct thread_io **t)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sock *sk;
	__u8 hints;

	if (!process__selected(id >> 32) || (flags & KSPAN_MSG_PEEK))
		return false;
	*t = thread_io__mine();
	sk = socket__from_fd_cached(*t, fd, &hints);
	/* Inside a TLS library call: ciphertext (probe__tls_nested). */
	if (!sk || ((hints & SOCKET_HINT_TLS_CALLER) && probe__tls_nested_read(id, (__u64)sk)))
		return false;
	return probe__read_in(in, (__u64)sk, socket__hint_io_flags(hints), buf, third, syscall);
}

/* The exit of a remembered syscall of the thread whose state is t
 * (thread_io__existing(), which the caller keeps for probe__data): takes it
 * into *in, finishes a connect, and tells whether it moved bytes that
 * data__handle() must see. */
static __always_inline bool probe__exit_remembered(struct thread_io *t, __u64 key, long ret,
						   struct inflight_syscall *in)
{
	__u64 id;

	if (!inflight__take(t, key, in))
		return false;
	if (in->syscall != INFLIGHT_CONNECT && in->syscall != INFLIGHT_SELF_CONNECT && ret > 0)
		return true; /* the common case, without a helper call */
	id = bpf_get_current_pid_tgid();
	if (in->syscall == INFLIGHT_CONNECT) {
		/* A new connection, whatever an entry left behind by a socket
		 * at the same address said (exit, or dup2() over the last fd,
		 * closes without a close() syscall). */
		if (ret == 0 || ret == -KSPAN_EINPROGRESS) {
			conn__close_socket(id >> 32, in->sk);
			conn__get(id >> 32, in->sk, KSPAN_ROLE_CLIENT, false);
			node__connected(in->sk);
		}
		return false;
	}
	if (in->syscall == INFLIGHT_SELF_CONNECT) {
		if (ret == 0 || ret == -KSPAN_EINPROGRESS)
			self__note_endpoint((struct sock *)in->sk, true);
		return false;
	}
	if (ret <= 0) {
		/* Nothing written: a plan of HTTP/2 streams must not outlive
		 * its write (http2_tx.bpf.h). */
		if (in->direction == KSPAN_DIR_EGRESS)
			bpf_map_delete_elem(&h2_tx_plans, &id);
		return false;
	}
	return true;
}

/* A socket syscall of the thread whose state is t moved ret bytes: ends the
 * thread's memory-BIO offer (capture/tls_calls.bpf.h) and runs the data
 * path. Called once per program: the data path is inlined there. */
static __always_inline void probe__data(struct thread_io *t, struct inflight_syscall *in, long ret)
{
	if (!go__background_read(in, &ret))
		return;
	tls_membio__withdraw(t, in->sk, in->direction);
	data__handle(in, (__u32)ret, false);
}

/* Exit of every syscall remembered above (the socket-function front-ends). */
static __always_inline int probe__io_exit(long ret)
{
	struct thread_io *t = thread_io__existing();
	struct inflight_syscall in;

	if (probe__exit_remembered(t, 0, ret, &in))
		probe__data(t, &in, ret);
	return 0;
}

static __always_inline int probe__connect_enter(__u32 fd, __u64 key)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sock *sk;

	if ((__u32)(id >> 32) != self_tgid)
		return probe__io_enter(id, fd, key, 0, 0, 0, INFLIGHT_CONNECT, 0);
	/* kspan's own connection (its exporter): remember its endpoint. */
	sk = socket__from_fd(fd);
	if (sk)
		probe__remember(thread_io__mine(), id, key, (__u64)sk, 0, 0, 0,
				INFLIGHT_SELF_CONNECT, 0, 0);
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
