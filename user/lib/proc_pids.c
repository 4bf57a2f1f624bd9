// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* proc_pids.c - every process of a /proc, one call each. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>

#include "lib/proc_pids.h"

int proc_pids_each(const char *proc_root, void (*fn)(void *arg, uint32_t pid), void *arg)
{
	DIR *d = opendir(proc_root);
	struct dirent *e;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char *end;
		unsigned long pid;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid = strtoul(e->d_name, &end, 10);
		if (*end == '\0' && pid > 0 && pid <= UINT32_MAX)
			fn(arg, (uint32_t)pid);
	}
	closedir(d);
	return 0;
}
