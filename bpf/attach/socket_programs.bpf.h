/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * socket_programs.bpf.h - the programs of header insertion, loaded with
 * every backend: a tp_btf program that marks the active opens of traced
 * processes, a sock_ops program (root cgroup) that puts them in the
 * sockhash (and takes those that are not HTTP out again), and the sk_msg
 * program that inserts traceparent. The last two only unpack their context;
 * their bodies are propagation/inject_sockets.bpf.h and
 * propagation/header_insertion.bpf.h.
 */
#ifndef KSPAN_SOCKET_PROGRAMS_BPF_H
#define KSPAN_SOCKET_PROGRAMS_BPF_H

#include "base/conn_tracking.bpf.h"
#include "base/socket_lookup.bpf.h"
#include "propagation/header_insertion.bpf.h"

/* connect() moves the socket from CLOSE to SYN_SENT in the caller's context
 * (tcp_v4_connect, tcp_v6_connect): an active open of a traced process
 * becomes a candidate (inject_candidates). The local port may not be chosen
 * yet, so the port filter waits for sock_ops. */
SEC("tp_btf/inet_sock_set_state")
int kspan_btf_inet_sock_set_state(__u64 *ctx)
{
	struct sock *sk = (struct sock *)ctx[0];
	int newstate = (int)ctx[2];

	if (newstate != TCP_SYN_SENT || !socket__is_tcp(sk) ||
	    !process__selected(bpf_get_current_pid_tgid() >> 32))
		return 0;
	bpf_sk_storage_get(&inject_candidates, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	return 0;
}

/* A passive open (a listener's new child socket, TCP_SYN_RECV) anywhere on
 * this node, traced process or not, in any network namespace: its local
 * address is an address of this node, where a CLIENT request's server may
 * be (base/conn_tracking.bpf.h, kspan_peer_on_node). It runs in the softirq
 * that handles the SYN or the handshake's last ACK, which on loopback and
 * veth pairs is before the client's connect() returns, so before its first
 * request is written. Loaded with --propagation tuple or all. */
SEC("tp_btf/inet_sock_set_state")
int kspan_btf_passive_open(__u64 *ctx)
{
	struct sock *sk = (struct sock *)ctx[0];
	int newstate = (int)ctx[2];
	__u16 family;
	__u8 addr[16];

	if (newstate != TCP_SYN_RECV)
		return 0;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family == KSPAN_AF_INET) {
		__u32 a = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__builtin_memcpy(addr, &a, 4);
	} else if (family == KSPAN_AF_INET6) {
		BPF_CORE_READ_INTO(&addr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
	} else {
		return 0;
	}
	addr__learn_local(family, addr);
	return 0;
}

/* Client sockets in and out of the sockhash: in at
 * BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB (where sock_ops may add a socket to a
 * sockhash), out at their first bytes unless they are an editable request
 * (propagation/inject_sockets.bpf.h). */
SEC("sockops")
int kspan_sockops_inject(struct bpf_sock_ops *skops)
{
	return inject_sockets__sock_ops(skops);
}

SEC("sk_msg")
int kspan_sk_msg_inject(struct sk_msg_md *msg)
{
	return inject__msg(msg);
}

#endif /* KSPAN_SOCKET_PROGRAMS_BPF_H */
