/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * conn_tracking.bpf.h - which processes are traced, and the per-connection
 * state kept between syscalls.
 */
#ifndef KSPAN_CONN_TRACKING_BPF_H
#define KSPAN_CONN_TRACKING_BPF_H

#include "base/config.bpf.h"
#include "base/counters.bpf.h"
#include "base/maps.bpf.h"
#include "base/socket_lookup.bpf.h"

/* Filtering happens here, in the kernel, before anything is copied. */
static __always_inline bool process__selected(__u32 tgid)
{
	if (tgid == self_tgid)
		return false;
	if (filter_pids) {
		__u32 slot = tgid / 64;
		__u64 *bits = bpf_map_lookup_elem(&traced_pids, &slot);

		return bits && (*bits & (1ull << (tgid % 64)));
	}
	return true;
}

static __always_inline bool tuple__selected(const struct kspan_conn_tuple *t)
{
	__u16 local = t->local_port, remote = t->remote_port;

	if (!filter_ports)
		return true;
	return bpf_map_lookup_elem(&traced_ports, &local) ||
	       bpf_map_lookup_elem(&traced_ports, &remote);
}

/* kspan connected (or closes) socket `sk`: remember (or forget) its local
 * endpoint. */
static __always_inline void self__note_endpoint(struct sock *sk, bool add)
{
	struct kspan_conn_tuple t = {};
	struct endpoint_key k;
	__u8 one = 1;

	socket__read_tuple(sk, &t);
	endpoint__key(&k, t.family, t.local_addr, t.local_port);
	if (add)
		bpf_map_update_elem(&self_endpoints, &k, &one, BPF_ANY);
	else
		bpf_map_delete_elem(&self_endpoints, &k);
}

/* Is the peer of this connection one of kspan's own sockets? */
static __always_inline bool tuple__peer_is_self(const struct kspan_conn_tuple *t)
{
	struct endpoint_key k;

	endpoint__key(&k, t->family, t->remote_addr, t->remote_port);
	return bpf_map_lookup_elem(&self_endpoints, &k) != NULL;
}

/* Is the remote end of connection `t` an address of this node: loopback,
 * or one in local_addrs? A function of its own (its key on its own stack
 * frame): its callers sit deep in call chains that 6.1 limits to 512 bytes
 * of stack in all. */
__noinline int kspan_peer_on_node(const struct kspan_conn_tuple *t)
{
	struct endpoint_key k;

	if (!t)
		return 0;
	if (t->family == KSPAN_AF_INET && t->remote_addr[0] == 127)
		return 1;
	endpoint__key(&k, t->family, t->remote_addr, 0);
	if (k.addr[10] == 0xff && k.addr[11] == 0xff && k.addr[12] == 127)
		return true; /* ::ffff:127.0.0.0/104 */
	if (t->family == KSPAN_AF_INET6 && k.addr[15] == 1) {
		__u64 hi, lo;
		__builtin_memcpy(&hi, k.addr, 8);
		__builtin_memcpy(&lo, k.addr + 8, 8);
		if (hi == 0 && lo == bpf_cpu_to_be64(1))
			return 1; /* ::1 */
	}
	return bpf_map_lookup_elem(&local_addrs, &k) != NULL;
}

/* A passive open on this node (any namespace) got local address `addr`:
 * remember it as an address of this node (kspan_peer_on_node). */
static __always_inline void addr__learn_local(__u16 family, const __u8 *addr)
{
	struct endpoint_key k;
	__u8 one = 1;

	endpoint__key(&k, family, addr, 0);
	if (!bpf_map_lookup_elem(&local_addrs, &k))
		bpf_map_update_elem(&local_addrs, &k, &one, BPF_ANY);
}

static __always_inline void random__fill(__u8 *dst, __u32 words)
{
	for (__u32 i = 0; i < words && i < 4; i++) {
		__u32 r = bpf_get_prandom_u32();
		__builtin_memcpy(dst + 4 * i, &r, 4);
	}
}

