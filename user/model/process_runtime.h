/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * process_runtime.h - which runtime a traced process runs, for the counters
 * that are kept per runtime (kspan_client_requests_unattributed_total): Go
 * (told by the executable's .go.buildinfo section, as the Go crypto/tls
 * attacher tells it), else by the executable's name.
 */
#ifndef KSPAN_PROCESS_RUNTIME_H
#define KSPAN_PROCESS_RUNTIME_H

#include <stdbool.h>

enum process_runtime {
	PROCESS_RUNTIME_OTHER = 0,
	PROCESS_RUNTIME_GO,
	PROCESS_RUNTIME_NODE,
	PROCESS_RUNTIME_PYTHON,
	PROCESS_RUNTIME_NGINX,
	PROCESS_RUNTIME_HAPROXY,
	PROCESS_RUNTIME_ENVOY,
	PROCESS_RUNTIME_COUNT,
};

/* The runtime of an executable named exe_name (its basename: "python3.11",
 * "node"); is_go: it has a .go.buildinfo section. */
enum process_runtime process_runtime_of(const char *exe_name, bool is_go);

/* The label value: "go", "node", "python", "nginx", "haproxy", "envoy",
 * "other". */
const char *process_runtime_name(enum process_runtime r);

#endif /* KSPAN_PROCESS_RUNTIME_H */
