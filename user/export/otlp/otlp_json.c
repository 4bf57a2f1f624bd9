// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* otlp_json.c - protobuf-c messages to OTLP JSON by their descriptors; responses with json-c. */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kspan_bytes.h"
#include "export/otlp/otlp_json.h"

struct jbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct jbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *grown = realloc(b->p, cap);
		if (!grown) {
			b->oom = true;
			return;
		}
		b->p = grown;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct jbuf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* RFC 8259 section 7; the input is valid UTF-8 already (span.c), copied as is. */
static void put_string(struct jbuf *b, const char *s, size_t n)
{
	put(b, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(b, s + run, i - run);
		char esc[8];
		switch (c) {
		case '"':
			puts_(b, "\\\"");
			break;
		case '\\':
			puts_(b, "\\\\");
			break;
		case '\n':
			puts_(b, "\\n");
			break;
		case '\r':
			puts_(b, "\\r");
			break;
		case '\t':
			puts_(b, "\\t");
			break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			puts_(b, esc);
		}
		run = i + 1;
	}
	put(b, s + run, n - run);
	put(b, "\"", 1);
}

/* "parent_span_id" -> "parentSpanId" (proto3 JSON: lowerCamelCase field names). */
static void put_name(struct jbuf *b, const char *name)
{
	char out[128];
	size_t o = 0;
	bool upper = false;
	for (const char *p = name; *p && o < sizeof(out) - 1; p++) {
		if (*p == '_') {
			upper = true;
			continue;
		}
		out[o++] = upper && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
		upper = false;
	}
	put(b, "\"", 1);
	put(b, out, o);
	put(b, "\":", 2);
}

/* OTLP: trace and span ids are hex strings in JSON, every other bytes field base64. */
static bool is_id_field(const ProtobufCFieldDescriptor *fd)
{
	return strcmp(fd->name, "trace_id") == 0 || strcmp(fd->name, "span_id") == 0 ||
	       strcmp(fd->name, "parent_span_id") == 0;
}

static void put_bytes(struct jbuf *b, const ProtobufCFieldDescriptor *fd,
		      const ProtobufCBinaryData *d)
{
	if (is_id_field(fd)) {
		put(b, "\"", 1);
		for (size_t i = 0; i < d->len; i++) {
			char two[2] = {kspan_hex_digit(d->data[i] >> 4),
				       kspan_hex_digit(d->data[i] & 15)};
			put(b, two, 2);
		}
		put(b, "\"", 1);
		return;
	}
	if (d->len > (size_t)INT32_MAX / 2) {
		b->oom = true;
		return;
	}
	char *enc = malloc(4 * ((d->len + 2) / 3) + 1);
	if (!enc) {
		b->oom = true;
		return;
	}
	int n = EVP_EncodeBlock((unsigned char *)enc, d->data, (int)d->len);
	put(b, "\"", 1);
	put(b, enc, (size_t)n);
	put(b, "\"", 1);
	free(enc);
}

static void put_double(struct jbuf *b, double v)
{
	char num[40];
	/* proto3 JSON spells the values JSON cannot hold as strings. */
	if (isnan(v))
		puts_(b, "\"NaN\"");
	else if (isinf(v))
		puts_(b, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
	else {
		snprintf(num, sizeof(num), "%.17g", v);
		puts_(b, num);
	}
}

static void put_message(struct jbuf *b, const ProtobufCMessage *m);

/* One value of field fd stored at p. */
static void put_value(struct jbuf *b, const ProtobufCFieldDescriptor *fd, const void *p)
{
	char num[32];
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		snprintf(num, sizeof(num), "%" PRId32, *(const int32_t *)p);
		puts_(b, num);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		snprintf(num, sizeof(num), "%" PRIu32, *(const uint32_t *)p);
		puts_(b, num);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		snprintf(num, sizeof(num), "\"%" PRId64 "\"", *(const int64_t *)p);
		puts_(b, num);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		snprintf(num, sizeof(num), "\"%" PRIu64 "\"", *(const uint64_t *)p);
		puts_(b, num);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		put_double(b, *(const float *)p);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		put_double(b, *(const double *)p);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		puts_(b, *(const protobuf_c_boolean *)p ? "true" : "false");
		break;
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		put_string(b, s ? s : "", s ? strlen(s) : 0);
		break;
	}
	case PROTOBUF_C_TYPE_BYTES:
		put_bytes(b, fd, p);
		break;
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
		if (sub)
			put_message(b, sub);
		else
			puts_(b, "{}");
		break;
	}
	}
}

