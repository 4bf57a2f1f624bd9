/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * x86_decode.h - what the Go probes need to know about the code of one
 * x86-64 function, found by decoding its instructions (capstone) from its
 * first byte: a 0xC3 byte inside another instruction (an immediate, a
 * displacement) is no return.
 *
 * Why returns rather than a uretprobe: a uretprobe replaces the return
 * address on the stack, and the Go runtime copies goroutine stacks when they
 * grow, and walks them for tracebacks and GC: a replaced return address
 * crashes the process. A uprobe on each RET instruction sees the results
 * in registers without touching the stack.
 */
#ifndef KSPAN_X86_DECODE_H
#define KSPAN_X86_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Decodes `len` bytes of code at virtual address `addr` and writes the
 * address of every RET (near, with or without an immediate) to rets, at most
 * `max`. 0 and *count; -EILSEQ: a byte sequence that is no instruction
 * before the end (the range is not code, or not the function's start);
 * -E2BIG: more than max returns; -ENOMEM/-EINVAL: capstone failed.
 */
int x86_find_returns(const uint8_t *code, size_t len, uint64_t addr, uint64_t *rets, size_t max,
		     size_t *count);

/*
 * The address just after a Go function's stack-bound check: the
 * `cmp rsp|r12, [r14+0x10]` (g.stackguard0; R14 holds g in ABIInternal,
 * Go 1.17+) and the `jbe` to runtime.morestack that follows it, within the
 * first instructions. morestack grows the stack, or yields when the
 * scheduler asked for preemption (stackguard0 = stackPreempt), and then
 * jumps back to the function's first instruction: a probe on the entry
 * fires twice for one call, one after the check fires once. The arguments
 * are still in their registers there. 0 and *after; -ENOENT: no such check
 * (a NOSPLIT function), -EILSEQ: the code did not decode.
 */
int x86_go_after_stack_check(const uint8_t *code, size_t len, uint64_t addr, uint64_t *after);

/*
 * Does the x86-64 kernel emulate the instruction at code when a uprobe on it
 * fires (arch/x86/kernel/uprobes.c: branch_setup_xol_ops, push_setup_xol_ops),
 * rather than execute it out of line? Out of line means a single step: a #DB
 * trap after it, which a hypervisor may intercept (~24 us a hit measured on
 * a virtual machine, against ~1 us for an emulated one). Emulated: push r64,
 * call rel32, jmp, jcc, nop (0x90). Anything else is taken as single-stepped.
 */
bool x86_uprobe_emulates(const uint8_t *code, size_t len);

/* 4 when code begins with endbr64 (f3 0f 1e fa), else 0. Builds with
 * -fcf-protection (Ubuntu's, Fedora's) begin every function that may be
 * reached indirectly with it; the kernel single-steps it like any
 * instruction it does not emulate, while a probe on the instruction after
 * it sees every call the same way (endbr64 changes no register and no
 * stack: the return address is still at the top for a return probe). */
size_t x86_endbr64_len(const uint8_t *code, size_t len);

/*
 * The target of the first direct call (e8 rel32) of the function at addr,
 * reached in address order (conditional branches are passed over: their
 * fall-through is followed) within its first instructions, before any
 * instruction that writes rdi or rsi (so the callee gets the function's own
 * first two arguments) and before any return, jump or indirect call. 0 and
 * *target; -ENOENT: no such call; -EILSEQ: the code did not decode.
 */
int x86_first_call_keeping_args(const uint8_t *code, size_t len, uint64_t addr, uint64_t *target);

#endif /* KSPAN_X86_DECODE_H */
