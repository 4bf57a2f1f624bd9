/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * inject_sockets.bpf.h - which client sockets are in the `inject_sockets`
 * sockhash, whose sk_msg program inserts traceparent
 * (header_insertion.bpf.h), and for how long.
 *
 * In: a tp_btf program on inet_sock_set_state marks the active opens of
 * traced processes when connect() moves them to SYN_SENT (in the caller's
 * context, so it can ask who that is: attach/socket_programs.bpf.h), and the
 * sock_ops program on the root cgroup puts the marked ones whose ports are
 * traced in the sockhash once established - the only point where sock_ops
 * may add them (sock_map_op_okay: BPF_SOCK_OPS_{ACTIVE,PASSIVE}_ESTABLISHED_CB
 * and TCP_LISTEN_CB). sock_ops itself cannot ask who the process is: some
 * kernels (6.1, Debian 12's) refuse bpf_get_current_pid_tgid to sock_ops,
 * while bpf_sk_storage_get is allowed to tp_btf programs since 5.11.
 *
 * Out again at the socket's first write, unless it is an HTTP/1.0-1.1
 * request kspan can frame or the HTTP/2 client preface. A socket in a
 * sockhash runs tcp_bpf_ioctl, which on kernels with commit 929e30f93125
 * (6.6.128+, 6.12.75+, 6.18.14+) answers FIONREAD with the bytes of the
 * psock's own queue - 0 for sockets that only have an sk_msg program - and so
 * stalls programs that size their reads with it; database, Redis and TLS
 * clients must not pay that for nothing. The write's entry hook, which sees
 * the bytes before they are sent, records its judgement in `inject_verdicts`
 * (inject_sockets__judge, called from http1_tx.bpf.h); the sock_ops program,
 * asked with BPF_SOCK_OPS_WRITE_HDR_OPT_CB_FLAG about every segment the
 * socket sends until then, acts on it at the socket's first data segment and
 * takes the socket out with bpf_map_delete_elem. The verifier allows that to sock_ops
 * (may_update_sockmap: BPF_PROG_TYPE_SOCK_OPS may delete; tracing programs,
 * the write hooks, may neither add nor delete, and sk_msg may do neither), so
 * no socket waits for the agent. Removal drops the psock and restores the
 * socket's own proto, with its own FIONREAD. Bytes the peer sends first do
 * not decide: an HTTP/2 server may send its SETTINGS before the client's
 * preface (RFC 9113 section 3.4), and sock_ops cannot read them (its skb
 * view ends at the TCP header). A socket whose peer speaks first (a MySQL or
 * SMTP greeting) therefore leaves at the client's first write; until then
 * its FIONREAD is wrong on kernels with the regression.
 *
 * Why an HTTP socket cannot leave the sockhash after each edited request and
 * come back for the next: only sock_ops at the ESTABLISHED callbacks, and
 * programs with an skb (tc, XDP, socket filters, sk_lookup, sk_reuseport,
 * flow dissector), may add a socket to a sockhash; none of them runs between
 * a response read and the next request's sendmsg, which must already find
 * the socket in the sockhash (tcp_bpf_sendmsg is chosen by the socket's
 * proto at the call). So on kernels with the regression, HTTP sockets kspan
 * edits report FIONREAD 0 for as long as they live: the agent switches
 * insertion off there unless asked (user/loader/insertion_checks.c).
 */
#ifndef KSPAN_INJECT_SOCKETS_BPF_H
#define KSPAN_INJECT_SOCKETS_BPF_H

#include "base/conn_tracking.bpf.h"

/* Active opens of traced processes, marked at connect(). */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u8);
} inject_candidates SEC(".maps");

/* socket cookie -> socket: the sockets the sk_msg program sees. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, KSPAN_MAX_INJECT_SOCKETS);
	__type(key, __u64);
	__type(value, __u64);
} inject_sockets SEC(".maps");

/* inject_verdicts values: what the first write's entry saw. */
#define INJECT_PENDING 0 /* no write seen yet: out at the first bytes */
#define INJECT_KEEP    1 /* an editable HTTP/1 request, or the HTTP/2 preface */
#define INJECT_REMOVE  2 /* anything else */