/* A random id that is never zero: zero means "absent" everywhere. */
static __always_inline __u64 random__id64(void)
{
	__u64 id = ((__u64)bpf_get_prandom_u32() << 32) | bpf_get_prandom_u32();

	return id ? id : 1;
}

/* Written in place in the ring (no copy on the stack: it is called deep in
 * call chains that must stay within the verifier's combined stack limit).
 * tgid: the connection's process, which need not be the current one (the
 * socket tracepoint front-end sees some closes in softirq). */
static __always_inline void conn__send_close(const struct conn_state *c, __u32 tgid, __u64 now)
{
	struct kspan_conn_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	__u64 id = bpf_get_current_pid_tgid();

	if (!ev) {
		counter__inc(KSPAN_CNT_RINGBUF_DROPS);
		return;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->hdr.type = KSPAN_EVENT_CONN_CLOSE;
	ev->hdr.tgid = tgid;
	ev->hdr.tid = (__u32)(id >> 32) == tgid ? (__u32)id : 0;
	ev->hdr.ts_ns = now;
	ev->conn_id = c->conn_id;
	ev->tuple = c->tuple;
	ev->role = c->role;
	ev->protocol = c->protocol;
	ev->seq_ingress = c->next_seq[0];
	ev->seq_egress = c->next_seq[1];
	bpf_ringbuf_submit(ev, ringbuf__wakeup_flags(sizeof(*ev), true));
}

static __always_inline void conn__key(struct conn_key *key, __u32 tgid, __u64 sk)
{
	key->tgid = tgid;
	key->_pad = 0;
	key->sk = sk;
}

/*
 * The state of the connection on socket `sk` of the current process; created
 * when absent or stale (the tgid was reused). A stale entry that had produced
 * events is closed first, so userspace never merges two connections. Returns
 * NULL when the table is full (counted).
 */
static __always_inline struct conn_state *conn__get(__u32 tgid, __u64 sk, __u8 role, bool adopted)
{
	struct conn_key key;
	__u64 start = task__process_start_ns();
	struct conn_state *c, *fresh;
	__u32 zero = 0;

	conn__key(&key, tgid, sk);
	c = bpf_map_lookup_elem(&conn_table, &key);
	if (c && c->sk == sk && c->proc_start_ns == start) {
		if (role != KSPAN_ROLE_UNKNOWN)
			c->role = role;
		return c;
	}
	if (c && c->announced)
		conn__send_close(c, tgid, bpf_ktime_get_ns());

	/* Built in a per-CPU slot, not on the stack: callers deep in a call
	 * chain must stay within the verifier's 512-byte combined stack. */
	fresh = bpf_map_lookup_elem(&conn_scratch, &zero);
	if (!fresh)
		return NULL;
	__builtin_memset(fresh, 0, sizeof(*fresh));
	fresh->sk = sk;
	fresh->proc_start_ns = start;
	fresh->conn_id = random__id64();
	fresh->role = role;
	fresh->adopted = adopted;
	fresh->born_ns = bpf_ktime_get_ns();
	socket__read_tuple((struct sock *)sk, &fresh->tuple);
	fresh->ignored = !tuple__selected(&fresh->tuple);
	if (bpf_map_update_elem(&conn_table, &key, fresh, BPF_ANY)) {
		counter__inc(KSPAN_CNT_CONN_TABLE_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(&conn_table, &key);
}

/* The connection ends: tell userspace (if it knew the connection) and
 * forget it. */
static __always_inline void conn__forget(const struct conn_key *key)
{
	struct conn_state *c = bpf_map_lookup_elem(&conn_table, key);

	if (!c)
		return;
	if (c->announced)
		conn__send_close(c, key->tgid, bpf_ktime_get_ns());
	bpf_map_delete_elem(&conn_table, key);
}

/* A socket-keyed connection ends (its socket is closed), or starts over: a
 * socket just accepted or connecting is a new connection, whatever an entry
 * left behind by a socket at the same address said. */
static __always_inline void conn__close_socket(__u32 tgid, __u64 sk)
{
	struct conn_key key;

	conn__key(&key, tgid, sk);
	conn__forget(&key);
}

#endif /* KSPAN_CONN_TRACKING_BPF_H */
