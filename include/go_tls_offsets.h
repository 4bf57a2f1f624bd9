/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * go_tls_offsets.h - the struct offsets the Go crypto/tls probes follow
 * from a *tls.Conn to its socket fd (user/loader/go_struct_offsets.h says
 * which Go versions have which), packed into the uprobe's attach cookie by
 * the loader and unpacked by bpf/attach/uprobe_go_tls.bpf.h:
 *   bits  0-15  tls.Conn -> net.Conn interface's data word
 *   bits 16-31  net.TCPConn -> *netFD
 *   bits 32-47  netFD -> poll.FD.Sysfd
 * A kernel without attach cookies (before 5.15) gives 0: the probes use
 * GO_TLS_OFFSETS_DEFAULT, the layout of every Go version kspan knows so far;
 * the loader attaches nothing else there.
 */
#ifndef KSPAN_GO_TLS_OFFSETS_H
#define KSPAN_GO_TLS_OFFSETS_H

#define GO_TLS_OFFSETS_PACK(conn_data, tcpconn_netfd, netfd_sysfd)                                 \
	((unsigned long long)(conn_data) | ((unsigned long long)(tcpconn_netfd) << 16) |           \
	 ((unsigned long long)(netfd_sysfd) << 32))
#define GO_TLS_CONN_DATA(cookie)     ((cookie)&0xffff)
#define GO_TLS_TCPCONN_NETFD(cookie) (((cookie) >> 16) & 0xffff)
#define GO_TLS_NETFD_SYSFD(cookie)   (((cookie) >> 32) & 0xffff)

/* Go 1.17 to 1.24 on amd64. */
#define GO_TLS_OFFSETS_DEFAULT GO_TLS_OFFSETS_PACK(8, 0, 16)

#endif /* KSPAN_GO_TLS_OFFSETS_H */
