/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * span.h - the span as it flows from assembly to sampling to the exporters.
 *
 * A span is heap-allocated, reference counted (the console and OTLP exporters
 * may both hold it, on different threads), and immutable once submitted to
 * a span_sink (model/span_sink.h: the pipeline). Attribute values are copied
 * into the span. Every span of one process points at that process's shared,
 * immutable resource.
 */
#ifndef KSPAN_SPAN_H
#define KSPAN_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kspan_abi.h"

/* OTLP Span.SpanKind values (trace.proto). */
enum span_kind {
	SPAN_KIND_UNSPECIFIED = 0,
	SPAN_KIND_INTERNAL = 1,
	SPAN_KIND_SERVER = 2,
	SPAN_KIND_CLIENT = 3,
};

/* OTLP Status.StatusCode values. */
enum span_status_code {
	SPAN_STATUS_UNSET = 0,
	SPAN_STATUS_OK = 1,
	SPAN_STATUS_ERROR = 2,
};

enum attr_type {
	ATTR_STRING = 1,
	ATTR_INT = 2,
	ATTR_BOOL = 3,
	ATTR_DOUBLE = 4,
	ATTR_STRING_ARRAY = 5, /* NUL-separated strings in str, str_len bytes in all */
};

struct attribute {
	const char *key; /* static storage (a string literal): not copied, not freed */
	enum attr_type type;
	uint32_t key_len; /* strlen(key) */
	union {
		struct {
			char *str;
			size_t str_len;
		};
		int64_t i;
		bool b;
		double d;
	};
};

/*
 * A span's list lives in the span's own block (span_new): its first
 * SPAN_INLINE_ATTRS items and, while they fit, its strings (the pool), so
 * building a span allocates nothing per attribute. Past that, and for a
 * resource's list (no pool), items and strings are malloc'd.
 */
struct attribute_list {
	struct attribute *items;
	size_t count, cap;
	char *pool; /* NULL: every string malloc'd */
	uint32_t pool_used, pool_cap;
	uint32_t heap_strings; /* strings malloc'd although there is a pool */
	bool items_inline;     /* items is the block's array, not malloc'd */
};

/* Attribute values longer than this are cut (UTF-8 safe) when added. Every
 * string added to a span or resource is made valid UTF-8 (utf8.h). Keys must
 * be string literals. */
#define ATTR_VALUE_MAX_LEN 4096

/* Room for n attributes in one allocation (spans know roughly how many). */
int attribute_list_reserve(struct attribute_list *l, size_t n);
/* The adders, with the key's length given (the inline ones below pass
 * strlen of a literal key, which the compiler counts). */
int attribute_list_put_strn(struct attribute_list *l, const char *key, size_t key_len,
			    const char *val, size_t n);
int attribute_list_put_int(struct attribute_list *l, const char *key, size_t key_len, int64_t val);
int attribute_list_put_bool(struct attribute_list *l, const char *key, size_t key_len, bool val);
int attribute_list_put_double(struct attribute_list *l, const char *key, size_t key_len,
			      double val);
int attribute_list_put_str_array(struct attribute_list *l, const char *key, size_t key_len,
				 const char *const *args, size_t n);

static inline int attribute_list_add_strn(struct attribute_list *l, const char *key,
					  const char *val, size_t n)
{
	return attribute_list_put_strn(l, key, __builtin_strlen(key), val, n);
}

static inline int attribute_list_add_str(struct attribute_list *l, const char *key, const char *val)
{
	return attribute_list_put_strn(l, key, __builtin_strlen(key), val, __builtin_strlen(val));
}

static inline int attribute_list_add_int(struct attribute_list *l, const char *key, int64_t val)
{
	return attribute_list_put_int(l, key, __builtin_strlen(key), val);
}

static inline int attribute_list_add_bool(struct attribute_list *l, const char *key, bool val)
{
	return attribute_list_put_bool(l, key, __builtin_strlen(key), val);
}

static inline int attribute_list_add_double(struct attribute_list *l, const char *key, double val)
{
	return attribute_list_put_double(l, key, __builtin_strlen(key), val);
}

/* args: n strings; stored as ATTR_STRING_ARRAY. */
static inline int attribute_list_add_str_array(struct attribute_list *l, const char *key,
					       const char *const *args, size_t n)
{
	return attribute_list_put_str_array(l, key, __builtin_strlen(key), args, n);
}

const struct attribute *attribute_list_find(const struct attribute_list *l, const char *key);
void attribute_list_free(struct attribute_list *l);

/* OTLP Resource: one per observed process. */
struct resource {
	int refcount; /* atomic */
	uint32_t pid;
	char *service_name; /* also present in attrs as service.name */
	uint8_t runtime;    /* enum process_runtime (model/process_runtime.h) */
	struct attribute_list attrs;
};

struct resource *resource_new(uint32_t pid);
struct resource *resource_ref(struct resource *r);
void resource_unref(struct resource *r);

struct span {
	int refcount; /* atomic */
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_span_id[8]; /* all zero: root span */
	uint8_t trace_flags;	   /* W3C flags; bit 0 = sampled */
	char *trace_state;	   /* W3C tracestate, or NULL */
	char *name;
	/* name + name_route is the path template of an HTTP span's name
	 * ("GET /users/{id}", assembly/http_span.c), which the metrics reuse as
	 * http.route; 0: none (naming the span again resets it). */
	uint32_t name_route;
	enum span_kind kind;
	uint64_t start_unix_ns;
	uint64_t end_unix_ns;
	enum span_status_code status_code;
	char *status_message; /* or NULL */
	struct attribute_list attrs;
	struct resource *resource; /* counted reference */
	uint32_t tid;		   /* thread that handled the request */
};

/* Attributes and string bytes a span holds in its own block. */
#define SPAN_INLINE_ATTRS 24
#define SPAN_POOL_BYTES	  1024

/* A zeroed span with one reference, in one block that also holds its
 * attribute array and strings (released blocks are kept per thread for the
 * next span). */
struct span *span_new(void);
struct span *span_ref(struct span *s);
void span_unref(struct span *s);
int span_set_name(struct span *s, const char *name);
int span_set_namen(struct span *s, const char *name, size_t len);
int span_set_trace_state(struct span *s, const char *ts, size_t len);
int span_set_status_message(struct span *s, const char *msg);
bool span_has_parent(const struct span *s);

/* n random bytes, not all zero (zero ids mean "absent"). */
void span_random_id(uint8_t *out, size_t n);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void hex_encode(const uint8_t *in, size_t n, char *out);
bool bytes_all_zero(const uint8_t *b, size_t n);
/* A context the kernel decided, re-validated: ids non-zero (W3C 3.2.2.3-4). */
bool span_kernel_ctx_valid(const struct kspan_trace_ctx *k);

#endif /* KSPAN_SPAN_H */
