// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* otlp_proto_common.c - the encoders' arena and attributes. */
#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "export/otlp/otlp_proto_common.h"
#include "lib/utf8.h"

typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Common__V1__ArrayValue ArrayValue;
typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;

/* --- arena ---------------------------------------------------------------------------------- */

void *otlp_arena_alloc(struct otlp_arena *a, size_t size)
{
	size = (size + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
	struct otlp_arena_block *b = a->head;
	if (!b || b->cap - b->used < size) {
		size_t cap = size > ARENA_BLOCK_SIZE ? size : ARENA_BLOCK_SIZE;
		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = a->head;
		b->used = 0;
		b->cap = cap;
		a->head = b;
	}
	void *p = (char *)b->data + b->used;
	b->used += size;
	return p;
}

void otlp_arena_free(struct otlp_arena *a)
{
	while (a->head) {
		struct otlp_arena_block *next = a->head->next;
		free(a->head);
		a->head = next;
	}
}

/* --- strings ---------------------------------------------------------------------------------- */

/* protobuf-c skips empty proto3 strings; it only reads this, never writes. */
static char empty_string[] = "";

/*
 * A string for a proto3 string field. Span and resource strings are valid
 * UTF-8 already (span.c repairs them when they are set), so they are used
 * as they are; NULL becomes "".
 */
char *otlp_wire_string(const char *s)
{
	return s ? (char *)s : empty_string;
}

/* --- attributes ------------------------------------------------------------------------------- */

/* s cut to the attribute value length limit (sdk.md, "Attribute Limits"). */
static char *limited_string(struct otlp_arena *a, char *s)
{
	size_t len;
	if (!s || !a->value_limit || (len = strlen(s)) <= a->value_limit)
		return otlp_wire_string(s);
	len = utf8_cut_len(s, a->value_limit);
	char *cut = otlp_arena_alloc(a, len + 1);
	if (!cut)
		return NULL;
	memcpy(cut, s, len);
	cut[len] = '\0';
	return cut;
}

static AnyValue *new_string_value(struct otlp_arena *a, char *s)
{
	AnyValue *v = otlp_arena_alloc(a, sizeof(*v));
	if (!v)
		return NULL;
	*v = (AnyValue)OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
	v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
	v->string_value = limited_string(a, s);
	return v->string_value ? v : NULL;
}

/* ATTR_STRING_ARRAY holds its elements back to back, each NUL-terminated. */
static ArrayValue *new_string_array(struct otlp_arena *a, char *packed, size_t packed_len)
{
	ArrayValue *arr = otlp_arena_alloc(a, sizeof(*arr));
	if (!arr)
		return NULL;
	*arr = (ArrayValue)OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
	size_t n = 0;
	for (size_t i = 0; i < packed_len; i++)
		n += packed[i] == '\0';
	if (!n)
		return arr;
	arr->values = otlp_arena_alloc(a, n * sizeof(*arr->values));
	if (!arr->values)
		return NULL;
	char *elem = packed;
	for (size_t i = 0; i < n; i++) {
		arr->values[i] = new_string_value(a, elem);
		if (!arr->values[i])
			return NULL;
		elem += strlen(elem) + 1;
	}
	arr->n_values = n;
	return arr;
}

AnyValue *otlp_new_any_value(struct otlp_arena *a, const struct attribute *attr)
{
	if (attr->type == ATTR_STRING)
		return new_string_value(a, attr->str);
	AnyValue *v = otlp_arena_alloc(a, sizeof(*v));
	if (!v)
		return NULL;
	*v = (AnyValue)OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
	switch (attr->type) {
	case ATTR_INT:
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
		v->int_value = attr->i;
		break;
	case ATTR_BOOL:
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
		v->bool_value = attr->b;
		break;
	case ATTR_DOUBLE:
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
		v->double_value = attr->d;
		break;
	case ATTR_STRING_ARRAY:
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
		v->array_value = new_string_array(a, attr->str, attr->str_len);
		if (!v->array_value)
			return NULL;
		break;
	default:
		/* An unknown type is sent as an empty value rather than guessed at. */
		break;
	}
	return v;
}

int otlp_encode_attributes(struct otlp_arena *a, const struct attribute_list *l, KeyValue ***out,
			   size_t *n_out)
{
	*out = NULL;
	*n_out = 0;
	if (!l->count)
		return 0;
	KeyValue **kvs = otlp_arena_alloc(a, l->count * sizeof(*kvs));
	if (!kvs)
		return -ENOMEM;
	for (size_t i = 0; i < l->count; i++) {
		KeyValue *kv = otlp_arena_alloc(a, sizeof(*kv));
		if (!kv)
			return -ENOMEM;
		*kv = (KeyValue)OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
		kv->key = otlp_wire_string(l->items[i].key);
		kv->value = otlp_new_any_value(a, &l->items[i]);
		if (!kv->key || !kv->value)
			return -ENOMEM;
		kvs[i] = kv;
	}
	*out = kvs;
	*n_out = l->count;
	return 0;
}
