/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * socket_tracepoint.bpf.h - the socket tracepoint front-end (kernels with the
 * tcp:tcp_sendmsg_locked tracepoint: this host's 6.18 has it, Debian's 6.12
 * does not): tp_btf programs on tracepoints
 * of the socket layer instead of sys_enter/sys_exit, so that only socket
 * sends and receives run a program, and every other syscall of every process
 * keeps the kernel's fast path. (Attaching anything to sys_enter or sys_exit
 * sets SYSCALL_WORK_SYSCALL_TRACEPOINT on every task: each syscall then takes
 * the slow path, which cost nginx 9% of its throughput here with empty
 * programs; these tracepoints cost 2%: tests/bench, rows 3f.)
 *
 *   tcp:tcp_sendmsg_locked(sk, msg, ...)  a write's entry: its first firing
 *                                         per write, while msg's iterator
 *                                         still holds every byte (it fires
 *                                         again for each segment it fills);
 *   sock:sock_send_length(sk, ret, ...)   that write's exit;
 *   sock:sock_recv_length(sk, ret, flags) a read's exit: its buffer is in the
 *                                         task's saved registers, as on the
 *                                         syscall tracepoints;
 *   sock:inet_sock_set_state(sk, old, new) connect, accept and close.
 *
 * The socket comes with each hook: no walk from fd to socket. A connection's
 * start is seen in its state changes: CLOSE -> SYN_SENT in the connecting
 * thread, SYN_RECV -> ESTABLISHED in softirq for an accepted one, whose
 * process is not known until it reads or writes. Both leave a mark in the
 * socket's local storage (freed with the socket), which the first read or
 * write of a traced process takes: the connection then starts over with its
 * role, not adopted (HTTP/2 needs its first byte). A close is the change to
 * FIN_WAIT1 or LAST_ACK by close() (both directions shut), in the process
 * that closed last, as for tcp_close on the socket-function front-ends; or
 * else the change to CLOSE, in whatever context, for the process that last
 * read or wrote the socket (kept in the same storage).
 *
 * What it cannot do: insert headers. The sk_msg program that inserts them
 * runs before tcp_sendmsg_locked, so a write's plan would come too late; the
 * loader takes this backend only when propagation has no headers (the
 * default on kernels whose sockhash breaks FIONREAD). Reads that come from no
 * syscall below (io_uring, recvmmsg) are counted, not captured
 * (KSPAN_CNT_SOCKTP_READ_UNSEEN).
 */
#ifndef KSPAN_SOCKET_TRACEPOINT_BPF_H
#define KSPAN_SOCKET_TRACEPOINT_BPF_H

#include "attach/socket_probes.bpf.h"
#include "attach/syscall_regs.bpf.h"

/* include/net/tcp_states.h */
#define KSPAN_TCP_ESTABLISHED 1
#define KSPAN_TCP_SYN_SENT    2
#define KSPAN_TCP_SYN_RECV    3
#define KSPAN_TCP_FIN_WAIT1   4
#define KSPAN_TCP_CLOSE	      7
#define KSPAN_TCP_CLOSE_WAIT  8
#define KSPAN_TCP_LAST_ACK    9
/* include/net/sock.h: RCV_SHUTDOWN | SEND_SHUTDOWN */
#define KSPAN_SHUTDOWN_MASK 3
/* include/linux/sched.h */
#define KSPAN_PF_KTHREAD 0x00200000

/* Is the current task a kernel thread (NFS, iSCSI, kTLS workers)? Its
 * sockets carry no process's HTTP, and its saved registers are zeroes, which
 * would read as a read(0, NULL, 0). */
static __always_inline bool socktp__kernel_thread(void)
{
	return bpf_get_current_task_btf()->flags & KSPAN_PF_KTHREAD;
}