static size_t value_size(const ProtobufCFieldDescriptor *fd)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return 4;
	}
}

/* A proto3 field without presence holding its default is not written. */
static bool is_default(const ProtobufCFieldDescriptor *fd, const void *p)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		return !s || !*s;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		return !*(void *const *)p;
	case PROTOBUF_C_TYPE_BYTES:
		return !((const ProtobufCBinaryData *)p)->len;
	case PROTOBUF_C_TYPE_DOUBLE:
		return *(const double *)p == 0;
	case PROTOBUF_C_TYPE_FLOAT:
		return *(const float *)p == 0;
	default: {
		static const uint8_t zero[8];
		return memcmp(p, zero, value_size(fd)) == 0;
	}
	}
}

static bool field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd,
			  const void *p)
{
	const char *base = (const char *)m;
	if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(base + fd->quantifier_offset) == fd->id;
	if (fd->label == PROTOBUF_C_LABEL_OPTIONAL && fd->type != PROTOBUF_C_TYPE_STRING &&
	    fd->type != PROTOBUF_C_TYPE_MESSAGE)
		return *(const protobuf_c_boolean *)(base + fd->quantifier_offset);
	return !is_default(fd, p);
}

static void put_message(struct jbuf *b, const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;
	bool first = true;
	put(b, "{", 1);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];
		const void *p = base + fd->offset;
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + fd->quantifier_offset);
			if (!n)
				continue;
			if (!first)
				put(b, ",", 1);
			first = false;
			put_name(b, fd->name);
			put(b, "[", 1);
			const char *arr = *(char *const *)p;
			for (size_t k = 0; k < n; k++) {
				if (k)
					put(b, ",", 1);
				put_value(b, fd, arr + k * value_size(fd));
			}
			put(b, "]", 1);
			continue;
		}
		if (!field_present(m, fd, p))
			continue;
		if (!first)
			put(b, ",", 1);
		first = false;
		put_name(b, fd->name);
		put_value(b, fd, p);
	}
	put(b, "}", 1);
}

int otlp_json_write(const ProtobufCMessage *msg, char **out, size_t *len)
{
	struct jbuf b = {0};
	put_message(&b, msg);
	if (b.oom || !b.p) {
		free(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

int otlp_json_decode_export_response(const uint8_t *buf, size_t len, int64_t *rejected_spans,
				     char *msg, size_t msg_size)
{
	*rejected_spans = 0;
	if (msg_size)
		msg[0] = '\0';
	if (!len)
		return 0;
	json_tokener *tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	json_object *root = json_tokener_parse_ex(tok, (const char *)buf, (int)len);
	bool complete = json_tokener_get_error(tok) == json_tokener_success;
	json_tokener_free(tok);
	if (!root || !complete || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return -EBADMSG;
	}
	json_object *ps, *v;
	if (json_object_object_get_ex(root, "partialSuccess", &ps) &&
	    json_object_is_type(ps, json_type_object)) {
		/* int64 comes as a string in proto3 JSON; json-c converts either. */
		if (json_object_object_get_ex(ps, "rejectedSpans", &v))
			*rejected_spans = json_object_get_int64(v);
		if (msg_size && json_object_object_get_ex(ps, "errorMessage", &v))
			snprintf(msg, msg_size, "%s", json_object_get_string(v));
	}
	json_object_put(root);
	return 0;
}
