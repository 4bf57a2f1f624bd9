/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * uprobe_node.bpf.h - uprobes on node's stream read callback, attached by
 * user/loader/node_attach.c to each node executable that exports it:
 *
 *   void node::LibuvStreamWrap::OnUvRead(ssize_t nread, const uv_buf_t *buf);
 *   (this in rdi, nread in rsi, buf in rdx; uv_buf_t is {char *base; size_t len})
 *
 * Its entry and return bracket the JavaScript a read runs
 * (propagation/node_parent.bpf.h). No code is injected into node; each call
 * costs two uprobe traps.
 */
#ifndef KSPAN_UPROBE_NODE_BPF_H
#define KSPAN_UPROBE_NODE_BPF_H

#include "base/process_info.bpf.h"
#include "propagation/node_parent.bpf.h"

SEC("uprobe")
int kspan_uprobe_node_on_uv_read(struct pt_regs *ctx)
{
	__u64 base = 0;

	if (!process__selected(bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (bpf_probe_read_user(&base, sizeof(base), (void *)PT_REGS_PARM3(ctx)))
		base = 0;
	node__callback_enter((long)PT_REGS_PARM2(ctx), base);
	return 0;
}

SEC("uretprobe")
int kspan_uretprobe_node_on_uv_read(struct pt_regs *ctx __attribute__((unused)))
{
	node__callback_return();
	return 0;
}

#endif /* KSPAN_UPROBE_NODE_BPF_H */
