/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * uprobe_nginx.bpf.h - uprobes on nginx's upstream hand-off, attached by
 * user/loader/nginx_attach.c to every nginx executable (functions it
 * exports: Debian's and nginx.org's builds keep them in .dynsym for
 * dynamic modules, so they survive strip):
 *
 *   void ngx_http_upstream_init(ngx_http_request_t *r);          entry, return
 *   ngx_int_t ngx_event_connect_peer(ngx_peer_connection_t *pc); entry, return
 *
 * What they do with them: propagation/nginx_parent.bpf.h. nginx workers run
 * requests on one thread (thread pools only read files), so a thread's
 * hand-off is the one request's.
 */
#ifndef KSPAN_UPROBE_NGINX_BPF_H
#define KSPAN_UPROBE_NGINX_BPF_H

#include "base/kernel.bpf.h"
#include "propagation/nginx_parent.bpf.h"

SEC("uprobe")
int kspan_uprobe_nginx_upstream_init(struct pt_regs *ctx)
{
	nginx__handoff_begin(PT_REGS_PARM1(ctx));
	return 0;
}

SEC("uretprobe")
int kspan_uretprobe_nginx_upstream_init(struct pt_regs *ctx)
{
	(void)ctx; /* its return value is void */
	nginx__handoff_end();
	return 0;
}

SEC("uprobe")
int kspan_uprobe_nginx_connect_peer(struct pt_regs *ctx)
{
	nginx__peer_begin(PT_REGS_PARM1(ctx));
	return 0;
}

SEC("uretprobe")
int kspan_uretprobe_nginx_connect_peer(struct pt_regs *ctx)
{
	nginx__peer_end((long)PT_REGS_RC(ctx));
	return 0;
}

#endif /* KSPAN_UPROBE_NGINX_BPF_H */
