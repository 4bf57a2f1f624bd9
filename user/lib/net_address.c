// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* net_address.c - addresses and authorities for span attributes. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/net_address.h"

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void net_format_addr(uint16_t family, const uint8_t addr[16], char *out, size_t size)
{
	if (family == AF_INET6 && memcmp(addr, v4_mapped, 12) == 0)
		inet_ntop(AF_INET, addr + 12, out, (socklen_t)size);
	else if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr, out, (socklen_t)size))
		snprintf(out, size, "unknown");
}

bool net_addr_is_v4(uint16_t family, const uint8_t addr[16])
{
	return family == AF_INET || memcmp(addr, v4_mapped, 12) == 0;
}

void net_split_host_port(const char *p, size_t len, char *host, size_t host_size, unsigned *port)
{
	const char *end = p + len, *colon = NULL;

	*port = 0;
	if (len && p[0] == '[') {
		const char *close = memchr(p, ']', len);
		if (close) {
			snprintf(host, host_size, "%.*s", (int)(close - p - 1), p + 1);
			if (close + 1 < end && close[1] == ':')
				*port = (unsigned)strtoul(close + 2, NULL, 10);
			return;
		}
	}
	colon = memchr(p, ':', len);
	snprintf(host, host_size, "%.*s", (int)((colon ? colon : end) - p), p);
	if (colon) {
		char digits[8];
		snprintf(digits, sizeof(digits), "%.*s", (int)(end - colon - 1), colon + 1);
		*port = (unsigned)strtoul(digits, NULL, 10);
		if (*port > 65535)
			*port = 0;
	}
}
