/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tls_calls.bpf.h - TLS plaintext, taken where a TLS library's read or write
 * (SSL_read, SSL_write and their _ex forms) enters and returns, and the
 * socket it belongs to.
 *
 * The library call names an SSL object, not a socket. The socket is learned
 * from the syscall the library makes inside the call: a thread inside a TLS
 * call (tls_calls) that reads or writes a socket binds the call's SSL object
 * to that socket (tls_sockets), and that syscall's bytes - ciphertext - are
 * skipped. At the call's return the plaintext becomes an inflight_syscall
 * with KSPAN_IO_TLS set, handled by the same data path as a syscall's bytes
 * (attach/data_path.bpf.h): the same detection, capture, trace contexts and
 * DATA events, flagged KSPAN_DATA_F_TLS. A connection that carried
 * plaintext is marked tls: its syscalls never produce DATA events again,
 * and nothing is ever inserted into it (sk_msg would write into ciphertext).
 *
 * The handshake (SSL_do_handshake, which SSL_connect and SSL_accept call)
 * is probed too, as a call without plaintext: its syscalls bind the session
 * early and are skipped, so that TLS records a connection carries outside
 * any probed call mean a TLS library kspan does not probe
 * (KSPAN_CNT_TLS_UNPROBED_CONNS, attach/data_path.bpf.h). Later records
 * outside calls (SSL_shutdown's close_notify) meet a connection already
 * marked tls: skipped, not counted.
 *
 * A call that makes no syscall (the bytes were already decrypted and
 * buffered) uses the binding an earlier call left.
 *
 * Memory-BIO stacks (node's TLSWrap, python's ssl.MemoryBIO under asyncio)
 * make no syscall inside any call: the event loop reads ciphertext from the
 * socket, hands it to the BIO, and calls the library at once, on the same
 * thread, for that session (node: uv__read's callback runs TLSWrap's
 * OnStreamRead -> Cycle -> SSL_write/SSL_read; asyncio: sslproto's
 * buffer_updated -> MemoryBIO.write -> do_handshake/read). So a read of TLS
 * records on a connection that never carried plaintext, when it is the
 * thread's last socket syscall before a library call, names that call's
 * socket (thread_io.membio_sk): the call binds its SSL object to it at its
 * return, unless the call made a syscall of its own (that one binds). Any
 * other socket syscall of the thread in between withdraws the offer; an
 * offer withdrawn unused means a TLS library kspan does not probe
 * (KSPAN_CNT_TLS_UNPROBED_CONNS, once per connection). Each side reads the
 * peer's handshake records before any plaintext moves (the client its
 * ServerHello, the server its ClientHello), so the first request on a
 * connection is already bound. A bound connection never offers again, so a
 * session is bound once; an SSL address that a new session reuses is bound
 * anew by its new connection's first records. A call on an SSL object never
 * bound is counted (KSPAN_CNT_TLS_UNBOUND) and not captured.
 */
#ifndef KSPAN_CAPTURE_TLS_CALLS_BPF_H
#define KSPAN_CAPTURE_TLS_CALLS_BPF_H

#include "base/conn_tracking.bpf.h"
#include "base/counters.bpf.h"
#include "base/maps.bpf.h"
#include "base/socket_cache.bpf.h"

/* A TLS read or write between its entry and its return. */
struct tls_call {
	__u64 ssl;	/* the library's session object (SSL *) */
	__u64 buf;	/* the plaintext buffer in the process */
	__u64 len_out;	/* _ex forms: where the library writes the length moved */
	__u64 ts_enter; /* CLOCK_MONOTONIC at entry */
	__u64 sk;	/* struct sock * of the session, 0 while unknown */
	__u32 len;	/* bytes asked for */
	__u8 direction; /* enum kspan_direction; 0: a call that moves no plaintext
			 * (the handshake): only its syscalls are bound */
	__u8 decided;	/* a write: ctx was decided (propagation/tls_tx.bpf.h) */
	__u8 goroutine; /* a Go call: no thread context (KSPAN_IO_GOROUTINE) */
	__u8 depth;	/* probed calls entered inside this one (a handshake a
			 * read makes): their returns are not this one's */
	__u8 membio;	/* sk is the connection whose records the thread read
			 * just before this call (thread_io.membio_sk): bound at
			 * the return unless a syscall inside binds first */
	/* A request written: its CLIENT context, decided before any of its
	 * bytes reach the socket (ctx.flags & KSPAN_CTX_F_VALID). */
	struct kspan_trace_ctx ctx;
};