/* Is sk a TCP socket (IPv4 or IPv6)? Plain loads: a tp_btf argument is a
 * trusted pointer (socket__is_tcp reads through helpers for the front-ends
 * whose sk is only a number). sock_send_length and sock_recv_length fire for
 * every socket: unix and UDP too. */
static __always_inline bool socktp__is_tcp(const struct sock *sk)
{
	__u16 family = sk->__sk_common.skc_family;

	return sk->sk_type == KSPAN_SOCK_STREAM && sk->sk_protocol == KSPAN_IPPROTO_TCP &&
	       (family == KSPAN_AF_INET || family == KSPAN_AF_INET6);
}

/* What the front-end keeps per socket, in its local storage (freed with it). */
struct socktp_sock {
	__u64 birth_ns; /* when it connected or was accepted (role set) */
	__u32 owner;	/* the process that last read or wrote it, for its close */
	__u8 role;	/* born while kspan ran, not yet claimed: KSPAN_ROLE_CLIENT
			 * or KSPAN_ROLE_SERVER; 0 once claimed */
	__u8 own_conn;	/* kspan's own connection (its exporter) */
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct socktp_sock);
} socktp_socks SEC(".maps");

/* A read or write of sk by process tgid: a connection born while kspan ran
 * takes the role its birth gave it at its first one, and is followed from its
 * first byte (not adopted). An entry that a closed connection left at the same
 * socket address is ended first; one made for this connection since its birth
 * (a TLS library's probes, which may see the socket before its first
 * syscall's exit: Go's handshake) is kept. The process becomes the socket's
 * owner, whose connection its close ends. */
static __always_inline void socktp__claim(__u32 tgid, struct sock *sk)
{
	struct socktp_sock *s =
	    bpf_sk_storage_get(&socktp_socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	struct conn_state *c;
	struct conn_key key;

	if (!s)
		return; /* no memory: its close is seen only in the process */
	if (s->role) {
		conn__key(&key, tgid, (__u64)sk);
		c = bpf_map_lookup_elem(&conn_table, &key);
		if (c && c->sk == (__u64)sk && c->born_ns >= s->birth_ns) {
			if (c->role == KSPAN_ROLE_UNKNOWN)
				c->role = s->role;
			c->adopted = 0;
		} else {
			conn__close_socket(tgid, (__u64)sk);
			conn__get(tgid, (__u64)sk, s->role, false);
		}
		s->role = 0;
	}
	if (s->owner != tgid)
		s->owner = tgid;
}

/* SOCKET_HINT_* for the thread's read or write on sk, from the thread's
 * socket cache (base/socket_cache.bpf.h) keyed by the socket alone: these
 * hooks are given the socket, so only the role learnt for it and the
 * thread's TLS calls are worth keeping. The data path keeps the role right
 * (socket__cache_note_role). */
static __always_inline __u8 socktp__hints(struct thread_io *t, struct sock *sk)
{
	struct fd_socket *c = &t->sock;
	__u8 hints = SOCKET_HINT_CACHED | (c->tls_caller ? SOCKET_HINT_TLS_CALLER : 0);

	if (c->sk != (__u64)sk) {
		c->sk = (__u64)sk;
		c->server = 0;
	} else if (c->server && sk->__sk_common.skc_portpair == c->server_ports) {
		hints |= SOCKET_HINT_SERVER;
	}
	return hints;
}

/* The user bytes of the write syscall the current task is in, from its saved
 * registers, for a write whose msg already holds kernel memory when TCP sees
 * it: a socket with another program's sk_msg verdict (a second agent's
 * header insertion, a service mesh's sockmap) goes through tcp_bpf_sendmsg,
 * which copies the bytes into pages first. False when the task is in no such
 * syscall (sendfile, splice: file pages, counted, not captured). */
static __always_inline bool socktp__write_args(__u64 *buf, __u32 *iovcnt, __u32 *flat_len,
					       __u8 *kind)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	__u64 nr = regs->orig_ax, second = regs->si, third = regs->dx, iov = 0, iovlen = 0;

	if (tp__compat())
		return false;
	/* The registers are read into scalars first: one store of a value
	 * loaded either from them or from the stack is a load the verifier
	 * refuses ("same insn cannot be used with different pointers"). */
	if (nr == NR_sendmsg) { /* sendmsg(fd, msg, flags) */
		if (!msghdr__iov(second, &iov, &iovlen))
			return false;
		second = iov;
		third = iovlen;
	}
	*kind = syscall__write_kind((long)nr);
	if (!*kind)
		return false;
	if (*kind == KSPAN_SYS_WRITE || *kind == KSPAN_SYS_SENDTO)
		*flat_len = tp__flat_len(third);
	else
		*iovcnt = (__u32)third;
	*buf = second;
	return true;
}

