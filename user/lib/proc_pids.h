/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * proc_pids.h - every process of a /proc, one call each: the start-up scans
 * of the uprobe attachers (OpenSSL libraries, Go executables, nginx), which
 * look at each running process once.
 */
#ifndef KSPAN_PROC_PIDS_H
#define KSPAN_PROC_PIDS_H

#include <stdint.h>

/* Calls fn(arg, pid) for every numeric entry of proc_root ("/proc").
 * 0, or a negative errno when the directory cannot be read. */
int proc_pids_each(const char *proc_root, void (*fn)(void *arg, uint32_t pid), void *arg);

#endif /* KSPAN_PROC_PIDS_H */
