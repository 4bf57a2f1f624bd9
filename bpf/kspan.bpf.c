// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kspan.bpf.c - the kernel side of kspan: one object, every program.
 *
 * Four attach front-ends share the probe bodies; the loader picks one at
 * run time and loads only its programs (by section prefix or name):
 *   - syscall tracepoints (every kernel with CONFIG_FTRACE_SYSCALLS,
 *     including those without kprobes): attach/tracepoint.bpf.h;
 *   - socket tracepoints (kernels with tcp:tcp_sendmsg_locked; no header
 *     insertion):
 *     attach/socket_tracepoint.bpf.h;
 *   - kprobes on the kernel's TCP functions: attach/kprobe.bpf.h;
 *   - fentry/fexit on the same functions: attach/fentry.bpf.h.
 * Programs of other section types are loaded with every backend (the
 * uprobes on TLS libraries among them: attach/uprobe_openssl.bpf.h). Each
 * program only unpacks its arguments and calls a body. Program names:
 * kspan_<attach>_<target>. The levels of bpf/ are described in bpf/README.md.
 */
#include "attach/socket_programs.bpf.h"
#include "attach/fentry.bpf.h"
#include "attach/kprobe.bpf.h"
#include "attach/tracepoint.bpf.h"
#include "attach/socket_tracepoint.bpf.h"
#include "attach/sched_programs.bpf.h"
#include "attach/uprobe_openssl.bpf.h"
#include "attach/uprobe_go_tls.bpf.h"
#include "attach/uprobe_nginx.bpf.h"
#include "attach/uprobe_node.bpf.h"
#include "attach/uprobe_go_goroutines.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
