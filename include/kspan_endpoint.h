/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * kspan_endpoint.h - how both ends of a TCP connection seen on this node name
 * it, shared by the kernel's HTTP/1 join (bpf/propagation/trace_context.bpf.h)
 * and the agent's HTTP/2 stream join (user/http2_stream_join.c), so both pair
 * the same connections.
 *
 * An endpoint is an address and a port. IPv4 is stored IPv6-style, as
 * ::ffff:a.b.c.d, because one end may see a v4 peer through a dual-stack
 * socket. The network namespace is left out on purpose: a client in one
 * namespace and its server in another (joined by a veth pair) each see the
 * other's address, so the pair is the same from both sides.
 */
#ifndef KSPAN_ENDPOINT_H
#define KSPAN_ENDPOINT_H

#include "kspan_bytes.h"

struct endpoint_key {
	__u8 addr[16];
	__u16 port;
	__u8 _pad[2];
};

/* A connection named from the CLIENT's side, whichever end looks at it. */
struct endpoint_pair_key {
	struct endpoint_key src; /* the CLIENT's end */
	struct endpoint_key dst; /* the SERVER's end */
};

KSPAN_INLINE void endpoint__key(struct endpoint_key *k, __u16 family, const __u8 *addr, __u16 port)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->port = port;
	if (family == KSPAN_AF_INET) {
		k->addr[10] = 0xff;
		k->addr[11] = 0xff;
		__builtin_memcpy(&k->addr[12], addr, 4);
	} else {
		__builtin_memcpy(k->addr, addr, 16);
	}
}

/* t as seen by its CLIENT (client_side: local = client) or its SERVER. */
KSPAN_INLINE void endpoint_pair__key(struct endpoint_pair_key *k, const struct kspan_conn_tuple *t,
				     int client_side)
{
	if (client_side) {
		endpoint__key(&k->src, t->family, t->local_addr, t->local_port);
		endpoint__key(&k->dst, t->family, t->remote_addr, t->remote_port);
	} else {
		endpoint__key(&k->src, t->family, t->remote_addr, t->remote_port);
		endpoint__key(&k->dst, t->family, t->local_addr, t->local_port);
	}
}

#endif /* KSPAN_ENDPOINT_H */
