/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * node_attach.h - the uprobes on node's stream read callback
 * (bpf/attach/uprobe_node.bpf.h), attached to a node executable when the
 * TLS library scan (tls_libraries.c) looks at a process's executable: node
 * exports node::LibuvStreamWrap::OnUvRead in its dynamic symbol table.
 */
#ifndef KSPAN_NODE_ATTACH_H
#define KSPAN_NODE_ATTACH_H

#include <stddef.h>

struct kspan_bpf;
struct bpf_link;

/* node::LibuvStreamWrap::OnUvRead(long, uv_buf_t const*), mangled (Itanium
 * C++ ABI: ssize_t is long on x86-64 and arm64). */
#define NODE_ON_UV_READ "_ZN4node15LibuvStreamWrap8OnUvReadElPK8uv_buf_t"
#define NODE_LINKS	2

/*
 * When the ELF file at path (an executable, as some process sees it) defines
 * NODE_ON_UV_READ: attaches the entry and return programs to it, for every
 * process that runs it, into links[]; returns 1. 0 when the file is not
 * node, a negative errno when attaching failed (why says why). pid: the
 * only process probed (--pid), or -1 for every process running the file.
 */
int node_attach_executable(struct kspan_bpf *skel, const char *path, int pid,
			   struct bpf_link *links[NODE_LINKS], char *why, size_t len);

#endif /* KSPAN_NODE_ATTACH_H */
