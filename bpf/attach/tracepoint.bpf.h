/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tracepoint.bpf.h - the syscall tracepoint front-end (every kernel with
 * CONFIG_FTRACE_SYSCALLS, including those without kprobes): each program
 * unpacks its syscall's arguments and calls syscall_probes.bpf.h. Loaded
 * only when the loader picks this backend (section prefix tracepoint/).
 */
#ifndef KSPAN_TRACEPOINT_BPF_H
#define KSPAN_TRACEPOINT_BPF_H

#include "attach/syscall_probes.bpf.h"

#define ENTER_ARG(ctx, n) ((struct trace_event_raw_sys_enter *)(ctx))->args[n]
#define EXIT_RET(ctx)	  ((struct trace_event_raw_sys_exit *)(ctx))->ret

/*
 * The heavy halves of the tracepoint backend are two programs, reached by
 * tail calls: the CLIENT side of a write's entry (HTTP/1 request context,
 * HTTP/2 stream walk) and the data path of every exit. Each is verified once
 * at load instead of once per syscall, which makes loading several times
 * faster. The per-syscall front-ends remember the syscall's arguments (and
 * adopt a read blocked since before attach: only they know which syscall it
 * is). The loader fills tp_handlers before it attaches any front-end, and
 * the handlers stay loaded while they are attached: the tail calls cannot
 * miss.
 */
#define TP_HANDLER_CLIENT_ENTER 0
#define TP_HANDLER_IO_EXIT	1

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} tp_handlers SEC(".maps");

/* Not attached: only entered by tail call, with a sys_enter context. */
SEC("tracepoint")
int kspan_tp_enter_client(void *ctx __attribute__((unused)))
{
	return probe__client_enter_remembered();
}

/* Not attached: only entered by tail call, with a sys_exit context. */
SEC("tracepoint")
int kspan_tp_exit_io(void *ctx)
{
	return probe__io_exit(EXIT_RET(ctx));
}

/* A write that may start a CLIENT request goes on in kspan_tp_enter_client. */
#define CLIENT_ENTER(ctx, remembered)                                                              \
	do {                                                                                       \
		if (remembered)                                                                    \
			bpf_tail_call(ctx, &tp_handlers, TP_HANDLER_CLIENT_ENTER);                 \
		return 0;                                                                          \
	} while (0)

/* read(fd, buf, count), recvfrom(fd, buf, len, flags, ...) */
SEC("tracepoint/syscalls/sys_enter_read")
int kspan_tp_enter_read(void *ctx)
{
	return probe__io_enter(ENTER_ARG(ctx, 0), ENTER_ARG(ctx, 1), 0, KSPAN_SYS_READ,
			       KSPAN_DIR_INGRESS);
}

SEC("tracepoint/syscalls/sys_enter_readv")
int kspan_tp_enter_readv(void *ctx)
{
	return probe__io_enter(ENTER_ARG(ctx, 0), ENTER_ARG(ctx, 1), ENTER_ARG(ctx, 2),
			       KSPAN_SYS_READV, KSPAN_DIR_INGRESS);
}

SEC("tracepoint/syscalls/sys_enter_recvfrom")
int kspan_tp_enter_recvfrom(void *ctx)
{
	return probe__recv_enter(ENTER_ARG(ctx, 0), ENTER_ARG(ctx, 1), 0, ENTER_ARG(ctx, 3),
				 KSPAN_SYS_RECVFROM);
}

SEC("tracepoint/syscalls/sys_enter_recvmsg")
int kspan_tp_enter_recvmsg(void *ctx)
{
	return probe__recvmsg_enter(ENTER_ARG(ctx, 0), ENTER_ARG(ctx, 1), ENTER_ARG(ctx, 2));
}

SEC("tracepoint/syscalls/sys_enter_write")
int kspan_tp_enter_write(void *ctx)
{
	CLIENT_ENTER(ctx, probe__io_enter(ENTER_ARG(ctx, 0), ENTER_ARG(ctx, 1), 0, KSPAN_SYS_WRITE,
					  KSPAN_DIR_EGRESS));
}

SEC("tracepoint/syscalls/sys_enter_writev")
int kspan_tp_enter_writev(void *ctx)
{
	CLIENT_ENTER(ctx, probe__io_enter(ENTER_ARG(ctx, 0), ENTER_ARG(ctx, 1), ENTER_ARG(ctx, 2),
					  KSPAN_SYS_WRITEV, KSPAN_DIR_EGRESS));
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int kspan_tp_enter_sendto(void *ctx)
{
	CLIENT_ENTER(ctx, probe__io_enter(ENTER_ARG(ctx, 0), ENTER_ARG(ctx, 1), 0, KSPAN_SYS_SENDTO,
					  KSPAN_DIR_EGRESS));
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int kspan_tp_enter_sendmsg(void *ctx)
{
	CLIENT_ENTER(ctx, probe__msg_enter(ENTER_ARG(ctx, 0), ENTER_ARG(ctx, 1), KSPAN_SYS_SENDMSG,
					   KSPAN_DIR_EGRESS));
}

/* sendfile(out_fd, in_fd, offset, count): body bytes without a user buffer;
 * counted so that Content-Length framing and timing stay exact. */
SEC("tracepoint/syscalls/sys_enter_sendfile64")
int kspan_tp_enter_sendfile(void *ctx)
{
	return probe__io_enter(ENTER_ARG(ctx, 0), 0, 0, KSPAN_SYS_SENDFILE, KSPAN_DIR_EGRESS);
}

SEC("tracepoint/syscalls/sys_enter_connect")
int kspan_tp_enter_connect(void *ctx)
{
	return probe__connect_enter(ENTER_ARG(ctx, 0));
}

#define KSPAN_TP_EXIT(name, unseen_read)                                                           \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                                 \
	int kspan_tp_exit_##name(void *ctx)                                                        \
	{                                                                                          \
		if (unseen_read)                                                                   \
			probe__adopt_unseen_read(bpf_get_current_pid_tgid(), EXIT_RET(ctx),        \
						 (unseen_read));                                   \
		bpf_tail_call(ctx, &tp_handlers, TP_HANDLER_IO_EXIT);                              \
		return 0;                                                                          \
	}

KSPAN_TP_EXIT(read, KSPAN_SYS_READ)
KSPAN_TP_EXIT(readv, KSPAN_SYS_READV)
KSPAN_TP_EXIT(recvfrom, KSPAN_SYS_RECVFROM)
KSPAN_TP_EXIT(recvmsg, KSPAN_SYS_RECVMSG)
KSPAN_TP_EXIT(write, 0)
KSPAN_TP_EXIT(writev, 0)
KSPAN_TP_EXIT(sendto, 0)
KSPAN_TP_EXIT(sendmsg, 0)
KSPAN_TP_EXIT(sendfile64, 0)
KSPAN_TP_EXIT(connect, 0)

SEC("tracepoint/syscalls/sys_exit_accept")
int kspan_tp_exit_accept(void *ctx)
{
	return probe__accept_exit(EXIT_RET(ctx));
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int kspan_tp_exit_accept4(void *ctx)
{
	return probe__accept_exit(EXIT_RET(ctx));
}

SEC("tracepoint/syscalls/sys_enter_close")
int kspan_tp_enter_close(void *ctx)
{
	return probe__close_enter(ENTER_ARG(ctx, 0));
}

#endif /* KSPAN_TRACEPOINT_BPF_H */
