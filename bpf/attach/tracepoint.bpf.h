/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tracepoint.bpf.h - the syscall tracepoint front-end (every kernel with
 * CONFIG_FTRACE_SYSCALLS, including those without kprobes): two programs on
 * the raw syscall tracepoints, sys_enter(regs, id) and sys_exit(regs, ret),
 * that switch on the syscall number first and unpack the arguments of the
 * few syscalls kspan follows from the saved user registers, then call
 * syscall_probes.bpf.h. Loaded only when the loader picks this backend.
 *
 * Why raw tracepoints, not the per-syscall perf tracepoints
 * (tracepoint/syscalls/sys_enter_write, ...): a perf syscall tracepoint goes
 * through perf_syscall_enter/exit, which copies the arguments into a perf
 * record and takes the perf recursion context before the program runs
 * (about 0.45 us per traced syscall here); a raw tracepoint calls the program
 * directly with the tracepoint's own arguments (about 5 ns), and needs no
 * tracefs. tp_btf types those arguments: `regs` is a struct pt_regs the
 * program loads from directly, without probe reads. raw_tp is the same
 * program with probe reads, for a kernel that refuses tp_btf here; the
 * loader tries tp_btf first (user/loader/probe_loader.c).
 *
 * Every process's every syscall now runs one of these programs: anything
 * but the syscalls below returns after one compare. Reads have no entry
 * program at all: their fd, buffer and flags are still in the registers at
 * the exit, and a read that returned nothing costs the switch and a compare.
 * The syscall numbers and the ia32 rule: syscall_regs.bpf.h.
 */
#ifndef KSPAN_TRACEPOINT_BPF_H
#define KSPAN_TRACEPOINT_BPF_H

#include "attach/syscall_probes.bpf.h"
#include "attach/syscall_regs.bpf.h"

/* The syscall's name for its exit (base/inflight.bpf.h): number and fd. */
static __always_inline __u64 tp__key(long nr, __u64 fd)
{
	return ((__u64)nr << 32) | (__u32)fd;
}

/*
 * A write-like syscall's entry (kind: KSPAN_SYS_*), from its first three
 * arguments. A function of its own, verified once for every syscall number,
 * so that the program's frame holds nothing while the CLIENT side is decided
 * (6.1 limits a call chain's stack to 512 bytes in all).
 */
__noinline int kspan_tp_write_enter(__u64 fd, __u64 key, __u64 buf, __u64 third, __u32 kind)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 iovcnt = 0, flat_len = 0;

	if (kind == KSPAN_SYS_SENDMSG)
		return probe__msg_enter(id, fd, key, buf, kind, KSPAN_DIR_EGRESS);
	if (kind == KSPAN_SYS_WRITEV)
		iovcnt = (__u32)third;
	else if (kind != KSPAN_SYS_SENDFILE)
		flat_len = tp__flat_len(third);
	return probe__io_enter(id, fd, key, buf, iovcnt, flat_len, (__u8)kind, KSPAN_DIR_EGRESS);
}

/* connect(fd, ...) and close(fd): a function of its own for the same reason
 * (their socket tuples would otherwise sit in the program's frame). */
__noinline int kspan_tp_socket_enter(__u64 fd, __u64 key, __u32 is_close)
{
	if (is_close)
		return probe__close_enter(fd);
	return probe__connect_enter(fd, key);
}

static __always_inline int tp__sys_enter(struct pt_regs *regs, long nr, bool btf)
{
	__u64 fd, buf = 0, third = 0;
	__u8 kind = syscall__write_kind(nr); /* 0 below: close(fd) */

	if (!kind) {
		/* sendfile(out_fd, in_fd, offset, count): body bytes without a
		 * user buffer, counted so that Content-Length framing and
		 * timing stay exact. */
		if (nr == NR_sendfile)
			kind = KSPAN_SYS_SENDFILE;
		else if (nr == NR_connect)
			kind = INFLIGHT_CONNECT;
		else if (nr != NR_close)
			return 0;
	}
	if (tp__compat())
		return 0;
	fd = TP_REG(regs, btf, di);
	if (!kind || kind == INFLIGHT_CONNECT)
		return kspan_tp_socket_enter(fd, tp__key(nr, fd), !kind);
	if (kind != KSPAN_SYS_SENDFILE) {
		buf = TP_REG(regs, btf, si);
		third = TP_REG(regs, btf, dx);
	}
	return kspan_tp_write_enter(fd, tp__key(nr, fd), buf, third, kind);
}

static __always_inline int tp__sys_exit(struct pt_regs *regs, long ret, bool btf)
{
	long nr = (long)TP_REG(regs, btf, orig_ax);
	struct inflight_syscall in;
	struct thread_io *t = NULL;
	__u64 fd, flags = 0;
	__u8 kind = 0;
	bool seen;

	switch (nr) {
	case NR_read: /* read(fd, buf, count) */
		kind = KSPAN_SYS_READ;
		break;
	case NR_readv: /* readv(fd, iov, iovcnt) */
		kind = KSPAN_SYS_READV;
		break;
	case NR_recvfrom: /* recvfrom(fd, buf, len, flags, addr, addrlen) */
		kind = KSPAN_SYS_RECVFROM;
		break;
	case NR_recvmsg: /* recvmsg(fd, msg, flags) */
		kind = KSPAN_SYS_RECVMSG;
		break;
	case NR_write:
	case NR_writev:
	case NR_sendto:
	case NR_sendmsg:
	case NR_sendfile:
	case NR_connect:
	case NR_accept:
	case NR_accept4:
		break;
	default:
		return 0;
	}
	if (kind && ret <= 0)
		return 0;
	if (tp__compat())
		return 0;
	fd = TP_REG(regs, btf, di);
	if (kind) {
		if (kind == KSPAN_SYS_RECVFROM)
			flags = TP_REG(regs, btf, r10);
		else if (kind == KSPAN_SYS_RECVMSG)
			flags = TP_REG(regs, btf, dx);
		seen = probe__read_seen_at_exit(
		    fd, TP_REG(regs, btf, si),
		    kind == KSPAN_SYS_RECVMSG ? 0 : TP_REG(regs, btf, dx), flags, kind, &in, &t);
	} else if (nr == NR_accept || nr == NR_accept4) {
		return probe__accept_exit(ret);
	} else {
		t = thread_io__existing();
		seen = probe__exit_remembered(t, tp__key(nr, fd), ret, &in);
	}
	/* One call site: the data path is inlined once in this program. */
	if (seen)
		probe__data(t, &in, ret);
	return 0;
}

/* The attach macros give every program a ctx that it may not use. */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunused-parameter"

SEC("tp_btf/sys_enter")
int BPF_PROG(kspan_tp_sys_enter, struct pt_regs *regs, long id)
{
	return tp__sys_enter(regs, id, true);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(kspan_tp_sys_exit, struct pt_regs *regs, long ret)
{
	return tp__sys_exit(regs, ret, true);
}

/* The same on raw_tp, loaded instead when tp_btf is refused. */
SEC("raw_tp/sys_enter")
int BPF_PROG(kspan_tp_raw_sys_enter, struct pt_regs *regs, long id)
{
	return tp__sys_enter(regs, id, false);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(kspan_tp_raw_sys_exit, struct pt_regs *regs, long ret)
{
	return tp__sys_exit(regs, ret, false);
}

#pragma clang diagnostic pop

#endif /* KSPAN_TRACEPOINT_BPF_H */
