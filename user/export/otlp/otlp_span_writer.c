// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * otlp_span_writer.c - OTLP protobuf for kspan's span shape, written by hand.
 *
 * Wire format: protobuf encoding (protobuf.dev/programming-guides/encoding):
 * a field is a varint key (number << 3 | wire type) then its value; a
 * message, string or bytes field (wire type 2) is its length as a varint then
 * its bytes. proto3 fields at their default (0, empty) are left out, members
 * of a oneof (AnyValue.value) never are, a present sub-message always is,
 * even when empty; fields go in field-number order. That is what protobuf-c
 * writes, so a request from here equals, byte for byte, protobuf-c's pack of
 * the same spans (the unit and fuzz tests compare both).
 *
 * A span is written front to back in one pass, each length-delimited field
 * with room for the length its body usually has (one byte for a KeyValue and
 * its AnyValue, two for the Span) and the body moved only when its length
 * needs another size (a value of 128 bytes or more); the space needed is
 * bounded before, by a sum over the attributes' string lengths. The sealed
 * request's outer messages (per resource, per batch) are sized first, then
 * written.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "export/otlp/otlp_encoder.h"
#include "export/otlp/otlp_span_writer.h"
#include "lib/utf8.h"

/* Field keys (number << 3 | wire type), from the .proto files in proto/. */
enum {
	WIRE_VARINT = 0,
	WIRE_I64 = 1,
	WIRE_LEN = 2,
	WIRE_I32 = 5,
};
#define KEY(number, wire) ((uint8_t)((number) << 3 | (wire)))
/* ExportTraceServiceRequest */
#define REQUEST_RESOURCE_SPANS KEY(1, WIRE_LEN)
/* ResourceSpans, ScopeSpans, Resource, InstrumentationScope */
#define RESOURCE_SPANS_RESOURCE	   KEY(1, WIRE_LEN)
#define RESOURCE_SPANS_SCOPE_SPANS KEY(2, WIRE_LEN)
#define SCOPE_SPANS_SCOPE	   KEY(1, WIRE_LEN)
#define SCOPE_SPANS_SPANS	   KEY(2, WIRE_LEN)
#define RESOURCE_ATTRIBUTES	   KEY(1, WIRE_LEN)
#define SCOPE_NAME		   KEY(1, WIRE_LEN)
#define SCOPE_VERSION		   KEY(2, WIRE_LEN)
/* Span (flags is field 16: a two-byte key, written out below) */
#define SPAN_TRACE_ID	    KEY(1, WIRE_LEN)
#define SPAN_SPAN_ID	    KEY(2, WIRE_LEN)
#define SPAN_TRACE_STATE    KEY(3, WIRE_LEN)
#define SPAN_PARENT_SPAN_ID KEY(4, WIRE_LEN)
#define SPAN_NAME	    KEY(5, WIRE_LEN)
#define SPAN_KIND	    KEY(6, WIRE_VARINT)
#define SPAN_START_TIME	    KEY(7, WIRE_I64)
#define SPAN_END_TIME	    KEY(8, WIRE_I64)
#define SPAN_ATTRIBUTES	    KEY(9, WIRE_LEN)
#define SPAN_STATUS	    KEY(15, WIRE_LEN)
#define SPAN_FLAGS_KEY_0    0x85 /* KEY(16, WIRE_I32) = 133, as a varint */
#define SPAN_FLAGS_KEY_1    0x01
/* Status, KeyValue, AnyValue, ArrayValue */
#define STATUS_MESSAGE	KEY(2, WIRE_LEN)
#define STATUS_CODE	KEY(3, WIRE_VARINT)
#define KEY_VALUE_KEY	KEY(1, WIRE_LEN)
#define KEY_VALUE_VALUE KEY(2, WIRE_LEN)
#define ANY_STRING	KEY(1, WIRE_LEN)
#define ANY_BOOL	KEY(2, WIRE_VARINT)
#define ANY_INT		KEY(3, WIRE_VARINT)
#define ANY_DOUBLE	KEY(4, WIRE_I64)
#define ANY_ARRAY	KEY(5, WIRE_LEN)
#define ARRAY_VALUES	KEY(1, WIRE_LEN)

