/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * process_table.h - one OTLP resource per observed process.
 *
 * Built from the kernel's PROC_INFO event (name, arguments, executable path,
 * cgroup v2 path: available even for processes that already exited)
 * completed from /proc/PID when the process is still there
 * (OTEL_SERVICE_NAME from its environment; the container and the executable
 * from /proc where the event has none: cgroup v1, a lost event).
 */
#ifndef KSPAN_PROCESS_TABLE_H
#define KSPAN_PROCESS_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kspan_abi.h"
#include "model/agent_stats.h"
#include "model/span.h"
#include "lib/u64_map.h"

/* How often a cached process is checked against /proc for pid reuse. */
#define PROCESS_TABLE_REVALIDATE_NS (5ull * 1000 * 1000 * 1000)
/* Processes kept at most: as many as the kernel announces (KSPAN_MAX_PROCS). */
#define PROCESS_TABLE_MAX_DEFAULT KSPAN_MAX_PROCS

struct proc_entry;

/*
 * Entries leave with their process's exit; one whose exit was lost (a full
 * ring buffer) stays until the table holds max_entries, when the least
 * recently used one goes (processes_evicted): a process whose spans are
 * being made now uses its entry on every span, one that exited does not.
 * Spans keep their resource (counted references) either way; a process
 * evicted while alive is rebuilt from /proc at its next span.
 */
struct process_table {
	struct u64_map by_pid;		    /* tgid -> struct proc_entry (process_table.c) */
	struct proc_entry *oldest, *newest; /* least recently used first */
	size_t max_entries;		    /* PROCESS_TABLE_MAX_DEFAULT; tests lower it */
	struct agent_stats *stats;	    /* processes_evicted; may be NULL */
	uint64_t tick_ns;	/* of /proc/PID/stat times: 1 s / sysconf(_SC_CLK_TCK) */
	uint64_t revalidate_ns; /* PROCESS_TABLE_REVALIDATE_NS; tests shorten it */
	char host_name[256];
	char proc_root[64]; /* "/proc", replaceable in tests */
	/* --capture-command-args: export process.command_args (redacted);
	 * otherwise only process.command (argv[0]) leaves the node. */
	bool capture_command_args;
};

int process_table_init(struct process_table *t, const char *proc_root);
void process_table_free(struct process_table *t);

/* Replaces what is known about ev->hdr.tgid (a new process, or pid reuse).
 * /proc/PID completes the event only when it still shows the process the
 * event names (same start time): a reused pid's /proc is another process's. */
void process_table_on_info(struct process_table *t, const struct kspan_proc_event *ev);
void process_table_on_exit(struct process_table *t, uint32_t tgid);

/* The resource of `tgid` (borrowed: take resource_ref to keep it). Built from
 * /proc alone when no PROC_INFO arrived (it may have been dropped), and
 * rebuilt when /proc shows that the pid now belongs to a younger process
 * (checked at most every revalidate_ns). Never NULL unless out of memory. */
struct resource *process_table_resource(struct process_table *t, uint32_t tgid);
/* The same at now_mono_ns (CLOCK_MONOTONIC, as the kernel's event times):
 * span assembly passes the event's time instead of reading the clock for
 * every request. */
struct resource *process_table_resource_at(struct process_table *t, uint32_t tgid,
					   uint64_t now_mono_ns);

/* The container id (64 hex chars) in the text of /proc/PID/cgroup, for the
 * docker, containerd, CRI-O and podman path layouts; the innermost of a
 * line (a container in a container: kind). Returns 0 and fills out[65], or
 * -1 when the process is not in a container. */
int container_id_from_cgroup(const char *cgroup_text, char out[65]);

/* The path a kernel event holds as NUL-terminated components, leaf first
 * (kspan_abi.h, KSPAN_PATH_LEN), in `out` root first: "/usr/bin/curl",
 * "/" for no component. Returns its length, or -1 when it does not fit or is
 * malformed (a component empty, holding '/', or without its NUL). */
int path_from_kernel_names(const char *names, size_t len, char *out, size_t out_size);

/* The UID of the Kubernetes pod whose cgroup holds the process, in the text
 * of /proc/PID/cgroup (kubelet's cgroupfs and systemd layouts), with '-'
 * separators. Returns 0 and fills out[37], or -1 outside a pod. */
int pod_uid_from_cgroup(const char *cgroup_text, char out[37]);

/* The start time (field 22, clock ticks since boot) in the text of
 * /proc/PID/stat: 0 and *ticks set, or -1. */
int proc_stat_start_ticks(const char *stat_text, uint64_t *ticks);

/* Whether /proc's start time (CLOCK_BOOTTIME ticks of tick_ns) is that of the
 * process the kernel event says started at start_mono_ns (CLOCK_MONOTONIC);
 * boot_minus_mono_ns: CLOCK_BOOTTIME - CLOCK_MONOTONIC now (time suspended). */
bool proc_start_matches(uint64_t stat_ticks, uint64_t start_mono_ns, uint64_t tick_ns,
			uint64_t boot_minus_mono_ns);

/* OTEL_SERVICE_NAME, else service.name inside OTEL_RESOURCE_ATTRIBUTES, from
 * an environment block (NUL-separated "K=V" strings). 0 and out filled, or -1. */
int service_name_from_environ(const char *env, size_t len, char *out, size_t out_size);

#endif /* KSPAN_PROCESS_TABLE_H */
