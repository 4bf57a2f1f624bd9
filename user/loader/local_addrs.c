// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* local_addrs.c - this node's interface addresses into the kernel's map. */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <bpf/bpf.h>

#include "kspan_abi.h"
#include "kspan_endpoint.h"
#include "loader/local_addrs.h"

int local_addrs_refresh(int map_fd)
{
	struct ifaddrs *all, *a;
	int written = 0;
	__u8 one = 1;

	if (getifaddrs(&all))
		return -errno;
	for (a = all; a; a = a->ifa_next) {
		struct endpoint_key k;

		if (!a->ifa_addr)
			continue;
		if (a->ifa_addr->sa_family == AF_INET)
			endpoint__key(&k, KSPAN_AF_INET,
				      (const __u8 *)&((struct sockaddr_in *)a->ifa_addr)->sin_addr,
				      0);
		else if (a->ifa_addr->sa_family == AF_INET6)
			endpoint__key(&k, KSPAN_AF_INET6,
				      ((struct sockaddr_in6 *)a->ifa_addr)->sin6_addr.s6_addr, 0);
		else
			continue;
		if (bpf_map_update_elem(map_fd, &k, &one, BPF_ANY) == 0)
			written++;
	}
	freeifaddrs(all);
	return written;
}