/* --- primitives ------------------------------------------------------------------------------ */

static inline size_t varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static inline uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* A length-delimited field's size: key, length, body. */
static inline size_t field_size(size_t body)
{
	return 1 + varint_size(body) + body;
}

static inline uint8_t *put_len_key(uint8_t *p, uint8_t key, size_t len)
{
	*p++ = key;
	return put_varint(p, len);
}

/* Keys and most values are a few bytes: copied with two overlapping
 * loads and stores instead of a call. */
static inline void copy_short(uint8_t *dst, const uint8_t *src, size_t len)
{
	if (len >= 8 && len <= 16) {
		uint64_t head, tail;
		memcpy(&head, src, 8);
		memcpy(&tail, src + len - 8, 8);
		memcpy(dst, &head, 8);
		memcpy(dst + len - 8, &tail, 8);
	} else if (len >= 4 && len < 8) {
		uint32_t head, tail;
		memcpy(&head, src, 4);
		memcpy(&tail, src + len - 4, 4);
		memcpy(dst, &head, 4);
		memcpy(dst + len - 4, &tail, 4);
	} else if (len < 4) {
		for (size_t i = 0; i < len; i++)
			dst[i] = src[i];
	} else {
		memcpy(dst, src, len);
	}
}

static inline uint8_t *put_bytes(uint8_t *p, uint8_t key, const void *b, size_t len)
{
	p = put_len_key(p, key, len);
	copy_short(p, b, len);
	return p + len;
}

static inline uint8_t *put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		*p++ = (uint8_t)(v >> (8 * i));
	return p;
}

static inline size_t cstr_len(const char *s)
{
	return s ? strlen(s) : 0;
}

/* --- attributes ------------------------------------------------------------------------------ */

/* A string value as sent: cut to the limit at a UTF-8 boundary. */
static inline size_t limited_len(const char *s, size_t len, size_t limit)
{
	return limit && len > limit ? utf8_cut_len(s, limit) : len;
}

/* ATTR_STRING_ARRAY: NUL-terminated elements back to back in str_len bytes. */
static size_t string_array_size(const struct attribute *a, size_t limit)
{
	size_t total = 0;
	const char *elem = a->str, *end = a->str + a->str_len;
	while (elem < end) {
		size_t len = strlen(elem);
		total += field_size(field_size(limited_len(elem, len, limit)));
		elem += len + 1;
	}
	return total;
}

/* The AnyValue message body of a. */
static size_t any_value_size(const struct attribute *a, size_t limit)
{
	switch (a->type) {
	case ATTR_STRING:
		return field_size(limited_len(a->str, a->str_len, limit));
	case ATTR_INT:
		return 1 + varint_size((uint64_t)a->i);
	case ATTR_BOOL:
		return 2;
	case ATTR_DOUBLE:
		return 9;
	case ATTR_STRING_ARRAY:
		return field_size(string_array_size(a, limit));
	default:
		/* otlp_encoder.c sends an unknown type as an empty value. */
		return 0;
	}
}

static uint8_t *put_any_value(uint8_t *p, const struct attribute *a, size_t limit)
{
	switch (a->type) {
	case ATTR_STRING:
		return put_bytes(p, ANY_STRING, a->str, limited_len(a->str, a->str_len, limit));
	case ATTR_INT:
		*p++ = ANY_INT;
		return put_varint(p, (uint64_t)a->i);
	case ATTR_BOOL:
		*p++ = ANY_BOOL;
		*p++ = a->b ? 1 : 0;
		return p;
	case ATTR_DOUBLE: {
		uint64_t bits;
		memcpy(&bits, &a->d, sizeof(bits));
		*p++ = ANY_DOUBLE;
		return put_le64(p, bits);
	}
	case ATTR_STRING_ARRAY: {
		p = put_len_key(p, ANY_ARRAY, string_array_size(a, limit));
		const char *elem = a->str, *end = a->str + a->str_len;
		while (elem < end) {
			size_t len = strlen(elem), sent = limited_len(elem, len, limit);
			p = put_len_key(p, ARRAY_VALUES, field_size(sent));
			p = put_bytes(p, ANY_STRING, elem, sent);
			elem += len + 1;
		}
		return p;
	}
	default:
		return p;
	}
}

