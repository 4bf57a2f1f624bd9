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

bool x86_uprobe_emulates(const uint8_t *code, size_t len)
{
	uint8_t op;

	if (len == 0)
		return false;
	op = code[0];
	/* push r64 (50+r, 41 50+r: r8-r15); push_setup_xol_ops, v4.18 */
	if ((op >= 0x50 && op <= 0x57) ||
	    (op == 0x41 && len > 1 && code[1] >= 0x50 && code[1] <= 0x57))
		return true;
	/* call rel32, jmp rel32/rel8, jcc rel8, nop; branch_setup_xol_ops */
	if (op == 0xe8 || op == 0xe9 || op == 0xeb || op == 0x90 || (op >= 0x70 && op <= 0x7f))
		return true;
	/* jcc rel32 (0f 80+cc) */
	return op == 0x0f && len > 1 && code[1] >= 0x80 && code[1] <= 0x8f;
}

size_t x86_endbr64_len(const uint8_t *code, size_t len)
{
	static const uint8_t endbr64[] = {0xf3, 0x0f, 0x1e, 0xfa};

	return len >= sizeof(endbr64) && memcmp(code, endbr64, sizeof(endbr64)) == 0
		   ? sizeof(endbr64)
		   : 0;
}

/* Is reg rdi or rsi, or a part of one? */
static bool is_first_two_args(uint16_t reg)
{
	switch (reg) {
	case X86_REG_RDI:
	case X86_REG_EDI:
	case X86_REG_DI:
	case X86_REG_DIL:
	case X86_REG_RSI:
	case X86_REG_ESI:
	case X86_REG_SI:
	case X86_REG_SIL:
		return true;
	default:
		return false;
	}
}

/* How far into a public function its worker's call may be. */
#define WORKER_CALL_WINDOW 32

int x86_first_call_keeping_args(const uint8_t *code, size_t len, uint64_t addr, uint64_t *target)
{
	const uint8_t *at = code;
	uint64_t pc = addr;
	size_t left = len;
	cs_insn *insn;
	csh handle;
	int err = -ENOENT;

	if (cs_open(CS_ARCH_X86, CS_MODE_64, &handle) != CS_ERR_OK)
		return -EINVAL;
	cs_option(handle, CS_OPT_DETAIL, CS_OPT_ON);
	insn = cs_malloc(handle);
	if (!insn) {
		cs_close(&handle);
		return -ENOMEM;
	}
	for (int i = 0; i < WORKER_CALL_WINDOW && left > 0; i++) {
		cs_regs read, written;
		uint8_t nread = 0, nwritten = 0;
		bool clobbers = false;

		if (!cs_disasm_iter(handle, &at, &left, &pc, insn)) {
			err = -EILSEQ;
			break;
		}
		if (insn->id == X86_INS_CALL) {
			/* e8 rel32: a direct call. An indirect one (a PLT
			 * slot, a pointer) is another library's or unknown. */
			if (insn->size == 5 && insn->bytes[0] == 0xe8 &&
			    insn->detail->x86.op_count == 1 &&
			    insn->detail->x86.operands[0].type == X86_OP_IMM) {
				*target = (uint64_t)insn->detail->x86.operands[0].imm;
				err = 0;
			}
			break;
		}
		/* The path followed is the fall-through one: a return or an
		 * unconditional jump ends it. */
		if (insn->id == X86_INS_RET || insn->id == X86_INS_JMP)
			break;
		if (cs_regs_access(handle, insn, read, &nread, written, &nwritten) != CS_ERR_OK) {
			err = -EILSEQ;
			break;
		}
		for (uint8_t r = 0; r < nwritten; r++)
			clobbers = clobbers || is_first_two_args(written[r]);
		if (clobbers)
			break;
	}
	cs_free(insn, 1);
	cs_close(&handle);
	return err;
}
