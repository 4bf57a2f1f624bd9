// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "loader/link_list.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int link_list_keep(struct link_list *l, struct bpf_link *link)
{
	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct bpf_link **grown = realloc(l->links, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		l->links = grown;
		l->cap = cap;
	}
	l->links[l->count++] = link;
	return 0;
}

void link_list_truncate(struct link_list *l, size_t mark)
{
	while (l->count > mark)
		bpf_link__destroy(l->links[--l->count]);
}

void link_list_free(struct link_list *l)
{
	link_list_truncate(l, 0);
	free(l->links);
	memset(l, 0, sizeof(*l));
}