/* Sizes of one attribute list's KeyValue bodies, kept between the two steps. */
#define INLINE_ATTRS 48

struct attr_sizes {
	uint32_t inline_kv[INLINE_ATTRS], inline_any[INLINE_ATTRS];
	uint32_t *kv, *any;
};

static void attr_sizes_release(struct attr_sizes *z)
{
	if (z->kv != z->inline_kv) {
		free(z->kv);
		free(z->any);
	}
}

/* Sum of the repeated KeyValue fields for l; each body's size kept in z. */
static int attributes_size(const struct attribute_list *l, size_t limit, struct attr_sizes *z,
			   size_t *total)
{
	z->kv = z->inline_kv;
	z->any = z->inline_any;
	if (l->count > INLINE_ATTRS) {
		z->kv = malloc(l->count * sizeof(*z->kv));
		z->any = malloc(l->count * sizeof(*z->any));
		if (!z->kv || !z->any) {
			free(z->kv);
			free(z->any);
			z->kv = z->inline_kv;
			return -ENOMEM;
		}
	}
	size_t sum = 0;
	for (size_t i = 0; i < l->count; i++) {
		const struct attribute *a = &l->items[i];
		size_t any = any_value_size(a, limit);
		size_t key = a->key_len;
		size_t kv = (key ? field_size(key) : 0) + field_size(any);
		z->any[i] = (uint32_t)any;
		z->kv[i] = (uint32_t)kv;
		sum += field_size(kv);
	}
	*total = sum;
	return 0;
}

static uint8_t *put_attributes(uint8_t *p, uint8_t key, const struct attribute_list *l,
			       size_t limit, const struct attr_sizes *z)
{
	for (size_t i = 0; i < l->count; i++) {
		const struct attribute *a = &l->items[i];
		p = put_len_key(p, key, z->kv[i]);
		size_t key = a->key_len;
		if (key)
			p = put_bytes(p, KEY_VALUE_KEY, a->key, key);
		p = put_len_key(p, KEY_VALUE_VALUE, z->any[i]);
		p = put_any_value(p, a, limit);
	}
	return p;
}

/*
 * A length-delimited field whose body was written after `reserved` bytes left
 * for its length at slot, ending at end: the length goes into the slot, the
 * body moved when the length's varint is not `reserved` bytes long. Returns
 * the field's end. The caller has room for the length's largest varint.
 */
static inline uint8_t *finish_len(uint8_t *slot, size_t reserved, uint8_t *end)
{
	size_t len = (size_t)(end - (slot + reserved));
	/* The lengths reserved for: no move, no loop. */
	if (reserved == 1 && len < 0x80) {
		*slot = (uint8_t)len;
		return end;
	}
	if (reserved == 2 && len >= 0x80 && len < 0x4000) {
		slot[0] = (uint8_t)(len | 0x80);
		slot[1] = (uint8_t)(len >> 7);
		return end;
	}
	size_t n = varint_size(len);
	if (n != reserved)
		memmove(slot + n, slot + reserved, len);
	put_varint(slot, len);
	return slot + n + len;
}

/* One KeyValue field, written in one pass (most are under 128 bytes). */
static inline uint8_t *put_attribute(uint8_t *p, uint8_t key, const struct attribute *a,
				     size_t limit)
{
	*p++ = key;
	uint8_t *kv = p++;
	if (a->key_len)
		p = put_bytes(p, KEY_VALUE_KEY, a->key, a->key_len);
	*p++ = KEY_VALUE_VALUE;
	uint8_t *any = p++;
	p = put_any_value(p, a, limit);
	p = finish_len(any, 1, p);
	return finish_len(kv, 1, p);
}

/* Bytes an attribute can take written by put_attribute, before and while its
 * bodies are moved: keys and lengths (varints of at most 5 bytes) of the
 * KeyValue, the AnyValue and its member, an int's 10-byte varint. A string
 * array adds per element (at least its NUL) an ArrayValue and an AnyValue. */
