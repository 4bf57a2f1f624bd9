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

#endif /* KSPAN_X86_DECODE_H */