/* A write's entry on sk (hints: socktp__hints), remembered in the thread's
 * slot under the socket's address until sock_send_length. */
static __always_inline int socktp__write_enter(struct thread_io *t, __u64 id, struct sock *sk,
					       struct msghdr *msg, __u8 hints)
{
	__u64 buf = 0;
	__u32 iovcnt = 0, flat_len = 0;
	__u8 kind = KSPAN_SYS_SENDMSG;

	/* Inside a TLS library call: ciphertext (probe__tls_nested). */
	if ((hints & SOCKET_HINT_TLS_CALLER) && probe__tls_nested(id, (__u64)sk))
		return 0;
	if (!msg__user_memory(msg, true, &buf, &iovcnt, &flat_len) &&
	    !socktp__write_args(&buf, &iovcnt, &flat_len, &kind)) {
		buf = 0;
		iovcnt = 0;
		flat_len = 0;
		kind = KSPAN_SYS_SENDFILE;
	}
	probe__remember(t, id, (__u64)sk, (__u64)sk, buf, iovcnt, flat_len, kind, KSPAN_DIR_EGRESS,
			hints);
	return 0;
}

/* A socket's state became CLOSE (in any context: a reset or the last ACK
 * arrives in softirq): its owner's connection ends. */
static __always_inline void socktp__closed(struct sock *sk)
{
	struct socktp_sock *s = bpf_sk_storage_get(&socktp_socks, sk, 0, 0);

	if (!s)
		return;
	if (s->own_conn)
		self__note_endpoint(sk, false);
	else if (s->owner)
		conn__close_socket(s->owner, (__u64)sk);
	s->owner = 0;
}

/* The attach macros give every program a ctx that it may not use. */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunused-parameter"

SEC("tp_btf/tcp_sendmsg_locked")
int BPF_PROG(kspan_socktp_tcp_sendmsg_locked, struct sock *sk, struct msghdr *msg)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct thread_io *t;

	if (!process__selected(id >> 32) || socktp__kernel_thread())
		return 0;
	t = thread_io__mine();
	if (!t) {
		counter__inc(KSPAN_CNT_INFLIGHT_FULL);
		return 0;
	}
	if (t->send_sk == (__u64)sk)
		return 0; /* a later segment of the write that entered */
	t->send_sk = (__u64)sk;
	socktp__claim(id >> 32, sk);
	return socktp__write_enter(t, id, sk, msg, socktp__hints(t, sk));
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(kspan_socktp_sock_send_length, struct sock *sk, int ret)
{
	struct inflight_syscall in;
	struct thread_io *t;
	__u64 entered;

	if (!process__selected(bpf_get_current_pid_tgid() >> 32))
		return 0;
	t = thread_io__existing();
	if (!t || !t->send_sk)
		return 0;
	/* Whatever socket entered: a write that an sk_msg verdict of another
	 * program redirected ends here on the socket it was written to. */
	entered = t->send_sk;
	t->send_sk = 0;
	if (probe__exit_remembered(t, entered == (__u64)sk ? entered : 0, ret, &in))
		probe__data(t, &in, ret);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(kspan_socktp_sock_recv_length, struct sock *sk, int ret, int flags)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct inflight_syscall in;
	struct pt_regs *regs;
	struct thread_io *t;
	__u8 kind, hints;

	/* MSG_PEEK leaves the bytes in the socket: they are read again. */
	if (ret <= 0 || (flags & KSPAN_MSG_PEEK) || !process__selected(id >> 32) ||
	    !socktp__is_tcp(sk) || socktp__kernel_thread())
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	kind = syscall__read_kind((long)regs->orig_ax);
	if (!kind) {
		counter__inc(KSPAN_CNT_SOCKTP_READ_UNSEEN);
		return 0;
	}
	if (tp__compat())
		return 0;
	t = thread_io__mine();
	if (!t) {
		counter__inc(KSPAN_CNT_INFLIGHT_FULL);
		return 0;
	}
	socktp__claim(id >> 32, sk);
	hints = socktp__hints(t, sk);
	/* Inside a TLS library call: ciphertext (probe__tls_nested). */
	if (((hints & SOCKET_HINT_TLS_CALLER) && probe__tls_nested_read(id, (__u64)sk)) ||
	    !probe__read_in(&in, (__u64)sk, socket__hint_io_flags(hints), regs->si, regs->dx, kind))
		return 0;
	probe__data(t, &in, ret);
	return 0;
}

