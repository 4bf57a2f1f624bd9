/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * go_struct_offsets.h - where a Go program keeps the socket fd of a
 * crypto/tls connection, by Go version, and the version parser.
 *
 * The chain the probes follow from the receiver of (*tls.Conn).Read/Write:
 *   tls.Conn.conn (a net.Conn interface: itab word, then data word)
 *   -> *net.TCPConn, whose embedded net.conn holds fd *netFD first
 *   -> netFD.pfd (poll.FD, first) -> poll.FD.Sysfd (after fdmu fdMutex:
 *      state uint64, rsema uint32, wsema uint32).
 * Read from Go's sources (crypto/tls/conn.go, net/net.go, net/fd_posix.go,
 * internal/poll/fd_unix.go); a version outside the table has no offsets and
 * is not probed (counted, logged), since a wrong offset reads another fd.
 */
#ifndef KSPAN_GO_STRUCT_OFFSETS_H
#define KSPAN_GO_STRUCT_OFFSETS_H

#include <stdbool.h>
#include <stdint.h>

struct go_version {
	uint16_t major, minor, patch;
};

struct go_struct_offsets {
	uint16_t tls_conn_data;	 /* tls.Conn -> net.Conn's data word */
	uint16_t tcp_conn_netfd; /* net.TCPConn -> *netFD */
	uint16_t netfd_sysfd;	 /* netFD -> poll.FD.Sysfd */
};

/* "go1.19.8", "go1.21rc2", "go1.22.0 X:boringcrypto": 0 and *v (a missing
 * patch is 0); -EINVAL for anything else ("devel +abc", ""). */
int go_version_parse(const char *text, struct go_version *v);

/* The offsets of version v, or NULL when the table has no row for it. */
const struct go_struct_offsets *go_struct_offsets_for(struct go_version v);

/* Go 1.17 introduced the register ABI (ABIInternal) on amd64 that the probes
 * read arguments and results from. */
bool go_version_has_register_abi(struct go_version v);

#endif /* KSPAN_GO_STRUCT_OFFSETS_H */
