/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * verifier_budget.h - how much of the verifier's budget the loaded programs
 * used. The kernel refuses a program whose verification walks more than
 * 1M instructions (BPF_COMPLEXITY_LIMIT_INSNS); kspan's read exit, with the
 * whole data path inlined, comes close to it on 6.18 (README, "6.18 counts
 * the instructions"). A change that takes it past the limit on one kernel
 * only makes kspan fall back to a slower backend there, so the startup log
 * says how close each load came, and warns near the edge.
 */
#ifndef KSPAN_VERIFIER_BUDGET_H
#define KSPAN_VERIFIER_BUDGET_H

#include <stdint.h>

struct bpf_object;

/* The kernel's limit on instructions processed per program. */
#define VERIFIER_INSNS_LIMIT 1000000u
/* Above this share (per cent) of the limit the startup log warns. */
#define VERIFIER_WARN_PERCENT 95u

struct verifier_budget {
	const char *largest; /* the program that used most; NULL: none known */
	uint32_t largest_insns;
	uint32_t programs; /* loaded programs the kernel reported on */
};

/* Reads bpf_prog_info.verified_insns (5.16+; 0 before) of every loaded
 * program of obj. */
void verifier_budget_read(struct bpf_object *obj, struct verifier_budget *b);
/* One log line: the largest program and its share of the limit; a warning
 * at VERIFIER_WARN_PERCENT or more. */
void verifier_budget_report(const struct verifier_budget *b);

#endif /* KSPAN_VERIFIER_BUDGET_H */
