// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* self_pid.c - kspan's pid in the kernel's initial pid namespace. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/bpf.h>

#include "lib/log.h"
#include "loader/self_pid.h"

/* include/linux/proc_ns.h: the initial pid namespace's inode number, fixed
 * since Linux 3.8 (98f842e675f9, "proc: Usable inode numbers for the
 * namespace file descriptors"). */
#define PROC_PID_INIT_INO 0xEFFFFFFCu

int nspid_outermost(const char *status, uint32_t *pid)
{
	for (const char *line = status; line && *line;) {
		if (strncmp(line, "NSpid:", 6) == 0) {
			char *end;
			unsigned long v = strtoul(line + 6, &end, 10);
			if (end == line + 6 || v == 0 || v > UINT32_MAX)
				return -1;
			*pid = (uint32_t)v;
			return 0;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -1;
}

static bool ns_is_initial(const char *proc_root, const char *who)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s/ns/pid", proc_root, who);
	return stat(path, &st) == 0 && st.st_ino == PROC_PID_INIT_INO;
}

/* bpf_get_current_pid_tgid() >> 32 of this thread, by running a raw
 * tracepoint program once in it (net/bpf/test_run.c runs it on the calling
 * task when no CPU is asked for). 0 when the kernel cannot. The bpf(2)
 * attributes are zeroed whole here: libbpf's bpf_prog_load first probes the
 * kernel with attributes valgrind reports as uninitialised. */
static uint32_t tgid_from_bpf(void)
{
	const struct bpf_insn insns[] = {
	    {.code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_get_current_pid_tgid},
	    {.code = BPF_ALU64 | BPF_RSH | BPF_K, .dst_reg = BPF_REG_0, .imm = 32},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	static const char license[] = "GPL";
	union bpf_attr attr;
	uint32_t tgid = 0;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_RAW_TRACEPOINT;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = sizeof(insns) / sizeof(insns[0]);
	attr.license = (uint64_t)(uintptr_t)license;
	fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd < 0)
		return 0;
	memset(&attr, 0, sizeof(attr));
	attr.test.prog_fd = (uint32_t)fd;
	if (syscall(SYS_bpf, BPF_PROG_TEST_RUN, &attr, sizeof(attr)) == 0)
		tgid = attr.test.retval;
	close(fd);
	return tgid;
}

static int read_nspid(const char *proc_root, uint32_t *pid)
{
	char path[128], text[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/self/status", proc_root);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	return nspid_outermost(text, pid);
}

uint32_t self_pid_in_kernel(const char *proc_root, const char **how)
{
	const char *unused;
	uint32_t pid;

	if (!how)
		how = &unused;
	if (ns_is_initial(proc_root, "self")) {
		*how = "getpid, initial pid namespace";
		return (uint32_t)getpid();
	}
	pid = tgid_from_bpf();
	if (pid) {
		*how = "the kernel (bpf_get_current_pid_tgid)";
		return pid;
	}
	if (ns_is_initial(proc_root, "1") && read_nspid(proc_root, &pid) == 0) {
		*how = "NSpid of the host's /proc";
		return pid;
	}
	*how = "getpid";
	log_warn("kspan runs in a pid namespace and could not learn its pid on the host: it may "
		 "trace its own exports (run it with the host's pid namespace, hostPID)");
	return (uint32_t)getpid();
}
