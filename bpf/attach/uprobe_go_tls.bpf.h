/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * uprobe_go_tls.bpf.h - uprobes on Go's crypto/tls.(*Conn).Write and Read,
 * in Go executables (Go 1.17+, amd64), loaded with every backend and
 * attached by user/loader/go_tls_attach.c to each executable file:
 *
 *   func (c *Conn) Write(b []byte) (int, error)
 *   func (c *Conn) Read(b []byte) (int, error)
 *
 * Go's register ABI (ABIInternal, src/cmd/compile/abi-internal.md): the
 * receiver in RAX, the slice's pointer, length, capacity in RBX, RCX, RDI;
 * results in RAX (n), RBX and RCX (err's itab and data); R14 holds the
 * current goroutine's g throughout.
 *
 * Write: its plaintext is whole at entry (Write returns only when all of it
 * is written, or on an error that breaks the connection), so the entry alone
 * hands it to the data path. Read: the entry remembers the buffer, and a
 * probe on each RET instruction (no uretprobe: it would replace a return
 * address on a goroutine stack that the runtime copies when it grows) hands
 * over the n bytes read. The entry probes sit after the prologue's stack
 * check, which runs the function again from its start after growing the
 * stack (user/loader/x86_decode.h).
 *
 * Per-call state is keyed by goroutine (its g), never by thread: a goroutine
 * blocked in Read parks, and its thread runs others meanwhile; the goroutine
 * may return on another thread. For the same reason Go calls set no thread
 * context (KSPAN_IO_GOROUTINE): the request a thread served last is not
 * the one a goroutine on it works for, and no parent is better than a wrong
 * one.
 *
 * Handshakes: crypto/tls.(*Conn).clientHandshake and serverHandshake (which
 * handshakeContext calls only when a handshake runs, not on every Read and
 * Write) mark the connection TLS before its first record, so that the
 * handshake's records are skipped as ciphertext rather than counted as a TLS
 * library kspan does not probe (KSPAN_CNT_TLS_UNPROBED_CONNS), as
 * SSL_do_handshake does for OpenSSL.
 *
 * The socket: from the receiver through the struct offsets in the attach
 * cookie (include/go_tls_offsets.h) to poll.FD.Sysfd, then the current
 * process's fd table (base/socket_lookup.bpf.h), which checks that it is a
 * TCP socket.
 */
#ifndef KSPAN_UPROBE_GO_TLS_BPF_H
#define KSPAN_UPROBE_GO_TLS_BPF_H

#include "attach/data_path.bpf.h"
#include "attach/uprobe_openssl.bpf.h"
#include "base/socket_lookup.bpf.h"
#include "capture/tls_calls.bpf.h"
#include "go_tls_offsets.h"
#include "propagation/tls_tx.bpf.h"

struct go_call_key {
	__u32 tgid;
	__u32 _pad;
	__u64 g; /* the goroutine's runtime.g; | 1 for a Write (g is aligned) */
};

/* {tgid, g} -> the goroutine's Read in flight, or its Write while it is
 * handled (the value is the call's only copy: a BPF stack cannot hold it and
 * the data path's frames). LRU: a Read that never returns (a panic unwinds
 * it) must not hold a slot forever. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSPAN_MAX_INFLIGHT);
	__type(key, struct go_call_key);
	__type(value, struct tls_call);
} go_tls_calls SEC(".maps");

/* An all-zero tls_call, the initial value of a go_tls_calls slot. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tls_call);
} go_tls_empty_call SEC(".maps");

static __always_inline __u64 go__offsets(struct pt_regs *ctx)
{
	__u64 cookie = 0;

	/* bpf_get_attach_cookie for uprobes: 5.15 (7adfc6c9b315). */
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_attach_cookie))
		cookie = bpf_get_attach_cookie(ctx);
	return cookie ? cookie : GO_TLS_OFFSETS_DEFAULT;
}

/* The TCP socket under a *tls.Conn, or 0 (counted). */
static __always_inline __u64 go__socket(__u64 conn, __u64 offsets)
{
	__u64 p = 0;
	__s64 fd = -1;
	struct sock *sk;

	if (bpf_probe_read_user(&p, sizeof(p), (void *)(conn + GO_TLS_CONN_DATA(offsets))) || !p ||
	    bpf_probe_read_user(&p, sizeof(p), (void *)(p + GO_TLS_TCPCONN_NETFD(offsets))) || !p ||
	    bpf_probe_read_user(&fd, sizeof(fd), (void *)(p + GO_TLS_NETFD_SYSFD(offsets))) ||
	    fd < 0 || fd > 0x7fffffff) {
		counter__inc(KSPAN_CNT_GO_TLS_NO_SOCKET);
		return 0;
	}
	sk = socket__from_fd((__u32)fd);
	if (!sk)
		counter__inc(KSPAN_CNT_GO_TLS_NO_SOCKET);
	return (__u64)sk;
}

