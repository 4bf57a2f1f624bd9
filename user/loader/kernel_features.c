// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* kernel_features.c - ask the running kernel what each probe backend needs. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "loader/kernel_features.h"
#include "lib/log.h"

#define KPROBE_PMU_PATH "/sys/bus/event_source/devices/kprobe/type"

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

bool kernel_btf_has_tracepoint(const struct btf *btf, const char *name)
{
	char type[128];

	if (!btf || snprintf(type, sizeof(type), "btf_trace_%s", name) >= (int)sizeof(type))
		return false;
	return btf__find_by_name_kind(btf, type, BTF_KIND_TYPEDEF) > 0;
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