/* A connection starts or ends (every TCP socket's state change, in process
 * or softirq context). */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(kspan_socktp_inet_sock_set_state, struct sock *sk, int oldstate, int newstate)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct socktp_sock *s;

	if (!socktp__is_tcp(sk))
		return 0;
	if (oldstate == KSPAN_TCP_CLOSE && newstate == KSPAN_TCP_SYN_SENT) {
		/* connect(), in the connecting thread; its local port is not
		 * chosen yet: the connection is built at its first byte. */
		if (tgid != self_tgid && !process__selected(tgid))
			return 0;
		s = bpf_sk_storage_get(&socktp_socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (!s)
			return 0;
		s->role = KSPAN_ROLE_CLIENT;
		s->birth_ns = bpf_ktime_get_ns();
		s->own_conn = tgid == self_tgid;
		if (!s->own_conn)
			node__connected((__u64)sk);
		return 0;
	}
	if (newstate == KSPAN_TCP_ESTABLISHED) {
		if (oldstate == KSPAN_TCP_SYN_RECV) {
			/* Accepted (softirq): its process is the first to use it. */
			s = bpf_sk_storage_get(&socktp_socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
			if (s) {
				s->role = KSPAN_ROLE_SERVER;
				s->birth_ns = bpf_ktime_get_ns();
			}
		} else if (oldstate == KSPAN_TCP_SYN_SENT) {
			/* kspan's own connection, now with both endpoints. */
			s = bpf_sk_storage_get(&socktp_socks, sk, 0, 0);
			if (s && s->own_conn)
				self__note_endpoint(sk, true);
		}
		return 0;
	}
	if (newstate == KSPAN_TCP_CLOSE)
		socktp__closed(sk);
	/* close() by the process that closed last: tcp_close shuts both
	 * directions before it changes the state (shutdown(SHUT_WR) alone is a
	 * half close); the CLOSE that follows may be long after. */
	if (!(oldstate == KSPAN_TCP_ESTABLISHED && newstate == KSPAN_TCP_FIN_WAIT1) &&
	    !(oldstate == KSPAN_TCP_CLOSE_WAIT && newstate == KSPAN_TCP_LAST_ACK))
		return 0;
	if ((BPF_CORE_READ_BITFIELD_PROBED(sk, sk_shutdown) & KSPAN_SHUTDOWN_MASK) !=
	    KSPAN_SHUTDOWN_MASK)
		return 0;
	return sock_probe__close(sk);
}

#pragma clang diagnostic pop

#endif /* KSPAN_SOCKET_TRACEPOINT_BPF_H */
