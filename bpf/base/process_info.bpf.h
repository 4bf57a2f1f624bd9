/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * process_info.bpf.h - announce a traced process once (PROC_INFO) and its
 * exit (PROC_EXIT). The identity is read here, in the process's own context,
 * because a short-lived client (curl) is often gone before userspace could
 * read /proc.
 */
#ifndef KSPAN_PROCESS_INFO_BPF_H
#define KSPAN_PROCESS_INFO_BPF_H

#include "base/conn_tracking.bpf.h"
#include "base/core_fixes.bpf.h"
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

/* Levels a path walk climbs at most: a mount crossing takes one. */
#define PROC_EXE_PATH_DEPTH    16
#define PROC_CGROUP_PATH_DEPTH 8

/* Appends one NUL-terminated name at *off of a path buffer (the wire format
 * of KSPAN_PATH_LEN in kspan_abi.h): 0, or -1 when there is no room left
 * or the name cannot be read. The bound is checked here, next to the
 * access, so that the verifier sees it. */
static __always_inline int path__append(char *path, __u32 *off, const char *name)
{
	__u32 at = *off;
	long n;

	if (at > KSPAN_PATH_LEN - KSPAN_PATH_NAME_MAX)
		return -1;
	n = bpf_probe_read_kernel_str(path + at, KSPAN_PATH_NAME_MAX, name);
	if (n <= 0)
		return -1;
	*off = at + (__u32)n;
	return 0;
}

/*
 * ev->exe_path: the executable's path, walked from its dentry up as the
 * kernel's prepend_path (fs/d_path.c) does: at the root of a mount, on to
 * the dentry it is mounted on; at the root of the mount namespace (a mount
 * that is its own parent), done. That is the path /proc/PID/exe shows (for
 * a process in a container, the path inside its root). bpf_d_path() would
 * do it, but only in LSM programs and fentry/fexit of the functions of
 * btf_allowlist_d_path (kernel/trace/bpf_trace.c), never from these hooks.
 * `file` is mm->exe_file. A global function: the verifier checks the walk
 * once.
 */
__noinline int kspan_proc_read_exe_path(struct kspan_proc_event *ev, __u64 file)
{
	struct dentry *dentry, *parent;
	struct mount *mnt, *mnt_parent;
	__u64 mnt_offset = bpf_core_field_offset(struct mount, mnt);
	__u32 off = 0;

	if (!ev)
		return 0;
	__builtin_memset(ev->exe_path, 0, sizeof(ev->exe_path));
	if (!file)
		return 0;
	dentry = BPF_CORE_READ((struct file *)file, f_path.dentry);
	/* struct mount embeds the vfsmount a path points to (real_mount()). */
	mnt = (void *)((__u64)BPF_CORE_READ((struct file *)file, f_path.mnt) - mnt_offset);
	for (int i = 0; i < PROC_EXE_PATH_DEPTH; i++) {
		if (dentry == BPF_CORE_READ(mnt, mnt.mnt_root)) {
			mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
			if (mnt_parent == mnt) {
				ev->path_flags |= KSPAN_PROC_F_EXE_PATH_WHOLE;
				break;
			}
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = mnt_parent;
			continue;
		}
		parent = BPF_CORE_READ(dentry, d_parent);
		/* A dentry that is its own parent but not a mount's root is
		 * disconnected: no path to name. */
		if (!parent || parent == dentry ||
		    path__append(ev->exe_path, &off,
				 (const char *)BPF_CORE_READ(dentry, d_name.name)))
			break;
		dentry = parent;
	}
	ev->exe_path_len = (__u16)off;
	return 0;
}

/*
 * ev->cgroup_path: the process's cgroup in the default (v2) hierarchy,
 * task->cgroups->dfl_cgrp, walked up its kernfs nodes: the cgroup's
 * directory names, from the leaf (cri-containerd-<id>.scope, libpod-<id>
 * .scope, ...) up to, and without, the hierarchy's root. On a host without
 * cgroup v2 the task is in the default hierarchy's root: an empty path.
 * `kn` is the cgroup's kernfs node.
 */
__noinline int kspan_proc_read_cgroup_path(struct kspan_proc_event *ev, __u64 kn)
{
	struct kernfs_node *node = (struct kernfs_node *)kn, *parent;
	__u32 off = 0;

	if (!ev)
		return 0;
	__builtin_memset(ev->cgroup_path, 0, sizeof(ev->cgroup_path));
	if (!kn)
		return 0;
	for (int i = 0; i < PROC_CGROUP_PATH_DEPTH; i++) {
		parent = kernfs__parent(node);
		if (!parent) {
			ev->path_flags |= KSPAN_PROC_F_CGROUP_PATH_WHOLE;
			break;
		}
		if (path__append(ev->cgroup_path, &off, BPF_CORE_READ(node, name)))
			break;
		node = parent;
	}
	ev->cgroup_path_len = (__u16)off;
	return 0;
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
	/* Up to the paths, which their readers clear: clang cannot expand a
	 * memset of the whole event into BPF stores. */
	__builtin_memset(ev, 0, __builtin_offsetof(struct kspan_proc_event, exe_path));
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
	kspan_proc_read_exe_path(ev, (__u64)BPF_CORE_READ(task, mm, exe_file));
	kspan_proc_read_cgroup_path(ev, (__u64)BPF_CORE_READ(task, cgroups, dfl_cgrp, kn));
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

/* The current process exec()ed: the agent probes the TLS libraries the new
 * program maps (PROC_EXEC, the same record as PROC_EXIT). */
static __always_inline void process__exec(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct kspan_proc_exit_event ev = {};

	if (!process__selected(id >> 32))
		return;
	ev.hdr.type = KSPAN_EVENT_PROC_EXEC;
	ev.hdr.tgid = id >> 32;
	ev.hdr.tid = (__u32)id;
	ev.hdr.ts_ns = bpf_ktime_get_ns();
	ev.start_time_ns = BPF_CORE_READ(task, start_time);
	ringbuf__send_now(&ev, sizeof(ev));
}

#endif /* KSPAN_PROCESS_INFO_BPF_H */