/* key: bpf_get_current_pid_tgid() -> the thread's TLS call in flight. Apart
 * from `inflight`: the syscalls inside the call have their own entries. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KSPAN_MAX_INFLIGHT);
	__type(key, __u64);
	__type(value, struct tls_call);
} tls_calls SEC(".maps");

struct tls_session_key {
	__u32 tgid;
	__u32 _pad;
	__u64 ssl;
};

/* The connection a session is bound to: its socket, and which connection
 * on that socket (conn_state.conn_id). Sessions are never announced closed,
 * and both SSL objects and sockets are reused by their allocators: an SSL
 * address a new session got may still name a socket address that a newer
 * connection got since. The id tells that binding stale. */
struct tls_binding {
	__u64 sk;
	__u64 conn_id;
};

/* {tgid, SSL *} -> struct tls_binding. LRU: sessions are never announced
 * closed; a stale one is rebound by its next syscall or memory-BIO offer. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSPAN_MAX_CONNS);
	__type(key, struct tls_session_key);
	__type(value, struct tls_binding);
} tls_sockets SEC(".maps");

static __always_inline void tls__session_key(struct tls_session_key *k, __u32 tgid, __u64 ssl)
{
	k->tgid = tgid;
	k->_pad = 0;
	k->ssl = ssl;
}

/* Binds the session {tgid, ssl} to connection c on socket sk. */
static __always_inline void tls__bind(__u32 tgid, __u64 ssl, __u64 sk, const struct conn_state *c)
{
	struct tls_binding b = {.sk = sk, .conn_id = c ? c->conn_id : 0};
	struct tls_session_key k;

	tls__session_key(&k, tgid, ssl);
	bpf_map_update_elem(&tls_sockets, &k, &b, BPF_ANY);
}

/* The socket an SSL object of process tgid was last seen using, if that
 * connection is still open; 0: none. */
static __always_inline __u64 tls__socket_of(__u32 tgid, __u64 ssl)
{
	struct tls_session_key k;
	struct tls_binding *b;
	struct conn_state *c;
	struct conn_key ck;

	tls__session_key(&k, tgid, ssl);
	b = bpf_map_lookup_elem(&tls_sockets, &k);
	if (!b)
		return 0;
	conn__key(&ck, tgid, b->sk);
	c = bpf_map_lookup_elem(&conn_table, &ck);
	if (!c || c->sk != b->sk || c->conn_id != b->conn_id)
		return 0; /* closed since: a new session at a freed address */
	return b->sk;
}

/* The thread read TLS records from connection sk (not bound, not counted
 * unprobed): the next library call may be that session's. The offer is
 * the thread's thread_io.membio_sk (base/maps.bpf.h). */
static __always_inline void tls_membio__offer(__u64 sk)
{
	struct thread_io *t = thread_io__mine();

	if (t)
		t->membio_sk = sk;
}

/*
 * A socket syscall on sk outside any library call, by the thread whose
 * state is t (the syscall front-end's, which holds it already: no get of
 * its own): the thread's offer (if any) is withdrawn. An offer that no
 * library call took means records of a library kspan does not probe: that
 * connection is counted once. A read of the same connection keeps the
 * offer: its records come in pieces (GnuTLS reads a record's 5-byte header,
 * then its body).
 */
static __always_inline void tls_membio__withdraw(struct thread_io *t, __u64 sk, __u8 direction)
{
	struct conn_state *c;
	struct conn_key key;
	__u64 offered;

	if (!t || !t->membio_sk || (t->membio_sk == sk && direction == KSPAN_DIR_INGRESS))
		return;
	offered = t->membio_sk;
	t->membio_sk = 0;
	conn__key(&key, bpf_get_current_pid_tgid() >> 32, offered);
	c = bpf_map_lookup_elem(&conn_table, &key);
	if (!c || c->sk != offered || c->tls || c->tls_records)
		return;
	c->tls_records = 1;
	counter__inc(KSPAN_CNT_TLS_UNPROBED_CONNS);
}

/* A library call's entry takes the thread's offer: the socket, or 0. */
static __always_inline __u64 tls_membio__take(void)
{
	struct thread_io *t = thread_io__existing();
	__u64 sk;

	if (!t)
		return 0;
	sk = t->membio_sk;
	t->membio_sk = 0;
	return sk;
}

/* Entry of a TLS read or write: remembered for its return (and for the
 * syscalls it makes). `call` is filled by the caller but for sk. Every call
 * takes the thread's offer; a session bound to a live connection keeps its
 * binding (the offer is another session's, whose call did not follow its
 * read: left unbound, not guessed), any other takes the offer: unbound, or
 * bound to a connection gone since (a freed session whose SSL address the
 * allocator gave to this one). */
