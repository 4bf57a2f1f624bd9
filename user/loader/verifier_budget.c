// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* verifier_budget.c - the verifier's instruction count of each loaded
 * program (verifier_budget.h says why it is logged). */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <string.h>

#include "lib/log.h"
#include "loader/verifier_budget.h"

void verifier_budget_read(struct bpf_object *obj, struct verifier_budget *b)
{
	struct bpf_program *prog;

	memset(b, 0, sizeof(*b));
	bpf_object__for_each_program (prog, obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0)
			continue; /* not loaded (autoload off) */
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) || !info.verified_insns)
			continue; /* before 5.16: the kernel does not say */
		b->programs++;
		if (info.verified_insns > b->largest_insns) {
			b->largest_insns = info.verified_insns;
			b->largest = bpf_program__name(prog);
		}
	}
}

void verifier_budget_report(const struct verifier_budget *b)
{
	unsigned percent;

	if (!b->largest)
		return; /* the kernel does not count (before 5.16) */
	percent = (unsigned)((uint64_t)b->largest_insns * 100 / VERIFIER_INSNS_LIMIT);
	if (percent >= VERIFIER_WARN_PERCENT)
		log_warn("verifier: %s used %u of the %u instructions a program may take to "
			 "verify (%u%%): a little more code there and this kernel refuses it",
			 b->largest, b->largest_insns, VERIFIER_INSNS_LIMIT, percent);
	else
		log_info("verifier: %u programs; the largest, %s, took %u of %u instructions "
			 "(%u%%)",
			 b->programs, b->largest, b->largest_insns, VERIFIER_INSNS_LIMIT, percent);
}
