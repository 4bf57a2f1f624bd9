/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * socket_cache.bpf.h - the TCP socket behind the fd a thread last used, kept
 * in the thread's task storage: a keep-alive server or client thread reads
 * and writes the same fd over and over, and the walk from fd to socket
 * (socket_lookup.bpf.h) costs seven probe reads, of which a hit needs three.
 *
 * A hit is checked, not trusted: the file now at fds[fd], its socket
 * (file->private_data) and that socket's sk must all be the ones cached.
 * A closed socket's file and struct socket are often reused at once for the
 * next one (slab freelists), while its sk lives on until TCP lets it go, so
 * the sk is compared too; when all three match, the sk is the one the full
 * walk would return (a TCP sk is only reused for a TCP sk: tcp_prot's slab
 * is SLAB_TYPESAFE_BY_RCU, never merged with another).
 */
#ifndef KSPAN_SOCKET_CACHE_BPF_H
#define KSPAN_SOCKET_CACHE_BPF_H

#include "base/maps.bpf.h"
#include "base/socket_lookup.bpf.h"

/* The ports of sk's connection, as one word (local and remote). */
static __always_inline __u32 socket__ports(__u64 sk)
{
	return BPF_CORE_READ((struct sock *)sk, __sk_common.skc_portpair);
}

/* socket__from_fd_cached's hints */
#define SOCKET_HINT_TLS_CALLER 1 /* the thread may be inside a probed TLS call */
#define SOCKET_HINT_SERVER     2 /* a SERVER connection's socket (fd_socket.server) */
#define SOCKET_HINT_CACHED     4 /* the thread's entry now holds the socket */

/* inflight_syscall.io_flags for a socket found with these hints. */
static __always_inline __u8 socket__hint_io_flags(__u8 hints)
{
	return (hints & SOCKET_HINT_SERVER ? KSPAN_IO_SERVER_SOCKET : 0) |
	       (hints & SOCKET_HINT_CACHED ? KSPAN_IO_FD_CACHED : 0);
}

/* The current thread's entry, created on first use; NULL when it could not
 * be (memory, or a nested get). */
static __always_inline struct fd_socket *fd_socket__mine(void)
{
	struct thread_io *t = thread_io__mine();

	return t ? &t->sock : NULL;
}

/* socket__from_fd(), through the current thread's cache (t: its
 * thread_io__mine(), which the caller passes on to inflight.bpf.h); *hints:
 * SOCKET_HINT_* (TLS_CALLER when the entry is missing: the safe answer). */
static __always_inline struct sock *socket__from_fd_cached(struct thread_io *t, __u32 fd,
							   __u8 *hints)
{
	struct fd_socket *c = t ? &t->sock : NULL;
	struct file *file = file__from_fd(fd);
	struct socket *sock;
	struct sock *sk;

	*hints = !c || c->tls_caller ? SOCKET_HINT_TLS_CALLER : 0;
	if (!file)
		return NULL;
	if (c && c->sk && c->fd == fd && c->file == (__u64)file) {
		sock = BPF_CORE_READ(file, private_data);
		if ((__u64)sock == c->sock && (__u64)BPF_CORE_READ(sock, sk) == c->sk) {
			*hints |= SOCKET_HINT_CACHED;
			if (c->server && socket__ports(c->sk) == c->server_ports)
				*hints |= SOCKET_HINT_SERVER;
			return (struct sock *)c->sk;
		}
	}
	sk = socket__from_file(file);
	if (c) {
		c->sk = 0;
		c->server = 0;
		if (sk) {
			c->fd = fd;
			c->file = (__u64)file;
			c->sock = (__u64)BPF_CORE_READ(file, private_data);
			c->sk = (__u64)sk;
			*hints |= SOCKET_HINT_CACHED;
		}
	}
	return sk;
}

/*
 * A data syscall on socket sk found its connection's role: `server` when it
 * is SERVER. Called only when the syscall's hint disagrees, so a get per
 * connection and thread, not per syscall. The hint holds only while the sk
 * still carries the connection's ports (fd_socket.server_ports): a new
 * connection at the same addresses never inherits it.
 */
static __always_inline void socket__cache_note_role(__u64 sk, bool server)
{
	struct thread_io *t = thread_io__existing();
	struct fd_socket *c = t ? &t->sock : NULL;

	if (c && c->sk == sk) {
		c->server = server;
		c->server_ports = server ? socket__ports(sk) : 0;
	}
}

#endif /* KSPAN_SOCKET_CACHE_BPF_H */
