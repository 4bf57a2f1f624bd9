/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * self_pid.h - kspan's own process id as its BPF programs see it.
 *
 * The probes skip kspan's own system calls by comparing the tgid of
 * bpf_get_current_pid_tgid(), which is the process id in the kernel's initial
 * pid namespace. getpid() returns the id in kspan's own namespace: in a
 * container without hostPID it is another number (often 1), and kspan would
 * trace its own exports, and a host process with that number would go
 * untraced.
 */
#ifndef KSPAN_SELF_PID_H
#define KSPAN_SELF_PID_H

#include <stdint.h>

/*
 * The tgid BPF programs see for this process, found in this order:
 *   1. kspan is in the initial pid namespace (its /proc/self/ns/pid is the
 *      init namespace's, whose inode number the kernel fixes): getpid().
 *   2. Ask the kernel: a three-instruction raw tracepoint program that
 *      returns bpf_get_current_pid_tgid() >> 32, run once in this thread with
 *      BPF_PROG_TEST_RUN (raw tracepoints: Linux 5.10+).
 *   3. The first NSpid entry of /proc/self/status, when that /proc is the
 *      host's (its pid 1 is in the initial namespace): the outermost id.
 *   4. getpid(), with one warning line saying kspan may trace itself.
 * `how` (may be NULL) names the way that answered, for the debug log.
 */
uint32_t self_pid_in_kernel(const char *proc_root, const char **how);

/* The first (outermost) pid of the "NSpid:" line of a /proc/PID/status text:
 * 0 and *pid set, or -1 when there is no such line. */
int nspid_outermost(const char *status_text, uint32_t *pid);

#endif /* KSPAN_SELF_PID_H */
