// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* node_attach.c - attaching the node read-callback uprobes to a node
 * executable. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "kspan.skel.h"
#include "loader/node_attach.h"
#include "loader/tls_libraries.h"

int node_attach_executable(struct kspan_bpf *skel, const char *path, int pid,
			   struct bpf_link *links[NODE_LINKS], char *why, size_t len)
{
	LIBBPF_OPTS(bpf_uprobe_opts, entry, .func_name = NODE_ON_UV_READ);
	LIBBPF_OPTS(bpf_uprobe_opts, exit, .func_name = NODE_ON_UV_READ, .retprobe = true);
	int err;

	memset(links, 0, sizeof(links[0]) * NODE_LINKS);
	if (!tls_elf_defines_function(path, NODE_ON_UV_READ))
		return 0;
	/* The return first: an entry without its return would leave a
	 * callback open on the thread for good (node_parent.bpf.h). */
	links[1] = bpf_program__attach_uprobe_opts(skel->progs.kspan_uretprobe_node_on_uv_read, pid,
						   path, 0, &exit);
	if (!links[1]) {
		err = -errno;
		snprintf(why, len, "return of OnUvRead: %s", strerror(-err));
		return err;
	}
	links[0] = bpf_program__attach_uprobe_opts(skel->progs.kspan_uprobe_node_on_uv_read, pid,
						   path, 0, &entry);
	if (!links[0]) {
		err = -errno;
		snprintf(why, len, "entry of OnUvRead: %s", strerror(-err));
		bpf_link__destroy(links[1]);
		links[1] = NULL;
		return err;
	}
	return 1;
}
