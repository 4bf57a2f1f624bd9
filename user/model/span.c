// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* span.c - spans, resources and their attribute lists. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "kspan_bytes.h"
#include "model/span.h"
#include "lib/utf8.h"

int attribute_list_reserve(struct attribute_list *l, size_t n)
{
	struct attribute *items;

	if (n <= l->cap)
		return 0;
	items = realloc(l->items, n * sizeof(*items));
	if (!items)
		return -ENOMEM;
	l->items = items;
	l->cap = n;
	return 0;
}

static struct attribute *attribute_list_push(struct attribute_list *l, const char *key,
					     enum attr_type type)
{
	if (l->count == l->cap && attribute_list_reserve(l, l->cap ? l->cap * 2 : 8))
		return NULL;
	struct attribute *a = &l->items[l->count];
	memset(a, 0, sizeof(*a));
	a->key = key;
	a->type = type;
	l->count++;
	return a;
}

int attribute_list_add_strn(struct attribute_list *l, const char *key, const char *val, size_t n)
{
	if (n > ATTR_VALUE_MAX_LEN)
		n = utf8_cut_len(val, ATTR_VALUE_MAX_LEN);
	char *copy = utf8_sanitized_dup(val, n, &n);
	if (!copy)
		return -ENOMEM;
	struct attribute *a = attribute_list_push(l, key, ATTR_STRING);
	if (!a) {
		free(copy);
		return -ENOMEM;
	}
	a->str = copy;
	a->str_len = n;
	return 0;
}

int attribute_list_add_str(struct attribute_list *l, const char *key, const char *val)
{
	return attribute_list_add_strn(l, key, val, strlen(val));
}

int attribute_list_add_int(struct attribute_list *l, const char *key, int64_t val)
{
	struct attribute *a = attribute_list_push(l, key, ATTR_INT);
	if (!a)
		return -ENOMEM;
	a->i = val;
	return 0;
}

int attribute_list_add_bool(struct attribute_list *l, const char *key, bool val)
{
	struct attribute *a = attribute_list_push(l, key, ATTR_BOOL);
	if (!a)
		return -ENOMEM;
	a->b = val;
	return 0;
}

int attribute_list_add_double(struct attribute_list *l, const char *key, double val)
{
	struct attribute *a = attribute_list_push(l, key, ATTR_DOUBLE);
	if (!a)
		return -ENOMEM;
	a->d = val;
	return 0;
}

int attribute_list_add_str_array(struct attribute_list *l, const char *key, const char *const *args,
				 size_t n)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += 3 * strlen(args[i]) + 1; /* room for U+FFFD repairs */
	char *buf = malloc(total ? total : 1);
	if (!buf)
		return -ENOMEM;
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len;
		char *clean = utf8_sanitized_dup(args[i], strlen(args[i]), &len);
		if (!clean || off + len + 1 > total) {
			/* repairs grew the text: keep the elements that fit */
			free(clean);
			break;
		}
		memcpy(buf + off, clean, len + 1);
		off += len + 1;
		free(clean);
	}
	total = off;
	struct attribute *a = attribute_list_push(l, key, ATTR_STRING_ARRAY);
	if (!a) {
		free(buf);
		return -ENOMEM;
	}
	a->str = buf;
	a->str_len = total;
	return 0;
}

const struct attribute *attribute_list_find(const struct attribute_list *l, const char *key)
{
	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->items[i].key, key) == 0)
			return &l->items[i];
	return NULL;
}

void attribute_list_free(struct attribute_list *l)
{
	for (size_t i = 0; i < l->count; i++) {
		if (l->items[i].type == ATTR_STRING || l->items[i].type == ATTR_STRING_ARRAY)
			free(l->items[i].str);
	}
	free(l->items);
	memset(l, 0, sizeof(*l));
}

struct resource *resource_new(uint32_t pid)
{
	struct resource *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->refcount = 1;
	r->pid = pid;
	return r;
}

struct resource *resource_ref(struct resource *r)
{
	if (r)
		__atomic_add_fetch(&r->refcount, 1, __ATOMIC_RELAXED);
	return r;
}

void resource_unref(struct resource *r)
{
	if (!r || __atomic_sub_fetch(&r->refcount, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	attribute_list_free(&r->attrs);
	free(r->service_name);
	free(r);
}

struct span *span_new(void)
{
	struct span *s = calloc(1, sizeof(*s));
	if (s)
		s->refcount = 1;
	return s;
}

struct span *span_ref(struct span *s)
{
	__atomic_add_fetch(&s->refcount, 1, __ATOMIC_RELAXED);
	return s;
}

void span_unref(struct span *s)
{
	if (!s || __atomic_sub_fetch(&s->refcount, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	attribute_list_free(&s->attrs);
	resource_unref(s->resource);
	free(s->name);
	free(s->trace_state);
	free(s->status_message);
	free(s);
}

/* Replaces *field with a valid UTF-8 copy of s[0..n). */
static int replace_string(char **field, const char *s, size_t n)
{
	char *copy = utf8_sanitized_dup(s, n, NULL);

	if (!copy)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

int span_set_name(struct span *s, const char *name)
{
	return replace_string(&s->name, name, strlen(name));
}

int span_set_trace_state(struct span *s, const char *ts, size_t len)
{
	return replace_string(&s->trace_state, ts, strnlen(ts, len));
}

int span_set_status_message(struct span *s, const char *msg)
{
	return replace_string(&s->status_message, msg, strlen(msg));
}

bool bytes_all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

bool span_kernel_ctx_valid(const struct kspan_trace_ctx *k)
{
	if (bytes_all_zero(k->trace_id, 16) || bytes_all_zero(k->span_id, 8))
		return false;
	return !(k->flags & KSPAN_CTX_F_HAS_PARENT) || !bytes_all_zero(k->parent_span_id, 8);
}

bool span_has_parent(const struct span *s)
{
	return !bytes_all_zero(s->parent_span_id, sizeof(s->parent_span_id));
}

void hex_encode(const uint8_t *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = kspan_hex_digit(in[i] >> 4);
		out[2 * i + 1] = kspan_hex_digit(in[i] & 0xf);
	}
	out[2 * n] = '\0';
}

void span_random_id(uint8_t *out, size_t n)
{
	do {
		if (getrandom(out, n, 0) != (ssize_t)n) {
			/* getrandom on a booted system does not fail for small n;
			 * keep ids unique anyway. */
			for (size_t i = 0; i < n; i++)
				out[i] = (uint8_t)rand();
		}
	} while (bytes_all_zero(out, n));
}
