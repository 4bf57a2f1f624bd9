/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * syscall_regs.bpf.h - the system call a task is in, from its saved user
 * registers: the syscall numbers kspan follows and how to read a register.
 * Shared by the front-ends that find a syscall's arguments there: the
 * syscall tracepoints (tracepoint.bpf.h) and the socket tracepoints
 * (socket_tracepoint.bpf.h, through bpf_task_pt_regs()).
 *
 * The syscall numbers are x86-64's (arch/x86/entry/syscalls/syscall_64.tbl);
 * an ia32 task (TS_COMPAT) uses other numbers for other syscalls and is
 * skipped, as the per-syscall tracepoints skip it
 * (ARCH_TRACE_IGNORE_COMPAT_SYSCALLS, kernel/trace/trace_syscalls.c).
 */
#ifndef KSPAN_SYSCALL_REGS_BPF_H
#define KSPAN_SYSCALL_REGS_BPF_H

#include "base/kernel.bpf.h"
#include "kspan_abi.h"

#define NR_read	    0
#define NR_write    1
#define NR_close    3
#define NR_readv    19
#define NR_writev   20
#define NR_sendfile 40
#define NR_connect  42
#define NR_accept   43
#define NR_sendto   44
#define NR_recvfrom 45
#define NR_sendmsg  46
#define NR_recvmsg  47
#define NR_accept4  288

/* The KSPAN_SYS_* kind of a read syscall whose bytes kspan captures, or 0.
 * Its buffer is in si; dx is read/recvfrom's length and readv's iovcnt
 * (recvmsg's msghdr, in si, holds both). */
static __always_inline __u8 syscall__read_kind(long nr)
{
	switch (nr) {
	case NR_read: /* read(fd, buf, count) */
		return KSPAN_SYS_READ;
	case NR_readv: /* readv(fd, iov, iovcnt) */
		return KSPAN_SYS_READV;
	case NR_recvfrom: /* recvfrom(fd, buf, len, flags, addr, addrlen) */
		return KSPAN_SYS_RECVFROM;
	case NR_recvmsg: /* recvmsg(fd, msg, flags) */
		return KSPAN_SYS_RECVMSG;
	default:
		return 0;
	}
}

/* The same for a write syscall with a user buffer (sendfile has none). Its
 * buffer is in si; dx is write/sendto's length and writev's iovcnt
 * (sendmsg's msghdr, in si, holds both). */
static __always_inline __u8 syscall__write_kind(long nr)
{
	switch (nr) {
	case NR_write: /* write(fd, buf, count) */
		return KSPAN_SYS_WRITE;
	case NR_writev: /* writev(fd, iov, iovcnt) */
		return KSPAN_SYS_WRITEV;
	case NR_sendto: /* sendto(fd, buf, len, flags, addr, addrlen) */
		return KSPAN_SYS_SENDTO;
	case NR_sendmsg: /* sendmsg(fd, msg, flags) */
		return KSPAN_SYS_SENDMSG;
	default:
		return 0;
	}
}

/* arch/x86/include/asm/thread_info.h: a 32-bit syscall is running. */
#define KSPAN_TS_COMPAT 0x0002

/* A saved user register: a plain load from tp_btf's typed pt_regs, a probe
 * read from raw_tp's untyped one. `btf` is a constant in every caller. */
#define TP_REG(regs, btf, reg) ((btf) ? (__u64)(regs)->reg : (__u64)BPF_CORE_READ(regs, reg))

/* Is the current task in an ia32 syscall? */
static __always_inline bool tp__compat(void)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if (!bpf_core_field_exists(task->thread_info.status))
		return false;
	return task->thread_info.status & KSPAN_TS_COMPAT;
}

/* A length argument as inflight_syscall.flat_len (which reserves ~0u). */
static __always_inline __u32 tp__flat_len(__u64 n)
{
	return n > 0xfffffffeu ? 0xfffffffeu : (__u32)n;
}

#endif /* KSPAN_SYSCALL_REGS_BPF_H */
