// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* span.c - spans, resources and their attribute lists. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "kspan_bytes.h"
#include "model/span.h"
#include "lib/utf8.h"

/* --- strings: in the span's pool while it has room, else malloc'd --------------------------- */

static bool in_pool(const struct attribute_list *l, const char *p)
{
	return l->pool && p >= l->pool && p < l->pool + l->pool_cap;
}

static void release_string(const struct attribute_list *l, char *p)
{
	if (!in_pool(l, p))
		free(p);
}

static char *string_room(struct attribute_list *l, size_t size)
{
	if (l->pool && l->pool_cap - l->pool_used >= size) {
		char *p = l->pool + l->pool_used;
		l->pool_used += (uint32_t)size;
		return p;
	}
	l->heap_strings++;
	return malloc(size);
}

/* A valid UTF-8, NUL-terminated copy of val[0..n) (utf8.h); *len its length. */
static char *store_string(struct attribute_list *l, const char *val, size_t n, size_t *len)
{
	/* Valid text (nearly all of it) is checked while it is copied, once. */
	char *copy = string_room(l, n + 1);
	if (!copy)
		return NULL;
	size_t valid = utf8_copy_valid(val, n, copy);
	if (valid == n) {
		*len = n;
		return copy;
	}
	/* Repairs make it longer: room again, the first copy is given up. */
	size_t bad = utf8_invalid_count(val + valid, n - valid);
	release_string(l, copy);
	copy = string_room(l, n + 2 * bad + 1);
	if (copy)
		*len = utf8_repair_into(val, n, bad, copy);
	return copy;
}

/* --- attribute lists ----------------------------------------------------------------------------
 */

int attribute_list_reserve(struct attribute_list *l, size_t n)
{
	struct attribute *items;

	if (n <= l->cap)
		return 0;
	if (l->items_inline) {
		items = malloc(n * sizeof(*items));
		if (items && l->count)
			memcpy(items, l->items, l->count * sizeof(*items));
	} else {
		items = realloc(l->items, n * sizeof(*items));
	}
	if (!items)
		return -ENOMEM;
	l->items = items;
	l->items_inline = false;
	l->cap = n;
	return 0;
}

static struct attribute *attribute_list_push(struct attribute_list *l, const char *key,
					     size_t key_len, enum attr_type type)
{
	if (l->count == l->cap && attribute_list_reserve(l, l->cap ? l->cap * 2 : 8))
		return NULL;
	struct attribute *a = &l->items[l->count];
	a->key = key;
	a->type = type;
	a->key_len = (uint32_t)key_len;
	a->str = NULL;
	a->str_len = 0;
	l->count++;
	return a;
}

int attribute_list_put_strn(struct attribute_list *l, const char *key, size_t key_len,
			    const char *val, size_t n)
{
	if (n > ATTR_VALUE_MAX_LEN)
		n = utf8_cut_len(val, ATTR_VALUE_MAX_LEN);
	if (l->count == l->cap && attribute_list_reserve(l, l->cap ? l->cap * 2 : 8))
		return -ENOMEM;
	size_t len;
	char *copy = store_string(l, val, n, &len);
	if (!copy)
		return -ENOMEM;
	struct attribute *a = attribute_list_push(l, key, key_len, ATTR_STRING);
	a->str = copy;
	a->str_len = len;
	return 0;
}

int attribute_list_put_int(struct attribute_list *l, const char *key, size_t key_len, int64_t val)
{
	struct attribute *a = attribute_list_push(l, key, key_len, ATTR_INT);
	if (!a)
		return -ENOMEM;
	a->i = val;
	return 0;
}

int attribute_list_put_bool(struct attribute_list *l, const char *key, size_t key_len, bool val)
{
	struct attribute *a = attribute_list_push(l, key, key_len, ATTR_BOOL);
	if (!a)
		return -ENOMEM;
	a->b = val;
	return 0;
}

int attribute_list_put_double(struct attribute_list *l, const char *key, size_t key_len, double val)
{
	struct attribute *a = attribute_list_push(l, key, key_len, ATTR_DOUBLE);
	if (!a)
		return -ENOMEM;
	a->d = val;
	return 0;
}

int attribute_list_put_str_array(struct attribute_list *l, const char *key, size_t key_len,
				 const char *const *args, size_t n)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(args[i]);
		total += len + 2 * utf8_invalid_count(args[i], len) + 1;
	}
	if (l->count == l->cap && attribute_list_reserve(l, l->cap ? l->cap * 2 : 8))
		return -ENOMEM;
	char *buf = string_room(l, total ? total : 1);
	if (!buf)
		return -ENOMEM;
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(args[i]);
		off +=
		    utf8_repair_into(args[i], len, utf8_invalid_count(args[i], len), buf + off) + 1;
	}
	struct attribute *a = attribute_list_push(l, key, key_len, ATTR_STRING_ARRAY);
	a->str = buf;
	a->str_len = off;
	return 0;
}

