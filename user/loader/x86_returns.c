// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* x86_returns.c - a function's RET instructions, by capstone's decoder. */
#include <capstone/capstone.h>
#include <errno.h>

#include "loader/x86_returns.h"

int x86_find_returns(const uint8_t *code, size_t len, uint64_t addr, uint64_t *rets, size_t max,
		     size_t *count)
{
	const uint8_t *at = code;
	uint64_t pc = addr;
	size_t left = len, n = 0;
	cs_insn *insn;
	csh handle;
	int err = 0;

	if (cs_open(CS_ARCH_X86, CS_MODE_64, &handle) != CS_ERR_OK)
		return -EINVAL;
	insn = cs_malloc(handle);
	if (!insn) {
		cs_close(&handle);
		return -ENOMEM;
	}
	while (left > 0) {
		if (!cs_disasm_iter(handle, &at, &left, &pc, insn)) {
			err = -EILSEQ;
			break;
		}
		if (insn->id != X86_INS_RET)
			continue;
		if (n == max) {
			err = -E2BIG;
			break;
		}
		rets[n++] = insn->address;
	}
	cs_free(insn, 1);
	cs_close(&handle);
	if (err)
		return err;
	*count = n;
	return 0;
}
