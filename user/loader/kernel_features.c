// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* kernel_features.c - ask the running kernel what each probe backend needs. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "loader/kernel_features.h"
#include "lib/log.h"

#define TRACEFS_PATH	     "/sys/kernel/tracing"
#define DEBUGFS_TRACING_PATH "/sys/kernel/debug/tracing"
#define KPROBE_PMU_PATH	     "/sys/bus/event_source/devices/kprobe/type"

struct btf *kernel_btf_load(void)
{
	struct btf *btf = btf__load_vmlinux_btf();

	return libbpf_get_error(btf) ? NULL : btf;
}

static int func_proto_id(const struct btf *btf, const char *func)
{
	int id = btf__find_by_name_kind(btf, func, BTF_KIND_FUNC);

	return id < 0 ? -1 : (int)btf__type_by_id(btf, id)->type;
}

bool kernel_btf_has_func(const struct btf *btf, const char *func)
{
	return btf && btf__find_by_name_kind(btf, func, BTF_KIND_FUNC) > 0;
}

int kernel_btf_param_index(const struct btf *btf, const char *func, const char *param)
{
	const struct btf_type *proto;
	const struct btf_param *p;
	int id = btf ? func_proto_id(btf, func) : -1;

	if (id <= 0)
		return -1;
	proto = btf__type_by_id(btf, id);
	if (!proto || !btf_is_func_proto(proto))
		return -1;
	p = btf_params(proto);
	for (int i = 0; i < btf_vlen(proto); i++)
		if (strcmp(btf__name_by_offset(btf, p[i].name_off), param) == 0)
			return i;
	return -1;
}

int kernel_fentry_can_attach(const struct btf *btf, const char *func, char *why, size_t why_len)
{
	/* r0 = 0; exit */
	const struct bpf_insn insns[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY);
	int id = btf ? btf__find_by_name_kind(btf, func, BTF_KIND_FUNC) : -1;
	int prog, link, err;

	if (id <= 0) {
		snprintf(why, why_len, "fentry: no %s in the kernel's BTF", func);
		return -ENOENT;
	}
	opts.attach_btf_id = (__u32)id;
	prog = bpf_prog_load(BPF_PROG_TYPE_TRACING, "kspan_fentry_probe", "GPL", insns,
			     sizeof(insns) / sizeof(insns[0]), &opts);
	if (prog < 0) {
		err = -errno;
		snprintf(why, why_len, "fentry refused: %s", strerror(-err));
		return err;
	}
	link = bpf_link_create(prog, 0, BPF_TRACE_FENTRY, NULL);
	err = link < 0 ? -errno : 0;
	if (err)
		snprintf(why, why_len, "fentry cannot attach: %s", strerror(-err));
	else
		close(link);
	close(prog);
	return err;
}

int kernel_kprobe_pmu_exists(char *why, size_t why_len)
{
	if (access(KPROBE_PMU_PATH, R_OK) == 0)
		return 0;
	snprintf(why, why_len, "kprobe: no kprobe PMU");
	return -ENOENT;
}

int kernel_tracefs_ready(char *why, size_t why_len)
{
	if (access(TRACEFS_PATH "/events/syscalls", F_OK) == 0 ||
	    access(DEBUGFS_TRACING_PATH "/events/syscalls", F_OK) == 0)
		return 0;
	if (errno == EACCES) {
		snprintf(why, why_len,
			 "tracepoint: tracefs at " TRACEFS_PATH " is not readable: kspan needs "
			 "read access to it (root, or CAP_DAC_READ_SEARCH)");
		return -EACCES;
	}
	if (mount("nodev", TRACEFS_PATH, "tracefs", 0, NULL) == 0) {
		log_info("mounted tracefs at " TRACEFS_PATH);
		if (access(TRACEFS_PATH "/events/syscalls", F_OK) == 0)
			return 0;
		snprintf(why, why_len,
			 "tracepoint: tracefs has no events/syscalls: the kernel "
			 "lacks CONFIG_FTRACE_SYSCALLS");
		return -ENOENT;
	}
	snprintf(why, why_len,
		 "tracepoint: tracefs is not mounted and could not be mounted (%s): run 'mount "
		 "-t tracefs nodev " TRACEFS_PATH "' or give kspan CAP_SYS_ADMIN",
		 strerror(errno));
	return -ENOENT;
}
