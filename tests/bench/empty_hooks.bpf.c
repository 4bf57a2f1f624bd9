// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * empty_hooks.bpf.c - the floor of any agent built on syscall tracepoints:
 * a raw tracepoint on sys_enter and one on sys_exit that compare the
 * current process with one process id and return. Attaching them puts every
 * task of the machine on the kernel's slow syscall path (the tracepoint
 * work flag) and runs a program twice per syscall; what nginx loses with
 * them attached is the part of kspan's cost that no program change can
 * remove on a host without fentry or kprobes (tests/bench/bench_nginx.sh,
 * run "floor").
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* The one process kspan --pid would trace (set by the loader). */
const volatile __u32 traced_tgid = 0;

/* How often the traced process entered and left a syscall: the programs
 * must do what kspan's do first, one compare, and keep it from being
 * optimised away. */
__u64 traced_hits = 0;

static __always_inline int floor_hook(void)
{
	if ((__u32)(bpf_get_current_pid_tgid() >> 32) == traced_tgid)
		__sync_fetch_and_add(&traced_hits, 1);
	return 0;
}

SEC("raw_tp/sys_enter")
int floor_sys_enter(void *ctx __attribute__((unused)))
{
	return floor_hook();
}

SEC("raw_tp/sys_exit")
int floor_sys_exit(void *ctx __attribute__((unused)))
{
	return floor_hook();
}

/*
 * The same compare on the socket layer's tracepoints (kernel 6.5+: fired by
 * sock_sendmsg and sock_recvmsg once they return), attached instead of the
 * two above with the loader's "socket" mode: a hook that only socket I/O
 * pays, which leaves every other syscall on the fast path.
 */
SEC("tp_btf/sock_send_length")
int floor_sock_send(void *ctx __attribute__((unused)))
{
	return floor_hook();
}

SEC("tp_btf/sock_recv_length")
int floor_sock_recv(void *ctx __attribute__((unused)))
{
	return floor_hook();
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
