// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* http_span.c - HTTP spans per the OpenTelemetry HTTP semantic conventions,
 * for both protocols. */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "assembly/http_naming.h"
#include "lib/secret_redact.h"
#include "assembly/http_span.h"
#include "lib/net_address.h"

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

/* server.address: the host the request names (Host, :authority), else the
 * address the bytes went to; server.port likewise. */
static void server_address(const struct http_request_view *req, const struct kspan_conn_tuple *t,
			   bool server, char *host, size_t host_size, unsigned *port)
{
	unsigned host_port = 0;

	host[0] = 0;
	if (req->authority.len)
		net_split_host_port(req->authority.ptr, req->authority.len, host, host_size,
				    &host_port);
	if (!host[0])
		net_format_addr(t->family, server ? t->local_addr : t->remote_addr, host,
				host_size);
	*port = host_port ? host_port : (server ? t->local_port : t->remote_port);
}

void http_span_add_request(struct span *s, const struct http_request_view *req,
			   const struct kspan_conn_tuple *t, bool capture_query)
{
	struct attribute_list *a = &s->attrs;
	bool server = s->kind == SPAN_KIND_SERVER;
	char peer[INET6_ADDRSTRLEN], host[256], route[512], query[1024], name[600];
	const char *path = NULL, *q = NULL;
	size_t path_len = 0, q_len = 0;
	/* kspan reads the bytes a socket carried: TLS is not decoded, so a
	 * request that names no scheme (HTTP/1) travelled as http. */
	const char *scheme = req->scheme.len ? req->scheme.ptr : "http";
	int scheme_len = req->scheme.len ? (int)req->scheme.len : 4;
	struct http_text method;
	unsigned port;

	server_address(req, t, server, host, sizeof(host), &port);
	if (req->target.ptr) {
		http_split_target(req->target.ptr, req->target.len, &path, &path_len, &q, &q_len);
		/* An empty path is "/" (RFC 9110 section 4.2.3; RFC 9113
		 * section 8.3.1 forbids an empty :path). */
		if (!path_len) {
			path = "/";
			path_len = 1;
		}
		if (req->metrics_only)
			q = NULL;
		else if (q && capture_query)
			snprintf(query, sizeof(query), "%.*s", (int)q_len, q);
		else if (q)
			redact_url_query(q, q_len, query, sizeof(query));
	}

	method = add_method(a, &req->method);
	if (path) {
		http_path_template(path, path_len, route, sizeof(route));
		snprintf(name, sizeof(name), "%.*s %s", (int)method.len, method.ptr, route);
	} else {
		snprintf(name, sizeof(name), "%.*s", (int)method.len, method.ptr);
	}
	span_set_name(s, name);
	attribute_list_add_strn(a, "url.scheme", scheme, (size_t)scheme_len);
	if (req->metrics_only) {
		attribute_list_add_str(a, "server.address", host);
		attribute_list_add_int(a, "server.port", port);
		attribute_list_add_str(a, "network.protocol.version", req->protocol_version);
		return;
	}
	net_format_addr(t->family, t->remote_addr, peer, sizeof(peer));
	if (path) {
		attribute_list_add_strn(a, "url.path", path, path_len);
		if (q)
			attribute_list_add_str(a, "url.query", query);
	}
	if (!server && path) {
		/* Built up to the attribute bound: a longer value would be cut
		 * there anyway. */
		char full[ATTR_VALUE_MAX_LEN + 1];
		bool v6 = strchr(host, ':') != NULL;
		snprintf(full, sizeof(full), "%.*s://%s%s%s:%u%.*s%s%s", scheme_len, scheme,
			 v6 ? "[" : "", host, v6 ? "]" : "", port, (int)path_len, path,
			 q ? "?" : "", q ? query : "");
		attribute_list_add_str(a, "url.full", full);
	}
	attribute_list_add_str(a, "server.address", host);
	attribute_list_add_int(a, "server.port", port);
	if (server)
		attribute_list_add_str(a, "client.address", peer);
	attribute_list_add_str(a, "network.peer.address", peer);
	attribute_list_add_int(a, "network.peer.port", t->remote_port);
	attribute_list_add_str(a, "network.protocol.name", "http");
	attribute_list_add_str(a, "network.protocol.version", req->protocol_version);
	attribute_list_add_str(a, "network.transport", "tcp");
	attribute_list_add_str(a, "network.type",
			       net_addr_is_v4(t->family, t->remote_addr) ? "ipv4" : "ipv6");
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