#define ATTRIBUTE_OVERHEAD_MAX 40
#define ARRAY_ELEMENT_MAX      13

static size_t attribute_bound(const struct attribute *a)
{
	size_t n = ATTRIBUTE_OVERHEAD_MAX + a->key_len;
	if (a->type == ATTR_STRING)
		n += a->str_len;
	else if (a->type == ATTR_STRING_ARRAY)
		n += ARRAY_ELEMENT_MAX * a->str_len;
	return n;
}

/* --- spans ------------------------------------------------------------------------------------ */

static size_t status_size(const struct span *s)
{
	size_t msg = cstr_len(s->status_message);
	return (msg ? field_size(msg) : 0) +
	       (s->status_code ? 1 + varint_size((uint64_t)s->status_code) : 0);
}

static bool has_status(const struct span *s)
{
	return s->status_code != SPAN_STATUS_UNSET || s->status_message;
}

/* Fixed fields of a Span with their keys and lengths (ids, kind, times,
 * status code, flags, the lengths of strings), generously. */
#define SPAN_FIXED_MAX 128

/* Bytes the Span field of s can take, before and while its bodies are moved. */
static size_t span_bound(const struct span *s)
{
	size_t n = SPAN_FIXED_MAX + cstr_len(s->trace_state) + cstr_len(s->name) +
		   cstr_len(s->status_message);
	for (size_t i = 0; i < s->attrs.count; i++)
		n += attribute_bound(&s->attrs.items[i]);
	return n;
}

static uint8_t *put_span(uint8_t *p, const struct span *s, size_t limit)
{
	p = put_bytes(p, SPAN_TRACE_ID, s->trace_id, sizeof(s->trace_id));
	p = put_bytes(p, SPAN_SPAN_ID, s->span_id, sizeof(s->span_id));
	size_t ts = cstr_len(s->trace_state);
	if (ts)
		p = put_bytes(p, SPAN_TRACE_STATE, s->trace_state, ts);
	/* trace.proto: "If this is a root span, then this field must be empty." */
	if (span_has_parent(s))
		p = put_bytes(p, SPAN_PARENT_SPAN_ID, s->parent_span_id, sizeof(s->parent_span_id));
	size_t name = cstr_len(s->name);
	if (name)
		p = put_bytes(p, SPAN_NAME, s->name, name);
	if (s->kind) {
		*p++ = SPAN_KIND;
		p = put_varint(p, (uint64_t)s->kind);
	}
	if (s->start_unix_ns) {
		*p++ = SPAN_START_TIME;
		p = put_le64(p, s->start_unix_ns);
	}
	if (s->end_unix_ns) {
		*p++ = SPAN_END_TIME;
		p = put_le64(p, s->end_unix_ns);
	}
	for (size_t i = 0; i < s->attrs.count; i++)
		p = put_attribute(p, SPAN_ATTRIBUTES, &s->attrs.items[i], limit);
	/* An absent Status means UNSET, so only a set one is sent. */
	if (has_status(s)) {
		p = put_len_key(p, SPAN_STATUS, status_size(s));
		size_t msg = cstr_len(s->status_message);
		if (msg)
			p = put_bytes(p, STATUS_MESSAGE, s->status_message, msg);
		if (s->status_code) {
			*p++ = STATUS_CODE;
			p = put_varint(p, (uint64_t)s->status_code);
		}
	}
	uint32_t flags = otlp_span_flags(s);
	if (flags) {
		*p++ = SPAN_FLAGS_KEY_0;
		*p++ = SPAN_FLAGS_KEY_1;
		for (int i = 0; i < 4; i++)
			*p++ = (uint8_t)(flags >> (8 * i));
	}
	return p;
}

/* --- writer ----------------------------------------------------------------------------------- */

void otlp_span_writer_init(struct otlp_span_writer *w, size_t attr_value_limit)
{
	memset(w, 0, sizeof(*w));
	w->attr_value_limit = attr_value_limit;
}

static const char scope_name[] = OTLP_SCOPE_NAME;
static const char scope_version[] = KSPAN_VERSION;

static size_t scope_size(void)
{
	return field_size(sizeof(scope_name) - 1) + field_size(sizeof(scope_version) - 1);
}