const struct attribute *attribute_list_find(const struct attribute_list *l, const char *key)
{
	for (size_t i = 0; i < l->count; i++)
		if (l->items[i].key == key || strcmp(l->items[i].key, key) == 0)
			return &l->items[i];
	return NULL;
}

void attribute_list_free(struct attribute_list *l)
{
	/* A span whose strings all fit its block has none to free. */
	for (size_t i = 0; (!l->pool || l->heap_strings) && i < l->count; i++) {
		if (l->items[i].type == ATTR_STRING || l->items[i].type == ATTR_STRING_ARRAY)
			release_string(l, l->items[i].str);
	}
	if (!l->items_inline)
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

/* --- spans: one block each, kept per thread when released ------------------------------------- */

struct span_block {
	struct span span; /* first: a span is its block */
	struct attribute items[SPAN_INLINE_ATTRS];
	char pool[SPAN_POOL_BYTES];
};

/* Released blocks wait for the next span_new on the same thread (the agent's
 * main thread makes and, after export, releases nearly every span). */
#define SPAN_FREE_BLOCKS_MAX 256

struct span_free_list {
	struct span_block *head;
	unsigned count;
};

static __thread struct span_free_list free_blocks;
static pthread_key_t free_blocks_key;
static pthread_once_t free_blocks_once = PTHREAD_ONCE_INIT;

/* A thread's kept blocks go with it. */
static void free_blocks_release(void *unused)
{
	(void)unused;
	while (free_blocks.head) {
		struct span_block *next = *(struct span_block **)free_blocks.head;
		free(free_blocks.head);
		free_blocks.head = next;
	}
	free_blocks.count = 0;
}

static void free_blocks_key_create(void)
{
	pthread_key_create(&free_blocks_key, free_blocks_release);
}

static void span_block_release(struct span_block *b)
{
	if (free_blocks.count >= SPAN_FREE_BLOCKS_MAX) {
		free(b);
		return;
	}
	if (!free_blocks.count) {
		pthread_once(&free_blocks_once, free_blocks_key_create);
		pthread_setspecific(free_blocks_key, &free_blocks);
	}
	*(struct span_block **)b = free_blocks.head; /* the link reuses the dead span */
	free_blocks.head = b;
	free_blocks.count++;
}

struct span *span_new(void)
{
	struct span_block *b = free_blocks.head;
	if (b) {
		free_blocks.head = *(struct span_block **)b;
		free_blocks.count--;
	} else if (!(b = malloc(sizeof(*b)))) {
		return NULL;
	}
	struct span *s = &b->span;
	memset(s, 0, sizeof(*s));
	s->refcount = 1;
	s->attrs.items = b->items;
	s->attrs.cap = SPAN_INLINE_ATTRS;
	s->attrs.items_inline = true;
	s->attrs.pool = b->pool;
	s->attrs.pool_cap = SPAN_POOL_BYTES;
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
	if (s->name)
		release_string(&s->attrs, s->name);
	if (s->trace_state)
		release_string(&s->attrs, s->trace_state);
	if (s->status_message)
		release_string(&s->attrs, s->status_message);
	attribute_list_free(&s->attrs);
	resource_unref(s->resource);
	span_block_release((struct span_block *)s);
}

/* Replaces *field with a valid UTF-8 copy of str[0..n), in the span's block
 * while it has room. */
static int replace_string(struct span *s, char **field, const char *str, size_t n)
{
	size_t len;
	char *copy = store_string(&s->attrs, str, n, &len);

	if (!copy)
		return -ENOMEM;
	if (*field)
		release_string(&s->attrs, *field);
	*field = copy;
	return 0;
}

int span_set_name(struct span *s, const char *name)
{
	s->name_route = 0;
	return replace_string(s, &s->name, name, strlen(name));
}

int span_set_namen(struct span *s, const char *name, size_t len)
{
	s->name_route = 0;
	return replace_string(s, &s->name, name, len);
}

int span_set_trace_state(struct span *s, const char *ts, size_t len)
{
	return replace_string(s, &s->trace_state, ts, strnlen(ts, len));
}

int span_set_status_message(struct span *s, const char *msg)
{
	return replace_string(s, &s->status_message, msg, strlen(msg));
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
	uint64_t id;
	_Static_assert(sizeof(s->parent_span_id) == sizeof(id), "a span id is 8 bytes");
	memcpy(&id, s->parent_span_id, sizeof(id));
	return id != 0;
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
