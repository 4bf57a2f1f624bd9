/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * process_table.h - one OTLP resource per observed process.
 *
 * Built from the kernel's PROC_INFO event (name, arguments: available even
 * for processes that already exited) completed from /proc/PID when the
 * process is still there (OTEL_SERVICE_NAME from its environment, container
 * id from its cgroup, executable path).
 */
#ifndef KSPAN_PROCESS_TABLE_H
#define KSPAN_PROCESS_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kspan_abi.h"
#include "model/span.h"
#include "lib/u64_map.h"

struct process_table {
	struct u64_map by_pid; /* tgid -> struct resource * (one reference) */
	char host_name[256];
	char proc_root[64]; /* "/proc", replaceable in tests */
	/* --capture-command-args: export process.command_args (redacted);
	 * otherwise only process.command (argv[0]) leaves the node. */
	bool capture_command_args;
};

int process_table_init(struct process_table *t, const char *proc_root);
void process_table_free(struct process_table *t);

/* Replaces what is known about ev->hdr.tgid (a new process, or pid reuse). */
void process_table_on_info(struct process_table *t, const struct kspan_proc_event *ev);
void process_table_on_exit(struct process_table *t, uint32_t tgid);

/* The resource of `tgid` (borrowed: take resource_ref to keep it). Built from
 * /proc alone when no PROC_INFO arrived (it may have been dropped). Never
 * NULL unless out of memory. */
struct resource *process_table_resource(struct process_table *t, uint32_t tgid);

/* The container id (64 hex chars) in the text of /proc/PID/cgroup, for the
 * docker, containerd, CRI-O and podman path layouts. Returns 0 and fills
 * out[65], or -1 when the process is not in a container. */
int container_id_from_cgroup(const char *cgroup_text, char out[65]);

/* The UID of the Kubernetes pod whose cgroup holds the process, in the text
 * of /proc/PID/cgroup (kubelet's cgroupfs and systemd layouts), with '-'
 * separators. Returns 0 and fills out[37], or -1 outside a pod. */
int pod_uid_from_cgroup(const char *cgroup_text, char out[37]);

/* OTEL_SERVICE_NAME, else service.name inside OTEL_RESOURCE_ATTRIBUTES, from
 * an environment block (NUL-separated "K=V" strings). 0 and out filled, or -1. */
int service_name_from_environ(const char *env, size_t len, char *out, size_t out_size);

#endif /* KSPAN_PROCESS_TABLE_H */