/*
 * net/http's server reads one byte in the background while a handler runs
 * (connReader.backgroundRead, src/net/http/server.go: a 1-byte Read, to
 * notice a client that went away). When the client sends its next request
 * on the connection, that byte is the request's first; connReader.Read hands
 * it to bufio.Reader.fill, whose next Read fills the buffer right after it
 * (b.buf[b.w:]). Seen apart, neither piece starts a request: the kernel
 * would decide no context for it and not count it, so the same-node join's
 * index (trace_context.bpf.h) would lag behind the client's from then on.
 * The byte is held, not sent, and the connection's next Read takes it back
 * from the byte before its buffer when that byte is the one held.
 */
struct go_held_key {
	__u32 tgid;
	__u32 _pad;
	__u64 sk;
};

struct go_held_byte {
	__u64 conn_id; /* the connection that read it: a socket's address is reused */
	__u8 byte;
	__u8 _pad[7];
};

/* {tgid, struct sock *} -> the byte a server's background Read returned. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSPAN_MAX_INFLIGHT);
	__type(key, struct go_held_key);
	__type(value, struct go_held_byte);
} go_tls_held_bytes SEC(".maps");

/* A Read of one byte into a one-byte buffer on an HTTP/1 SERVER connection:
 * the background read. True when the byte is now held. */
static __always_inline bool go__hold_background_byte(__u32 tgid, const struct tls_call *call,
						     __u32 bytes)
{
	struct go_held_key hk = {.tgid = tgid, .sk = call->sk};
	struct go_held_byte held = {};
	struct conn_state *c;

	if (bytes != 1 || call->len != 1 || !call->sk)
		return false;
	c = conn__get(tgid, call->sk, KSPAN_ROLE_UNKNOWN, true);
	if (!c || c->role != KSPAN_ROLE_SERVER || c->protocol != KSPAN_PROTO_HTTP1 ||
	    bpf_probe_read_user(&held.byte, 1, (void *)call->buf))
		return false;
	held.conn_id = c->conn_id;
	return bpf_map_update_elem(&go_tls_held_bytes, &hk, &held, BPF_ANY) == 0;
}

/* The byte held before this Read of `bytes` bytes, put back in front of
 * them when the buffer follows it: the bytes `call` now describes. */
static __always_inline __u32 go__take_held_byte(__u32 tgid, struct tls_call *call, __u32 bytes)
{
	struct go_held_key hk = {.tgid = tgid, .sk = call->sk};
	struct go_held_byte *held = bpf_map_lookup_elem(&go_tls_held_bytes, &hk);
	struct conn_state *c;
	__u8 before = 0;

	if (!held)
		return bytes;
	c = conn__get(tgid, call->sk, KSPAN_ROLE_UNKNOWN, true);
	if (bytes > 0 && bytes < 0x7fffffff && c && c->conn_id == held->conn_id &&
	    bpf_probe_read_user(&before, 1, (void *)(call->buf - 1)) == 0 && before == held->byte) {
		call->buf--;
		call->len++;
		bytes++;
	} else {
		counter__inc(KSPAN_CNT_GO_TLS_HELD_BYTE_LOST);
	}
	bpf_map_delete_elem(&go_tls_held_bytes, &hk);
	return bytes;
}

/* A call's entry, registers as Go's ABIInternal passes them: its slot in
 * go_tls_calls filled, or NULL (not traced, no TCP socket, table full). */
static __always_inline struct tls_call *go__call_begin(struct pt_regs *ctx,
						       const struct go_call_key *k, __u8 direction)
{
	__u32 zero = 0;
	struct tls_call *empty = bpf_map_lookup_elem(&go_tls_empty_call, &zero), *call;
	__u64 sk;

	if (!empty || !process__selected(k->tgid) || ctx->cx == 0)
		return NULL;
	sk = go__socket(ctx->ax, go__offsets(ctx));
	if (!sk)
		return NULL;
	if (bpf_map_update_elem(&go_tls_calls, k, empty, BPF_ANY)) {
		counter__inc(KSPAN_CNT_TLS_CALLS_LOST);
		return NULL;
	}
	call = bpf_map_lookup_elem(&go_tls_calls, k);
	if (!call)
		return NULL;
	call->ssl = ctx->ax;
	call->buf = ctx->bx;
	call->len = ctx->cx > 0x7fffffff ? 0x7fffffff : (__u32)ctx->cx;
	call->direction = direction;
	call->goroutine = 1;
	call->sk = sk;
	call->ts_enter = bpf_ktime_get_ns();
	return call;
}

