/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * link_list.h - the uprobe links an attacher holds (nginx, Go): a growing
 * array of bpf_link pointers, undone to a mark when a file's set of probes
 * could only be attached in part.
 */
#ifndef KSPAN_LINK_LIST_H
#define KSPAN_LINK_LIST_H

#include <stddef.h>

struct bpf_link;

struct link_list {
	struct bpf_link **links;
	size_t count, cap;
};

/* Keeps link: 0, or -ENOMEM (the caller still owns link then). */
int link_list_keep(struct link_list *l, struct bpf_link *link);

/* Destroys the links kept after the first `mark` (all or none of a file). */
void link_list_truncate(struct link_list *l, size_t mark);

/* Destroys every link and the array. */
void link_list_free(struct link_list *l);

#endif /* KSPAN_LINK_LIST_H */