/*
 * The room a group leaves in front of its spans for the request's header
 * (ExportTraceServiceRequest.resource_spans, Resource, ScopeSpans, scope):
 * sealing a batch of one group writes the header there and hands the
 * buffer out whole, instead of copying the spans behind a header. The two
 * lengths that count the spans are guessed to take 3 bytes (16 KB to 2 MB:
 * 40 to 4000 spans); sealing checks, and copies when the guess was wrong.
 */
#define SPANS_LEN_GUESS 3

static size_t header_room(const struct resource *r, size_t limit)
{
	size_t room = 1 + SPANS_LEN_GUESS + 1 + SPANS_LEN_GUESS + field_size(scope_size());
	if (r) {
		struct attr_sizes z;
		size_t body;
		if (attributes_size(&r->attrs, limit, &z, &body))
			return 0;
		attr_sizes_release(&z);
		room += field_size(body);
	}
	return room;
}

/* The group of resource r in the open batch, made when r is new to it. */
static struct otlp_span_group *group_of(struct otlp_span_writer *w, struct resource *r)
{
	if (w->last < w->n_groups && w->groups[w->last].resource == r)
		return &w->groups[w->last];
	/* A batch holds spans of few processes, so a linear search is enough. */
	for (size_t g = 0; g < w->n_groups; g++) {
		if (w->groups[g].resource == r) {
			w->last = g;
			return &w->groups[g];
		}
	}
	if (w->n_groups == w->cap_groups) {
		size_t cap = w->cap_groups ? 2 * w->cap_groups : 4;
		struct otlp_span_group *groups = realloc(w->groups, cap * sizeof(*groups));
		if (!groups)
			return NULL;
		memset(groups + w->cap_groups, 0, (cap - w->cap_groups) * sizeof(*groups));
		w->groups = groups;
		w->cap_groups = cap;
	}
	struct otlp_span_group *g = &w->groups[w->n_groups];
	g->resource = resource_ref(r);
	g->head = header_room(r, w->attr_value_limit);
	g->len = 0;
	w->last = w->n_groups++;
	return g;
}

/* Room for more bytes after the group's spans. A buffer handed out by
 * seal is replaced at the size it had grown to: no doubling per batch. */
static int reserve(struct otlp_span_group *g, size_t more)
{
	size_t used = g->head + g->len;
	if (g->cap >= used + more)
		return 0;
	size_t cap = g->cap ? g->cap : g->last_cap ? g->last_cap : 16 * 1024;
	while (cap < used + more)
		cap *= 2;
	uint8_t *buf = realloc(g->buf, cap);
	if (!buf)
		return -ENOMEM;
	g->buf = buf;
	g->cap = cap;
	return 0;
}

/* A Span's length takes two bytes from 128 to 16383 bytes: kspan's spans. */
#define SPAN_LEN_RESERVED 2

int otlp_span_writer_add(struct otlp_span_writer *w, const struct span *s)
{
	struct otlp_span_group *g = group_of(w, s->resource);
	if (!g || reserve(g, span_bound(s)))
		return -ENOMEM;
	uint8_t *spans = g->buf + g->head;
	uint8_t *p = spans + g->len;
	*p++ = SCOPE_SPANS_SPANS;
	uint8_t *slot = p;
	p = put_span(p + SPAN_LEN_RESERVED, s, w->attr_value_limit);
	p = finish_len(slot, SPAN_LEN_RESERVED, p);
	g->len = (size_t)(p - spans);
	w->n_spans++;
	return 0;
}

/* Empty the open batch; buffers stay for the next one. */
static void writer_reset(struct otlp_span_writer *w)
{
	for (size_t g = 0; g < w->n_groups; g++) {
		resource_unref(w->groups[g].resource);
		w->groups[g].resource = NULL;
		w->groups[g].len = 0;
	}
	w->n_groups = 0;
	w->last = 0;
	w->n_spans = 0;
}

/* One ResourceSpans up to its spans: the request's key and lengths, the
 * Resource, the ScopeSpans' key and length, the scope. */