static __always_inline void tls__call_enter(__u64 id, struct tls_call *call)
{
	__u64 offer = tls_membio__take();

	/* tls__socket_of answers only for a binding whose connection is still
	 * open (binding sets its tls flag): nonzero is a live session. */
	call->sk = tls__socket_of(id >> 32, call->ssl);
	if (offer && !call->sk) {
		call->sk = offer;
		call->membio = 1;
	}
	call->ts_enter = bpf_ktime_get_ns();
}

/* Remembers call for its return; a call entered inside another probed
 * call on the thread only deepens the outer one (uretprobes return in
 * reverse order: the inner return then leaves the outer's entry alone). */
static __always_inline void tls__call_remember(__u64 id, const struct tls_call *call)
{
	struct tls_call *outer = bpf_map_lookup_elem(&tls_calls, &id);
	struct fd_socket *mine;

	if (outer) {
		outer->depth++;
		return;
	}
	/* The syscall path looks tls_calls up only for threads marked here
	 * (base/socket_cache.bpf.h): a call that cannot be marked is not
	 * remembered, or its ciphertext would pass for plaintext. */
	mine = fd_socket__mine();
	if (!mine) {
		counter__inc(KSPAN_CNT_TLS_CALLS_LOST);
		return;
	}
	mine->tls_caller = 1;
	if (bpf_map_update_elem(&tls_calls, &id, call, BPF_NOEXIST))
		counter__inc(KSPAN_CNT_TLS_CALLS_LOST);
}

/*
 * A syscall on the socket call->sk (set by the caller) made inside the TLS
 * call `call`: its bytes are that session's ciphertext. Binds the session to
 * the socket and marks the connection TLS; the caller skips the syscall.
 */
static __always_inline void tls__bind_nested(__u64 id, struct tls_call *call)
{
	struct conn_state *c;
	__u64 sk = call->sk;

	counter__inc(KSPAN_CNT_TLS_CIPHERTEXT_SKIPPED);
	call->membio = 0;
	c = conn__get(id >> 32, sk, KSPAN_ROLE_UNKNOWN, true);
	tls__bind(id >> 32, call->ssl, sk, c);
	if (!c)
		return;
	/* First met in its handshake, before any event: its plaintext is
	 * followed from the first byte, as if seen at accept or connect. A
	 * server blocked in accept() when kspan attached is such a case on the
	 * kprobe and fentry backends (the kretprobe/fexit of the call in
	 * progress never fires); without this its connection's TLS requests
	 * could not be joined by index (trace_context.bpf.h). */
	if (!c->tls && !call->direction && c->adopted && !c->announced)
		c->adopted = 0;
	c->tls = 1;
}

/* Return of a call that took the thread's offer and made no syscall: its
 * session is the offered connection's (a memory BIO). */
static __always_inline void tls__bind_membio(__u64 id, struct tls_call *call)
{
	struct conn_state *c;
	__u64 sk = call->sk;

	if (!call->membio)
		return;
	c = conn__get(id >> 32, sk, KSPAN_ROLE_UNKNOWN, true);
	if (!c || c->tls) {
		/* Taken meanwhile (a call nested in this one bound it): the
		 * session keeps the binding it has, if any. */
		call->sk = tls__socket_of(id >> 32, call->ssl);
		return;
	}
	c->tls = 1;
	tls__bind(id >> 32, call->ssl, sk, c);
	counter__inc(KSPAN_CNT_TLS_MEMBIO_BOUND);
}

/*
 * Return of a TLS call that moved `bytes` plaintext bytes: the inflight
 * description the data path handles, or false when the session's socket is
 * unknown (counted).
 */
static __always_inline bool tls__call_exit(const struct tls_call *call, __u32 bytes,
					   struct inflight_syscall *in)
{
	__u64 sk = call->sk;

	if (!sk)
		sk = tls__socket_of(bpf_get_current_pid_tgid() >> 32, call->ssl);
	if (!sk) {
		counter__inc(KSPAN_CNT_TLS_UNBOUND);
		return false;
	}
	__builtin_memset(in, 0, sizeof(*in));
	in->sk = sk;
	in->buf = call->buf;
	/* A read's time is its return, as for a plaintext read (ts_enter 0:
	 * the exit's own time): a blocking server sits in SSL_read while its
	 * keep-alive connection is idle, and that wait is not the request's. */
	in->ts_enter = call->direction == KSPAN_DIR_EGRESS ? call->ts_enter : 0;
	in->flat_len = bytes;
	in->syscall = call->direction == KSPAN_DIR_EGRESS ? KSPAN_SYS_WRITE : KSPAN_SYS_READ;
	in->direction = call->direction;
	in->io_flags = KSPAN_IO_TLS;
	in->ctx = call->ctx;
	return true;
}

#endif /* KSPAN_CAPTURE_TLS_CALLS_BPF_H */
