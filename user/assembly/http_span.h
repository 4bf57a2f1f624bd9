/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http_span.h - an HTTP span as the stable OpenTelemetry HTTP semantic
 * conventions describe it, the same for HTTP/1.x and HTTP/2: its start, its
 * name and request attributes, its response status code and the status rule,
 * the error it ends with.
 * https://opentelemetry.io/docs/specs/semconv/http/http-spans/
 *
 * Request attributes: http.request.method ("_OTHER" plus
 * http.request.method_original for a method the conventions do not list),
 * url.scheme, url.path, url.query (values redacted unless --capture-query),
 * url.full (CLIENT), server.address and server.port (from Host/:authority,
 * else the connection), client.address (SERVER), network.peer.address and
 * .port, network.protocol.name and .version, network.transport,
 * network.type, user_agent.original. The name is "{method} {route}", with the
 * path's identifiers templated (http_naming.h); "{method}" when the request
 * names no path; {method} is "HTTP" for a method the conventions do not list.
 */
#ifndef KSPAN_HTTP_SPAN_H
#define KSPAN_HTTP_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kspan_abi.h"
#include "assembly/conn_registry.h"
#include "model/span.h"

/* Attributes an HTTP span carries at most (the list above, the status code
 * and error.type). */
#define HTTP_SPAN_ATTRS 18

/*
 * A CLIENT's response whose request event has not been processed yet waits
 * this long for it. Events reach the ring in syscall-exit order: with a
 * reader and a writer thread (Go's net/http, gRPC), the read that brought
 * the response can return, and be reported, before the write() that sent
 * the request has. The writer is late only by the time it waits for a CPU
 * after its bytes left: a scheduler latency (milliseconds), or a CFS
 * bandwidth period (100 ms by default) when its cgroup is throttled. One
 * second covers ten such periods; a response still unclaimed then answers a
 * request kspan never saw (a connection followed mid-way), and waiting
 * longer would only hold it (HTTP/2: a stream of up to MAX_OPEN_STREAMS)
 * and delay counting it. The same for both protocols: the cause is the
 * scheduler, not the protocol.
 */
#define HTTP_EARLY_RESPONSE_WAIT_NS (1000ull * 1000000)

/* Text from a request head: not NUL-terminated; ptr NULL when absent. */
struct http_text {
	const char *ptr;
	size_t len;
};

/* What the protocol's parser found in a request head. */
struct http_request_view {
	struct http_text method;
	struct http_text target;      /* request-target or :path; ptr NULL: none named */
	struct http_text scheme;      /* :scheme; empty: "http" (below) */
	struct http_text authority;   /* Host or :authority */
	struct http_text user_agent;  /* User-Agent */
	const char *protocol_version; /* "1.0", "1.1", "2" */
	/* The span is sampled out: only what request metrics need (the name,
	 * http.request.method, url.scheme, server.address and server.port,
	 * network.protocol.version); nothing else is built. */
	bool metrics_only;
};

/* A new span of `kind` for a request that began at start_unix_ns, handled by
 * thread tid of the process whose resource is `resource` (a reference is
 * taken), with room for HTTP_SPAN_ATTRS + extra_attrs attributes. NULL when
 * out of memory. */
struct span *http_span_new(enum span_kind kind, uint32_t tid, struct resource *resource,
			   uint64_t start_unix_ns, size_t extra_attrs);

/* The span's name and request attributes; s->kind says which end the
 * process was. strings: the connection's (conn_registry.h), formatted when
 * it was opened; NULL: formatted from tuple now. */
void http_span_add_request(struct span *s, const struct http_request_view *req,
			   const struct kspan_conn_tuple *tuple, const struct conn_strings *strings,
			   bool capture_query);

/* Whether the conventions list this method (RFC 9110 section 9, and PATCH,
 * RFC 5789); case-sensitive. */
bool http_method_is_known(const char *method, size_t len);

/* The final response's status code (0: none known, nothing is added). With
 * status_decides, the span's status follows the conventions: 5xx is an error
 * of a SERVER span, every 4xx and 5xx of a CLIENT span (error.type: the code).
 * A gRPC call passes false: its outcome is its grpc-status. */
void http_span_add_response_status(struct span *s, int status, bool status_decides);

/* The span ends in error: status ERROR, error.type, and the status message
 * when not NULL. */
void http_span_fail(struct span *s, const char *error_type, const char *message);

#endif /* KSPAN_HTTP_SPAN_H */