static uint8_t *put_group_header(uint8_t *p, const struct otlp_span_group *g, size_t rs_body,
				 size_t resource_body, size_t limit, const struct attr_sizes *z)
{
	p = put_len_key(p, REQUEST_RESOURCE_SPANS, rs_body);
	if (g->resource) {
		p = put_len_key(p, RESOURCE_SPANS_RESOURCE, resource_body);
		p = put_attributes(p, RESOURCE_ATTRIBUTES, &g->resource->attrs, limit, z);
	}
	p = put_len_key(p, RESOURCE_SPANS_SCOPE_SPANS, field_size(scope_size()) + g->len);
	p = put_len_key(p, SCOPE_SPANS_SCOPE, scope_size());
	p = put_bytes(p, SCOPE_NAME, scope_name, sizeof(scope_name) - 1);
	return put_bytes(p, SCOPE_VERSION, scope_version, sizeof(scope_version) - 1);
}

int otlp_span_writer_seal(struct otlp_span_writer *w, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (!w->n_spans) {
		writer_reset(w);
		return 0;
	}
	size_t limit = w->attr_value_limit, total = 0, n = w->n_groups;
	struct attr_sizes *z = calloc(n, sizeof(*z));
	size_t *resource_body = calloc(n, sizeof(*resource_body));
	size_t *rs_body = calloc(n, sizeof(*rs_body));
	int err = z && resource_body && rs_body ? 0 : -ENOMEM;
	size_t sized = 0;
	for (; !err && sized < n; sized++) {
		struct otlp_span_group *g = &w->groups[sized];
		size_t rs = field_size(field_size(scope_size()) + g->len);
		if (g->resource) {
			err = attributes_size(&g->resource->attrs, limit, &z[sized],
					      &resource_body[sized]);
			rs += field_size(resource_body[sized]);
		}
		rs_body[sized] = rs;
		total += field_size(rs);
	}
	struct otlp_span_group *only = &w->groups[0];
	if (!err && n == 1 && total - only->len == only->head) {
		/* The header fills the room in front of the spans exactly. */
		put_group_header(only->buf, only, rs_body[0], resource_body[0], limit, &z[0]);
		/* Shrunk to the request (in place: glibc shrinks without a copy),
		 * so that the queue's byte bound holds for the memory too. */
		uint8_t *fit = realloc(only->buf, total);
		*out = fit ? fit : only->buf;
		*len = total;
		only->last_cap = only->cap;
		only->buf = NULL;
		only->cap = 0;
	} else {
		uint8_t *buf = err ? NULL : malloc(total);
		if (buf) {
			uint8_t *p = buf;
			for (size_t i = 0; i < n; i++) {
				struct otlp_span_group *g = &w->groups[i];
				p = put_group_header(p, g, rs_body[i], resource_body[i], limit,
						     &z[i]);
				memcpy(p, g->buf + g->head, g->len);
				p += g->len;
			}
			*out = buf;
			*len = (size_t)(p - buf);
		} else {
			err = -ENOMEM;
		}
	}
	for (size_t i = 0; z && i < sized; i++)
		if (w->groups[i].resource)
			attr_sizes_release(&z[i]);
	free(z);
	free(resource_body);
	free(rs_body);
	writer_reset(w);
	return err;
}

void otlp_span_writer_free(struct otlp_span_writer *w)
{
	writer_reset(w);
	for (size_t g = 0; g < w->cap_groups; g++)
		free(w->groups[g].buf);
	free(w->groups);
	memset(w, 0, sizeof(*w));
}

int otlp_span_writer_encode(struct span *const *spans, size_t n, size_t attr_value_limit,
			    uint8_t **out, size_t *len)
{
	struct otlp_span_writer w;
	int err = 0;
	*out = NULL;
	*len = 0;
	if (n && !spans)
		return -EINVAL;
	otlp_span_writer_init(&w, attr_value_limit);
	for (size_t i = 0; !err && i < n; i++)
		err = spans[i] ? otlp_span_writer_add(&w, spans[i]) : -EINVAL;
	if (!err)
		err = otlp_span_writer_seal(&w, out, len);
	otlp_span_writer_free(&w);
	return err;
}
