/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * otlp_proto_common.h - what the trace and the metrics encoders share: an
 * arena for the protobuf-c message tree (released in one step after packing,
 * so no error path leaks part of a tree) and attributes as KeyValues.
 */
#ifndef KSPAN_OTLP_PROTO_COMMON_H
#define KSPAN_OTLP_PROTO_COMMON_H

#include <stddef.h>

#include "opentelemetry/proto/common/v1/common.pb-c.h"
#include "model/span.h"

/* Large enough that a typical batch needs a handful of blocks. */
#define ARENA_BLOCK_SIZE (64 * 1024)

struct otlp_arena_block {
	struct otlp_arena_block *next;
	size_t used, cap;
	max_align_t data[];
};

struct otlp_arena {
	struct otlp_arena_block *head;
	size_t value_limit; /* attribute string values are cut to this; 0: no limit */
};

void *otlp_arena_alloc(struct otlp_arena *a, size_t size);
void otlp_arena_free(struct otlp_arena *a);

/* A string for a proto3 string field (valid UTF-8 already); NULL becomes "". */
char *otlp_wire_string(const char *s);

/* One attribute's value, string values cut to a->value_limit; NULL: no memory. */
Opentelemetry__Proto__Common__V1__AnyValue *otlp_new_any_value(struct otlp_arena *a,
							       const struct attribute *attr);

/* Every attribute of l as KeyValues from the arena; 0 or -ENOMEM. */
int otlp_encode_attributes(struct otlp_arena *a, const struct attribute_list *l,
			   Opentelemetry__Proto__Common__V1__KeyValue ***out, size_t *n_out);

#endif /* KSPAN_OTLP_PROTO_COMMON_H */