/* socket cookie -> INJECT_*, for sockets in the sockhash whose first bytes
 * are still to come. LRU: an entry lost is a socket taken out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KSPAN_MAX_INJECT_SOCKETS);
	__type(key, __u64);
	__type(value, __u8);
} inject_verdicts SEC(".maps");

/* A sock_ops callback: a candidate socket whose ports are traced enters the
 * sockhash once established, unless bytes already moved (TCP Fast Open data
 * in the SYN: not followed from its first byte). */
static __always_inline int inject_sockets__add(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;
	__u8 pending = INJECT_PENDING;
	__u16 local, remote;
	__u64 cookie;

	if (!sk || !bpf_sk_storage_get(&inject_candidates, sk, 0, 0))
		return 1;
	local = (__u16)skops->local_port;
	remote = (__u16)bpf_ntohl(skops->remote_port);
	if (filter_ports && !bpf_map_lookup_elem(&traced_ports, &local) &&
	    !bpf_map_lookup_elem(&traced_ports, &remote))
		return 1;
	if (skops->data_segs_out || skops->bytes_received)
		return 1;
	cookie = bpf_get_socket_cookie(skops);
	if (bpf_map_update_elem(&inject_verdicts, &cookie, &pending, BPF_ANY))
		return 1;
	if (bpf_sock_hash_update(skops, &inject_sockets, &cookie, BPF_NOEXIST)) {
		bpf_map_delete_elem(&inject_verdicts, &cookie);
		return 1;
	}
	/* Asked about every segment until the first bytes (and no longer):
	 * without the callback the socket could never be taken out. */
	if (bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags |
						 BPF_SOCK_OPS_WRITE_HDR_OPT_CB_FLAG)) {
		bpf_map_delete_elem(&inject_verdicts, &cookie);
		if (bpf_map_delete_elem(&inject_sockets, &cookie))
			counter__inc(KSPAN_CNT_INJECT_SOCKETS_STUCK);
		return 1;
	}
	counter__inc(KSPAN_CNT_INJECT_SOCKETS_ADDED);
	return 1;
}

/*
 * BPF_SOCK_OPS_HDR_OPT_LEN_CB, for a segment a socket of the sockhash is
 * about to send. At the first one that carries data (skb_len: the payload,
 * the header is not pushed yet; tcp_current_mss() asks without an skb), the
 * socket stays only if its first write's entry said so.
 */
static __always_inline int inject_sockets__first_bytes(struct bpf_sock_ops *skops)
{
	__u64 cookie;
	bool keep;
	__u8 *v;

	if (!skops->skb_len)
		return 1;
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags &
					     ~BPF_SOCK_OPS_WRITE_HDR_OPT_CB_FLAG);
	cookie = bpf_get_socket_cookie(skops);
	v = bpf_map_lookup_elem(&inject_verdicts, &cookie);
	keep = v && *v == INJECT_KEEP;
	bpf_map_delete_elem(&inject_verdicts, &cookie);
	if (keep)
		return 1;
	if (bpf_map_delete_elem(&inject_sockets, &cookie))
		counter__inc(KSPAN_CNT_INJECT_SOCKETS_STUCK);
	else
		counter__inc(KSPAN_CNT_INJECT_SOCKETS_REMOVED);
	return 1;
}

/* The sock_ops program's body. */
static __always_inline int inject_sockets__sock_ops(struct bpf_sock_ops *skops)
{
	if (skops->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB)
		return inject_sockets__add(skops);
	if (skops->op == BPF_SOCK_OPS_HDR_OPT_LEN_CB)
		return inject_sockets__first_bytes(skops);
	return 1;
}

/* The entry of a client socket's first write judged it: keep the socket in
 * the sockhash (an editable request, or the HTTP/2 preface) or not. A socket
 * outside the sockhash has no entry and nothing happens. */
static __always_inline void inject_sockets__judge(__u64 sk, bool keep)
{
	__u64 cookie = socket__cookie(sk);
	__u8 *v;

	if (!cookie)
		return;
	v = bpf_map_lookup_elem(&inject_verdicts, &cookie);
	if (v && *v == INJECT_PENDING)
		*v = keep ? INJECT_KEEP : INJECT_REMOVE;
}

#endif /* KSPAN_INJECT_SOCKETS_BPF_H */
