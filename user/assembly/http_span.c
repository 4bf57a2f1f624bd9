// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* http_span.c - HTTP spans per the OpenTelemetry HTTP semantic conventions,
 * for both protocols. */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "assembly/http_naming.h"
#include "lib/secret_redact.h"
#include "assembly/http_span.h"

struct span *http_span_new(enum span_kind kind, uint32_t tid, struct resource *resource,
			   uint64_t start_unix_ns, size_t extra_attrs)
{
	struct span *s = span_new();

	if (!s)
		return NULL;
	attribute_list_reserve(&s->attrs, HTTP_SPAN_ATTRS + extra_attrs);
	s->kind = kind;
	s->tid = tid;
	s->resource = resource_ref(resource);
	s->start_unix_ns = start_unix_ns;
	return s;
}

bool http_method_is_known(const char *method, size_t len)
{
	static const char *const known[] = {
	    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (len == strlen(known[i]) && memcmp(method, known[i], len) == 0)
			return true;
	return false;
}

/* http.request.method; returns the span name's {method}. */
static struct http_text add_method(struct attribute_list *a, const struct http_text *m)
{
	if (m->len && http_method_is_known(m->ptr, m->len)) {
		attribute_list_add_strn(a, "http.request.method", m->ptr, m->len);
		return *m;
	}
	/* "If the HTTP request method is not known to instrumentation, it MUST
	 * set the http.request.method attribute to _OTHER" and keep the
	 * original; the span name's {method} is then "HTTP". */
	attribute_list_add_str(a, "http.request.method", "_OTHER");
	if (m->len)
		attribute_list_add_strn(a, "http.request.method_original", m->ptr, m->len);
	return (struct http_text){.ptr = "HTTP", .len = 4};
}

/* Host/:authority ("host", "host:port", "[v6]:port") split without a copy:
 * the host (cut at 255 bytes or a NUL, as a 256-byte buffer would hold it)
 * and the port (0 when absent or not a port). */
static void split_authority(const struct http_text *auth, struct http_text *host, unsigned *port)
{
	const char *p = auth->ptr, *end = p + auth->len, *after;

	*port = 0;
	if (auth->len && p[0] == '[' && memchr(p, ']', auth->len)) {
		const char *close = memchr(p, ']', auth->len);
		*host = (struct http_text){p + 1, (size_t)(close - p - 1)};
		after = close + 1;
	} else {
		const char *colon = memchr(p, ':', auth->len);
		*host = (struct http_text){p, (size_t)((colon ? colon : end) - p)};
		after = colon ? colon : end;
	}
	if (host->len > 255)
		host->len = 255;
	host->len = strnlen(host->ptr, host->len);
	if (after < end && *after == ':') {
		unsigned v = 0;
		size_t digits = 0;
		for (const char *d = after + 1; d < end && *d >= '0' && *d <= '9' && digits < 7;
		     d++, digits++)
			v = v * 10 + (unsigned)(*d - '0');
		*port = v <= 65535 ? v : 0;
	}
}

/* server.address: the host the request names (Host, :authority), else the
 * address the bytes went to; server.port likewise. */
static void server_address(const struct http_request_view *req, const struct kspan_conn_tuple *t,
			   const struct conn_strings *cs, bool server, struct http_text *host,
			   unsigned *port)
{
	unsigned host_port = 0;

	*host = (struct http_text){"", 0};
	if (req->authority.len)
		split_authority(&req->authority, host, &host_port);
	if (!host->len)
		*host = server ? (struct http_text){cs->local, cs->local_len}
			       : (struct http_text){cs->peer, cs->peer_len};
	*port = host_port ? host_port : (server ? t->local_port : t->remote_port);
}

/* Text built up to a bound, cut there; always NUL-terminated. */
struct text_builder {
	char *buf;
	size_t len, cap;
};

static void text_append(struct text_builder *b, const char *p, size_t n)
{
	size_t room = b->cap - 1 - b->len;
	if (n > room)
		n = room;
	memcpy(b->buf + b->len, p, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

static void text_append_uint(struct text_builder *b, unsigned v)
{
	char digits[10];
	size_t n = 0;
	do {
		digits[sizeof(digits) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n < sizeof(digits));
	text_append(b, digits + sizeof(digits) - n, n);
}

/* Route templates are cut at this length (in the span name). */
#define ROUTE_MAX 511

/* "{method} {route}", the route templated from url.path as the span holds it
 * (valid UTF-8), so that the metrics' http.route can be the name's own text
 * (name + name_route) instead of a second templating. */
static void name_span(struct span *s, struct http_text method, const char *path, size_t path_len)
{
	/* a known method, or "HTTP", fits in 16 bytes */
	char name[16 + ROUTE_MAX + 1];
	size_t name_len = method.len < 16 ? method.len : 15, route_at = 0;

	memcpy(name, method.ptr, name_len);
	if (path) {
		name[name_len++] = ' ';
		route_at = name_len;
		http_path_template(path, path_len, name + name_len, ROUTE_MAX + 1);
		name_len += strlen(name + name_len);
	}
	if (span_set_namen(s, name, strnlen(name, name_len)) == 0)
		s->name_route = (uint32_t)route_at;
}

/* url.path, and the span's name from it. */
static void add_path_and_name(struct span *s, struct http_text method, const char *path,
			      size_t path_len)
{
	struct attribute_list *a = &s->attrs;

	if (path && attribute_list_add_strn(a, "url.path", path, path_len) == 0) {
		path = a->items[a->count - 1].str;
		path_len = a->items[a->count - 1].str_len;
	}
	name_span(s, method, path, path_len);
}

void http_span_add_request(struct span *s, const struct http_request_view *req,
			   const struct kspan_conn_tuple *t, const struct conn_strings *strings,
			   bool capture_query)
{
	struct attribute_list *a = &s->attrs;
	bool server = s->kind == SPAN_KIND_SERVER;
	char query[1024];
	const char *path = NULL, *q = NULL;
	size_t path_len = 0, q_len = 0;
	/* kspan reads the bytes a socket carried: TLS is not decoded, so a
	 * request that names no scheme (HTTP/1) travelled as http. */
	struct http_text scheme = req->scheme.len ? req->scheme : (struct http_text){"http", 4};
	struct http_text method, host;
	struct conn_strings formatted;
	unsigned port;

	if (!strings) {
		conn_strings_init(&formatted, t);
		strings = &formatted;
	}
	server_address(req, t, strings, server, &host, &port);
	if (req->target.ptr) {
		http_split_target(req->target.ptr, req->target.len, &path, &path_len, &q, &q_len);
		/* An empty path is "/" (RFC 9110 section 4.2.3; RFC 9113
		 * section 8.3.1 forbids an empty :path). */
		if (!path_len) {
			path = "/";
			path_len = 1;
		}
		if (req->metrics_only) {
			q = NULL;
		} else if (q && capture_query) {
			q_len = strnlen(q, q_len < sizeof(query) ? q_len : sizeof(query) - 1);
			memcpy(query, q, q_len);
			query[q_len] = '\0';
		} else if (q) {
			redact_url_query(q, q_len, query, sizeof(query));
		}
	}

	method = add_method(a, &req->method);
	attribute_list_add_strn(a, "url.scheme", scheme.ptr, scheme.len);
	add_path_and_name(s, method, path, path_len);
	if (req->metrics_only) {
		attribute_list_add_strn(a, "server.address", host.ptr, host.len);
		attribute_list_add_int(a, "server.port", port);
		attribute_list_add_str(a, "network.protocol.version", req->protocol_version);
		return;
	}
	if (path && q)
		attribute_list_add_str(a, "url.query", query);
	if (!server && path) {
		/* Built up to the attribute bound: a longer value would be cut
		 * there anyway. */
		char full[ATTR_VALUE_MAX_LEN + 1];
		struct text_builder b = {.buf = full, .cap = sizeof(full)};
		bool v6 = memchr(host.ptr, ':', host.len) != NULL;
		text_append(&b, scheme.ptr, strnlen(scheme.ptr, scheme.len));
		text_append(&b, "://", 3);
		if (v6)
			text_append(&b, "[", 1);
		text_append(&b, host.ptr, host.len);
		if (v6)
			text_append(&b, "]", 1);
		text_append(&b, ":", 1);
		text_append_uint(&b, port);
		text_append(&b, path, strnlen(path, path_len));
		if (q) {
			text_append(&b, "?", 1);
			text_append(&b, query, strlen(query));
		}
		attribute_list_add_strn(a, "url.full", full, b.len);
	}
	attribute_list_add_strn(a, "server.address", host.ptr, host.len);
	attribute_list_add_int(a, "server.port", port);
	if (server)
		attribute_list_add_strn(a, "client.address", strings->peer, strings->peer_len);
	attribute_list_add_strn(a, "network.peer.address", strings->peer, strings->peer_len);
	attribute_list_add_int(a, "network.peer.port", t->remote_port);
	attribute_list_add_strn(a, "network.protocol.name", "http", 4);
	attribute_list_add_str(a, "network.protocol.version", req->protocol_version);
	attribute_list_add_strn(a, "network.transport", "tcp", 3);
	attribute_list_add_strn(a, "network.type", strings->v4 ? "ipv4" : "ipv6", 4);
	if (req->user_agent.len)
		attribute_list_add_strn(a, "user_agent.original", req->user_agent.ptr,
					req->user_agent.len);
}

void http_span_add_response_status(struct span *s, int status, bool status_decides)
{
	char code[16];

	if (status <= 0)
		return;
	attribute_list_add_int(&s->attrs, "http.response.status_code", status);
	if (!status_decides)
		return;
	/* HTTP semantic conventions, "Status": 5xx is an error for servers;
	 * for clients every 4xx and 5xx is. */
	if (status >= 500 || (status >= 400 && s->kind == SPAN_KIND_CLIENT)) {
		snprintf(code, sizeof(code), "%d", status);
		http_span_fail(s, code, NULL);
	}
}

void http_span_fail(struct span *s, const char *error_type, const char *message)
{
	s->status_code = SPAN_STATUS_ERROR;
	if (message)
		span_set_status_message(s, message);
	attribute_list_add_str(&s->attrs, "error.type", error_type);
}
