/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * process_info.bpf.h - announce a traced process once (PROC_INFO) and its
 * exit (PROC_EXIT). The identity is read here, in the process's own context,
 * because a short-lived client (curl) is often gone before userspace could
 * read /proc.
 */
#ifndef KSPAN_PROCESS_INFO_BPF_H
#define KSPAN_PROCESS_INFO_BPF_H

#include "base/counters.bpf.h"
#include "base/maps.bpf.h"

/* Copies the argument vector's prefix into ev->cmdline; returns its length.
 * A global function: inlined, clang spills the clamped length to the stack
 * and the 6.1 verifier loses its bound on the way back. */
__noinline int kspan_proc_read_cmdline(struct kspan_proc_event *ev, __u64 arg_start, __u64 arg_end)
{
	__u64 len;

	if (!ev || arg_end <= arg_start)
		return 0;
	len = arg_end - arg_start;
	if (len > KSPAN_CMDLINE_LEN)
		len = KSPAN_CMDLINE_LEN;
	if (bpf_probe_read_user(ev->cmdline, len, (void *)arg_start))
		return 0;
	return (int)len;
}

/* Called on a process's connections until their first event is sent; `start`
 * is the process's start time (task__process_start_ns). */
static __always_inline void process__announce(__u32 tgid, __u64 start, __u64 now)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 *known = bpf_map_lookup_elem(&known_procs, &tgid);
	struct kspan_proc_event *ev;
	__u32 zero = 0;
	const unsigned char *exe;
	__u64 arg_start, arg_end;

	if (known && *known == start)
		return;
	ev = bpf_map_lookup_elem(&proc_scratch, &zero);
	if (!ev)
		return;
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->hdr.type = KSPAN_EVENT_PROC_INFO;
	ev->hdr.tgid = tgid;
	ev->hdr.tid = (__u32)bpf_get_current_pid_tgid();
	ev->hdr.ts_ns = now;
	ev->start_time_ns = start;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	exe = BPF_CORE_READ(task, mm, exe_file, f_path.dentry, d_name.name);
	if (exe)
		bpf_probe_read_kernel_str(ev->exe_name, sizeof(ev->exe_name), exe);
	arg_start = BPF_CORE_READ(task, mm, arg_start);
	arg_end = BPF_CORE_READ(task, mm, arg_end);
	ev->cmdline_len = kspan_proc_read_cmdline(ev, arg_start, arg_end);
	if (ringbuf__send(ev, sizeof(*ev)) == 0)
		bpf_map_update_elem(&known_procs, &tgid, &start, BPF_ANY);
}

/* The thread-group leader exits: its connections are gone. */
static __always_inline void process__exit(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct kspan_proc_exit_event ev = {};

	if ((__u32)id != tgid || !bpf_map_lookup_elem(&known_procs, &tgid))
		return;
	bpf_map_delete_elem(&known_procs, &tgid);
	ev.hdr.type = KSPAN_EVENT_PROC_EXIT;
	ev.hdr.tgid = tgid;
	ev.hdr.tid = tgid;
	ev.hdr.ts_ns = bpf_ktime_get_ns();
	ev.start_time_ns = BPF_CORE_READ(task, start_time);
	ringbuf__send(&ev, sizeof(ev));
}

#endif /* KSPAN_PROCESS_INFO_BPF_H */
