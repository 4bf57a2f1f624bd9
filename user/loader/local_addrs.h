/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * local_addrs.h - the addresses of this node's interfaces, written into the
 * kernel's local_addrs map (bpf/base/maps.bpf.h): a CLIENT request is kept
 * for a same-node join only when its server's address is one of them.
 */
#ifndef KSPAN_LOCAL_ADDRS_H
#define KSPAN_LOCAL_ADDRS_H

/* How often the agent reads the interfaces again (an address added later,
 * a new interface): the kernel also learns every address a traced server
 * accepts on, so this only matters for servers kspan does not trace. */
#define LOCAL_ADDRS_REFRESH_NS (10ull * 1000000000)

/* Adds every IPv4 and IPv6 address of getifaddrs() to the map `map_fd`.
 * Returns the number of addresses written, or a negative errno. Addresses
 * that disappear stay until the LRU map evicts them: an extra entry only
 * keeps a request for a join that never comes. */
int local_addrs_refresh(int map_fd);

#endif /* KSPAN_LOCAL_ADDRS_H */
