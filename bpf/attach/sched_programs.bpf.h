/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * sched_programs.bpf.h - programs on process and thread lifecycle events,
 * loaded with every backend: a process's exit ends its connections
 * (PROC_EXIT), an exec() may bring a TLS library to probe (PROC_EXEC), and
 * a thread created while its creator serves a request
 * inherits that request.
 */
#ifndef KSPAN_SCHED_PROGRAMS_BPF_H
#define KSPAN_SCHED_PROGRAMS_BPF_H

#include "base/process_info.bpf.h"
#include "capture/tls_calls.bpf.h"
#include "propagation/go_parent.bpf.h"
#include "propagation/trace_context.bpf.h"

/* Every backend: a raw tracepoint needs neither tracefs nor kprobes. */
SEC("raw_tracepoint/sched_process_exit")
int kspan_raw_tp_sched_process_exit(void *ctx __attribute__((unused)))
{
	__u64 id = bpf_get_current_pid_tgid();

	thread__exited((__u32)id);
	if ((__u32)id == id >> 32)
		go__process_gone(id >> 32);
	/* A thread that dies inside a TLS call (a reader blocked at exit)
	 * never returns from it. */
	bpf_map_delete_elem(&tls_calls, &id);
	process__exit();
	return 0;
}

/* A thread (or process) created while its creator serves a request works
 * for that request (propagation/trace_context.bpf.h). tp_btf: no tracefs needed. */
SEC("tp_btf/sched_process_fork")
int kspan_btf_sched_process_fork(__u64 *ctx)
{
	struct task_struct *parent = (struct task_struct *)ctx[0];
	struct task_struct *child = (struct task_struct *)ctx[1];

	thread__created(parent, BPF_CORE_READ(parent, pid), child, BPF_CORE_READ(child, pid));
	return 0;
}

/* exec(): the new program may map a TLS library no process mapped before,
 * which the agent must probe before its first request. */
SEC("tp_btf/sched_process_exec")
int kspan_btf_sched_process_exec(__u64 *ctx __attribute__((unused)))
{
	go__process_gone(bpf_get_current_pid_tgid() >> 32); /* a new program */
	process__exec();
	return 0;
}

#endif /* KSPAN_SCHED_PROGRAMS_BPF_H */
