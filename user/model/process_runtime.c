// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* process_runtime.c - a process's runtime from its executable. */
#include <string.h>

#include "model/process_runtime.h"

/* name is `base` or `base` followed by a version ("python3", "python3.11",
 * "node20"): digits and dots only. */
static bool named(const char *name, const char *base)
{
	size_t n = strlen(base);

	if (strncmp(name, base, n) != 0)
		return false;
	for (const char *p = name + n; *p; p++)
		if ((*p < '0' || *p > '9') && *p != '.')
			return false;
	return true;
}

enum process_runtime process_runtime_of(const char *exe_name, bool is_go)
{
	if (is_go)
		return PROCESS_RUNTIME_GO;
	if (!exe_name)
		return PROCESS_RUNTIME_OTHER;
	if (named(exe_name, "node") || named(exe_name, "nodejs"))
		return PROCESS_RUNTIME_NODE;
	if (named(exe_name, "python"))
		return PROCESS_RUNTIME_PYTHON;
	if (named(exe_name, "nginx"))
		return PROCESS_RUNTIME_NGINX;
	if (named(exe_name, "haproxy"))
		return PROCESS_RUNTIME_HAPROXY;
	if (named(exe_name, "envoy"))
		return PROCESS_RUNTIME_ENVOY;
	return PROCESS_RUNTIME_OTHER;
}

const char *process_runtime_name(enum process_runtime r)
{
	static const char *const names[PROCESS_RUNTIME_COUNT] = {
	    [PROCESS_RUNTIME_OTHER] = "other", [PROCESS_RUNTIME_GO] = "go",
	    [PROCESS_RUNTIME_NODE] = "node",   [PROCESS_RUNTIME_PYTHON] = "python",
	    [PROCESS_RUNTIME_NGINX] = "nginx", [PROCESS_RUNTIME_HAPROXY] = "haproxy",
	    [PROCESS_RUNTIME_ENVOY] = "envoy",
	};

	return (unsigned)r < PROCESS_RUNTIME_COUNT ? names[r] : "other";
}
