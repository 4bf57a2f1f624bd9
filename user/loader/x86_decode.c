// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* x86_decode.c - a function's RET instructions and the end of a Go
 * function's stack check, by capstone's decoder. */
#include <capstone/capstone.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "loader/x86_decode.h"

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

/* The prologue's compare: `cmp rsp, qword ptr [r14 + 0x10]` for small
 * frames, `cmp r12, qword ptr [r14 + 0x10]` after `lea r12, [rsp - N]` for
 * larger ones (cmd/internal/obj/x86/obj6.go, stacksplit). */
static bool is_stackguard_compare(const cs_insn *insn)
{
	return insn->id == X86_INS_CMP &&
	       (strncmp(insn->op_str, "rsp, ", 5) == 0 || strncmp(insn->op_str, "r12, ", 5) == 0) &&
	       strstr(insn->op_str, "[r14 + 0x10]") != NULL;
}

/* Go's prologue puts the check within its first few instructions. */
#define STACK_CHECK_WINDOW 6

int x86_go_after_stack_check(const uint8_t *code, size_t len, uint64_t addr, uint64_t *after)
{
	const uint8_t *at = code;
	uint64_t pc = addr;
	size_t left = len;
	bool compared = false;
	cs_insn *insn;
	csh handle;
	int err = -ENOENT;

	if (cs_open(CS_ARCH_X86, CS_MODE_64, &handle) != CS_ERR_OK)
		return -EINVAL;
	insn = cs_malloc(handle);
	if (!insn) {
		cs_close(&handle);
		return -ENOMEM;
	}
	for (int i = 0; i < STACK_CHECK_WINDOW && left > 0; i++) {
		if (!cs_disasm_iter(handle, &at, &left, &pc, insn)) {
			err = -EILSEQ;
			break;
		}
		if (compared) {
			if (insn->id == X86_INS_JBE) {
				*after = pc; /* the next instruction's address */
				err = 0;
			}
			break;
		}
		compared = is_stackguard_compare(insn);
	}
	cs_free(insn, 1);
	cs_close(&handle);
	return err;
}
