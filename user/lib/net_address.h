/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* net_address.h - connection addresses and Host/:authority values as span
 * attributes need them (shared by the HTTP/1 and HTTP/2 assemblers). */
#ifndef KSPAN_NET_ADDRESS_H
#define KSPAN_NET_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Text form of an address from the ABI's tuple; IPv4-mapped IPv6 addresses
 * are written as IPv4. */
void net_format_addr(uint16_t family, const uint8_t addr[16], char *out, size_t size);
bool net_addr_is_v4(uint16_t family, const uint8_t addr[16]);

/* "host", "host:port", "[v6]:port" -> host and port (0 when absent). */
void net_split_host_port(const char *p, size_t len, char *host, size_t host_size, unsigned *port);

#endif /* KSPAN_NET_ADDRESS_H */