/* The call's plaintext, `bytes` long, through the data path; frees its slot. */
static __always_inline void go__call_end(const struct go_call_key *k, struct tls_call *call,
					 __u32 bytes)
{
	struct inflight_syscall in;
	bool ok = bytes > 0 && bytes <= call->len && tls__call_exit(call, bytes, &in);

	bpf_map_delete_elem(&go_tls_calls, k);
	if (ok) {
		in.io_flags |= KSPAN_IO_GOROUTINE;
		data__handle(&in, bytes, true);
	}
}

static __always_inline void go__write(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct go_call_key k = {.tgid = id >> 32, .g = ctx->r14 | 1};
	struct tls_call *call = go__call_begin(ctx, &k, KSPAN_DIR_EGRESS);

	if (!call)
		return;
	kspan_tls_client_enter(call);
	go__call_end(&k, call, call->len);
}

static __always_inline void go__read_entry(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct go_call_key k = {.tgid = id >> 32, .g = ctx->r14};

	go__call_begin(ctx, &k, KSPAN_DIR_INGRESS);
}

static __always_inline void go__read_return(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct go_call_key k = {.tgid = id >> 32, .g = ctx->r14};
	struct tls_call *call = bpf_map_lookup_elem(&go_tls_calls, &k);
	__s64 n = (__s64)ctx->ax;
	__u32 bytes;

	if (!call)
		return; /* a Read on no TCP socket, or one entered before attach */
	/* n <= 0: an error, EOF, or close_notify: nothing read. */
	bytes = n > 0 && n <= 0x7fffffff ? (__u32)n : 0;
	if (go__hold_background_byte(k.tgid, call, bytes)) {
		bpf_map_delete_elem(&go_tls_calls, &k);
		return;
	}
	go__call_end(&k, call, go__take_held_byte(k.tgid, call, bytes));
}

static __always_inline void go__handshake(struct pt_regs *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct conn_state *c;
	__u64 sk;

	if (!process__selected(tgid))
		return;
	sk = go__socket(ctx->ax, go__offsets(ctx));
	if (!sk)
		return;
	c = conn__get(tgid, sk, KSPAN_ROLE_UNKNOWN, true);
	if (c)
		c->tls = 1;
}

/* The programs, in the two sets of uprobe_openssl.bpf.h: with preemption
 * disabled (6.10+), and without; the loader loads one set. */
#define KSPAN_GO_TLS_PROGRAM(name, body, guarded)                                                  \
	SEC("uprobe")                                                                              \
	int name(struct pt_regs *ctx)                                                              \
	{                                                                                          \
		if (guarded)                                                                       \
			bpf_preempt_disable();                                                     \
		body(ctx);                                                                         \
		if (guarded)                                                                       \
			bpf_preempt_enable();                                                      \
		return 0;                                                                          \
	}

/* Read's returns: a uprobe on each RET instruction, not a uretprobe. */
KSPAN_GO_TLS_PROGRAM(kspan_uprobe_go_tls_write, go__write, true)
KSPAN_GO_TLS_PROGRAM(kspan_uprobe_go_tls_read, go__read_entry, true)
KSPAN_GO_TLS_PROGRAM(kspan_uprobe_go_tls_read_return, go__read_return, true)
KSPAN_GO_TLS_PROGRAM(kspan_uprobe_go_tls_handshake, go__handshake, true)

KSPAN_GO_TLS_PROGRAM(kspan_uprobe_go_tls_write_preemptible, go__write, false)
KSPAN_GO_TLS_PROGRAM(kspan_uprobe_go_tls_read_preemptible, go__read_entry, false)
KSPAN_GO_TLS_PROGRAM(kspan_uprobe_go_tls_read_return_preemptible, go__read_return, false)
KSPAN_GO_TLS_PROGRAM(kspan_uprobe_go_tls_handshake_preemptible, go__handshake, false)

#endif /* KSPAN_UPROBE_GO_TLS_BPF_H */
