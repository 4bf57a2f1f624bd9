// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* go_pclntab.c - a function's address range from a Go pclntab. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "loader/go_pclntab.h"

struct pclntab {
	const uint8_t *tab;
	size_t len;
	bool offsets32; /* 1.18+: functab and _func entries are uint32 offsets */
	uint64_t text_start;
	uint64_t nfunc;
	uint64_t funcname_off;
	uint64_t pcln_off;
};

static bool read_u32(const struct pclntab *t, uint64_t at, uint32_t *v)
{
	if (at > t->len || t->len - at < 4)
		return false;
	memcpy(v, t->tab + at, 4);
	return true;
}

static bool read_u64(const struct pclntab *t, uint64_t at, uint64_t *v)
{
	if (at > t->len || t->len - at < 8)
		return false;
	memcpy(v, t->tab + at, 8);
	return true;
}

/* Header word `i` (8-byte words after the 8-byte fixed part). */
static bool header_word(const struct pclntab *t, unsigned int i, uint64_t *v)
{
	return read_u64(t, 8 + 8 * (uint64_t)i, v);
}

static int parse_header(struct pclntab *t)
{
	uint32_t magic;

	if (!read_u32(t, 0, &magic) || t->len < 16 || t->tab[4] != 0 || t->tab[5] != 0)
		return -EPROTONOSUPPORT;
	/* tab[6]: PC quantum (1 on amd64); tab[7]: pointer size. */
	if (t->tab[7] != 8)
		return -EPROTONOSUPPORT;
	switch (magic) {
	case GO_PCLNTAB_MAGIC_116:
		t->offsets32 = false;
		if (!header_word(t, 0, &t->nfunc) || !header_word(t, 2, &t->funcname_off) ||
		    !header_word(t, 6, &t->pcln_off))
			return -EPROTONOSUPPORT;
		break;
	case GO_PCLNTAB_MAGIC_118:
	case GO_PCLNTAB_MAGIC_120:
		t->offsets32 = true;
		if (!header_word(t, 0, &t->nfunc) || !header_word(t, 3, &t->funcname_off) ||
		    !header_word(t, 7, &t->pcln_off))
			return -EPROTONOSUPPORT;
		break;
	default:
		return -EPROTONOSUPPORT;
	}
	if (t->funcname_off >= t->len || t->pcln_off >= t->len)
		return -EPROTONOSUPPORT;
	return 0;
}

/* functab entry i's PC. */
static bool functab_pc(const struct pclntab *t, uint64_t i, uint64_t *pc)
{
	if (t->offsets32) {
		uint32_t e;
		if (!read_u32(t, t->pcln_off + 8 * i, &e))
			return false;
		*pc = t->text_start + e;
		return true;
	}
	return read_u64(t, t->pcln_off + 16 * i, pc);
}

/* functab entry i: its entry PC and its _func's offset (from pcln_off). */
static bool functab_entry(const struct pclntab *t, uint64_t i, uint64_t *entry, uint64_t *func)
{
	if (t->offsets32) {
		uint32_t f;
		if (!read_u32(t, t->pcln_off + 8 * i + 4, &f))
			return false;
		*func = f;
		return functab_pc(t, i, entry);
	}
	return functab_pc(t, i, entry) && read_u64(t, t->pcln_off + 16 * i + 8, func);
}

static bool name_matches(const struct pclntab *t, uint64_t func_off, const char *name)
{
	uint64_t at = t->pcln_off + func_off + (t->offsets32 ? 4 : 8);
	size_t name_len = strlen(name);
	uint32_t name_off;
	uint64_t name_at;

	if (!read_u32(t, at, &name_off))
		return false;
	name_at = t->funcname_off + (int32_t)name_off;
	if ((int32_t)name_off < 0 || name_at >= t->len || t->len - name_at < name_len + 1)
		return false;
	return memcmp(t->tab + name_at, name, name_len) == 0 && t->tab[name_at + name_len] == 0;
}

int go_pclntab_find(const uint8_t *tab, size_t len, uint64_t text_start, const char *name,
		    struct go_function_range *out)
{
	struct pclntab t = {.tab = tab, .len = len, .text_start = text_start};
	int err = parse_header(&t);

	if (err)
		return err;
	/* Each functab entry takes at least 8 bytes: a count the section
	 * cannot hold is a corrupt header, not a loop bound. */
	if (t.nfunc > (len - t.pcln_off) / 8)
		return -EPROTONOSUPPORT;
	for (uint64_t i = 0; i < t.nfunc; i++) {
		uint64_t entry, func, end;
		if (!functab_entry(&t, i, &entry, &func))
			return -EPROTONOSUPPORT;
		if (!name_matches(&t, func, name))
			continue;
		/* Entry nfunc, the end of the last function, has no _func. */
		if (!functab_pc(&t, i + 1, &end) || end <= entry)
			return -EPROTONOSUPPORT;
		out->entry = entry;
		out->end = end;
		return 0;
	}
	return -ENOENT;
}
