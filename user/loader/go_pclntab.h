/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * go_pclntab.h - functions of a Go executable found by name in its pclntab
 * (the .gopclntab section), which the Go runtime needs for stack traces and
 * so survives `-ldflags='-s -w'` (which drops .symtab and DWARF).
 *
 * Layouts read (Go's src/debug/gosym/pclntab.go, src/runtime/symtab.go):
 *   Go 1.16-1.17 (magic 0xfffffffa): header of 8 bytes then words nfunc,
 *     nfiles, funcnameOffset, cuOffset, filetabOffset, pctabOffset,
 *     pclnOffset; functab = nfunc+1 pairs of words (entry PC, _func offset).
 *   Go 1.18-1.19 (0xfffffff0), 1.20+ (0xfffffff1): one more word, textStart,
 *     after nfiles; functab pairs are uint32 (entry - textStart, _func
 *     offset).
 *   _func starts with the entry (word, or uint32 offset in 1.18+), then
 *     nameOffset int32 into the funcname table (NUL-terminated names).
 * Go 1.2-1.15 (0xfffffffb) predates the register ABI kspan needs: refused.
 */
#ifndef KSPAN_GO_PCLNTAB_H
#define KSPAN_GO_PCLNTAB_H

#include <stddef.h>
#include <stdint.h>

#define GO_PCLNTAB_MAGIC_116 0xfffffffau
#define GO_PCLNTAB_MAGIC_118 0xfffffff0u
#define GO_PCLNTAB_MAGIC_120 0xfffffff1u

struct go_function_range {
	uint64_t entry; /* first instruction's virtual address */
	uint64_t end;	/* the next function's entry (or the text's end) */
};

/*
 * Finds function `name` in pclntab bytes `tab` of `len`. `text_start` is the
 * address of the text the 1.18+ entry offsets are relative to (runtime.text,
 * the .text section's address on ELF: the header's own copy may be left
 * unrelocated in a position-independent file). Every read is bounded by len.
 * 0 and *out; -ENOENT: no such function; -EPROTONOSUPPORT: not a pclntab of
 * Go 1.16 or later on a 64-bit little-endian target.
 */
int go_pclntab_find(const uint8_t *tab, size_t len, uint64_t text_start, const char *name,
		    struct go_function_range *out);

#endif /* KSPAN_GO_PCLNTAB_H */
