// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * otlp_transport_grpc.c - OTLP/gRPC (protocol/otlp.md, "OTLP/gRPC"): the
 * unary call TraceService/Export over HTTP/2 (nghttp2) on plain TCP or TLS
 * (OpenSSL, ALPN h2: otlp_grpc_conn.c).
 *
 * One connection, kept between requests and re-opened after any failure. A
 * request is a HEADERS frame and the length-prefixed message (gRPC over
 * HTTP/2, "Length-Prefixed-Message": 1 byte compressed flag, 4 bytes big-endian
 * length); the answer ends with the grpc-status trailer, plus grpc-message and,
 * for throttling, grpc-status-details-bin (a google.rpc.Status carrying
 * RetryInfo). The socket is non-blocking and polled in short steps so that a
 * request ends at its timeout or at the shutdown deadline, whichever is first.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/clock.h"
#include "kspan/grpc_status.pb-c.h"
#include "lib/log.h"
#include "export/otlp/otlp_grpc_conn.h"
#include "export/otlp/otlp_transport.h"
#include "lib/version.h"

#ifndef KSPAN_VERSION
#define KSPAN_VERSION "0.1.0"
#endif

#define TRACES_EXPORT_PATH  "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
#define METRICS_EXPORT_PATH "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
#define RETRY_INFO_TYPE	    "type.googleapis.com/google.rpc.RetryInfo"
#define RESPONSE_KEEP_MAX   (64 * 1024)
#define GRPC_PREFIX_LEN	    5
#define MAX_EXTRA_HEADERS   64
#define READ_CHUNK	    16384
#define STATUS_DETAILS_MAX  8192
#define GRPC_TIMEOUT_MAX_MS 99999999u /* grpc-timeout allows 8 digits */

struct grpc_transport {
	struct otlp_transport base;
	struct grpc_conn conn; /* TCP or TLS, under the HTTP/2 session */
	char *authority, *scheme;
	bool gzip;
	const char *export_path; /* the signal's Export method */
	nghttp2_nv extra[MAX_EXTRA_HEADERS];
	size_t n_extra;
	nghttp2_session *session;

	/* the request in flight */
	int32_t stream_id;
	uint8_t *framed;
	size_t framed_len, framed_off;
	bool closed;
	uint32_t rst_code;
	int http_status;
	int grpc_status; /* -1 until seen */
	char grpc_message[200];
	uint8_t *details;
	size_t details_len;
	uint8_t *response;
	size_t response_len;
};

/* ---- nghttp2 callbacks ---- */

static ssize_t on_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *user)
{
	(void)s, (void)flags;
	struct grpc_transport *g = user;
	ssize_t n = grpc_conn_write(&g->conn, data, len);
	if (n < 0)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	return n ? n : NGHTTP2_ERR_WOULDBLOCK;
}

static ssize_t read_framed(nghttp2_session *s, int32_t stream_id, uint8_t *buf, size_t len,
			   uint32_t *flags, nghttp2_data_source *src, void *user)
{
	struct grpc_transport *g = user;
	(void)s, (void)stream_id, (void)src;
	size_t left = g->framed_len - g->framed_off;
	size_t n = left < len ? left : len;
	memcpy(buf, g->framed + g->framed_off, n);
	g->framed_off += n;
	if (g->framed_off == g->framed_len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

static void keep_bytes(uint8_t **buf, size_t *len, const uint8_t *data, size_t n, size_t max)
{
	if (*len + n > max)
		n = max - *len;
	if (!n)
		return;
	uint8_t *grown = realloc(*buf, *len + n);
	if (!grown)
		return;
	memcpy(grown + *len, data, n);
	*buf = grown;
	*len += n;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
		     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
		     void *user)
{
	struct grpc_transport *g = user;
	(void)s, (void)flags;
	if (frame->hd.type != NGHTTP2_HEADERS || frame->hd.stream_id != g->stream_id)
		return 0;
#define IS(lit) (namelen == sizeof(lit) - 1 && memcmp(name, lit, namelen) == 0)
	if (IS(":status")) {
		g->http_status = atoi((const char *)value);
	} else if (IS("grpc-status")) {
		char num[16];
		size_t n = valuelen < sizeof(num) - 1 ? valuelen : sizeof(num) - 1;
		memcpy(num, value, n);
		num[n] = '\0';
		g->grpc_status = isdigit((unsigned char)num[0]) ? atoi(num) : GRPC_STATUS_UNKNOWN;
	} else if (IS("grpc-message")) {
		/* Percent-encoded (gRPC over HTTP/2); kept as sent, it is only logged. */
		snprintf(g->grpc_message, sizeof(g->grpc_message), "%.*s", (int)valuelen,
			 (const char *)value);
	} else if (IS("grpc-status-details-bin")) {
		free(g->details);
		g->details = NULL;
		g->details_len = 0;
		keep_bytes(&g->details, &g->details_len, value, valuelen, STATUS_DETAILS_MAX);
	}
#undef IS
	return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t stream_id, const uint8_t *data,
		   size_t len, void *user)
{
	struct grpc_transport *g = user;
	(void)s, (void)flags;
	if (stream_id == g->stream_id)
		keep_bytes(&g->response, &g->response_len, data, len, RESPONSE_KEEP_MAX);
	return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t stream_id, uint32_t error_code, void *user)
{
	struct grpc_transport *g = user;
	(void)s;
	if (stream_id == g->stream_id) {
		g->closed = true;
		g->rst_code = error_code;
	}
	return 0;
}

/* ---- connection ---- */

static void disconnect(struct grpc_transport *g)
{
	if (g->session)
		nghttp2_session_del(g->session);
	g->session = NULL;
	grpc_conn_close(&g->conn);
}

static int new_session(struct grpc_transport *g)
{
	nghttp2_session_callbacks *cb;
	if (nghttp2_session_callbacks_new(&cb))
		return -ENOMEM;
	nghttp2_session_callbacks_set_send_callback(cb, on_send);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	int rc = nghttp2_session_client_new(&g->session, cb, g);
	nghttp2_session_callbacks_del(cb);
	if (rc)
		return -ENOMEM;
	nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
					     {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 16}};
	return nghttp2_submit_settings(g->session, NGHTTP2_FLAG_NONE, settings, 2) ? -ENOMEM : 0;
}

static int ensure_connected(struct grpc_transport *g, uint64_t deadline_ns)
{
	/* After a GOAWAY the session wants nothing more: open a new connection. */
	if (g->session && !g->conn.io_failed && nghttp2_session_want_read(g->session))
		return 0;
	disconnect(g);
	int err = grpc_conn_open(&g->conn, deadline_ns);
	if (!err)
		err = new_session(g);
	if (err)
		disconnect(g);
	return err;
}

/* ---- one request ---- */

static void reset_request(struct grpc_transport *g)
{
	free(g->framed);
	g->framed = NULL;
	g->framed_len = g->framed_off = 0;
	g->closed = false;
	g->rst_code = 0;
	g->http_status = 0;
	g->grpc_status = -1;
	g->grpc_message[0] = '\0';
	free(g->details);
	g->details = NULL;
	g->details_len = 0;
	g->response_len = 0;
}

static int frame_message(struct grpc_transport *g, const uint8_t *body, size_t len)
{
	if (len > UINT32_MAX)
		return -E2BIG;
	g->framed = malloc(len + GRPC_PREFIX_LEN);
	if (!g->framed)
		return -ENOMEM;
	g->framed[0] = g->gzip ? 1 : 0;
	uint32_t be = htonl((uint32_t)len);
	memcpy(g->framed + 1, &be, 4);
	memcpy(g->framed + GRPC_PREFIX_LEN, body, len);
	g->framed_len = len + GRPC_PREFIX_LEN;
	return 0;
}

#define NV(n, v)                                                                                   \
	{                                                                                          \
		(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE     \
	}

static int submit(struct grpc_transport *g, uint32_t timeout_ms)
{
	char timeout[16];
	snprintf(timeout, sizeof(timeout), "%uM",
		 timeout_ms < GRPC_TIMEOUT_MAX_MS ? timeout_ms : GRPC_TIMEOUT_MAX_MS);
	nghttp2_nv nva[8 + MAX_EXTRA_HEADERS] = {
	    NV(":method", "POST"),
	    NV(":scheme", g->scheme),
	    NV(":path", g->export_path),
	    NV(":authority", g->authority),
	    NV("content-type", "application/grpc"),
	    NV("te", "trailers"),
	    NV("grpc-timeout", timeout),
	    NV("user-agent", "kspan/" KSPAN_VERSION),
	};
	size_t n = 8;
	if (g->gzip)
		nva[n++] = (nghttp2_nv)NV("grpc-encoding", "gzip");
	for (size_t i = 0; i < g->n_extra && n < sizeof(nva) / sizeof(nva[0]); i++)
		nva[n++] = g->extra[i];
	nghttp2_data_provider prd = {.read_callback = read_framed};
	g->stream_id = nghttp2_submit_request(g->session, NULL, nva, n, &prd, g);
	return g->stream_id < 0 ? -EIO : 0;
}

/* Drive the session until our stream closed; false on timeout, abort or I/O error. */
static bool run_until_closed(struct grpc_transport *g, uint64_t deadline_ns, bool *timed_out)
{
	uint8_t buf[READ_CHUNK];
	*timed_out = false;
	while (!g->closed) {
		if (nghttp2_session_send(g->session) != 0 || g->conn.io_failed)
			return false;
		if (!nghttp2_session_want_read(g->session) &&
		    !nghttp2_session_want_write(g->session))
			return g->closed;
		short ev = POLLIN | (nghttp2_session_want_write(g->session) ? POLLOUT : 0);
		/* TLS may hold decrypted bytes that poll() cannot see. */
		if (!grpc_conn_pending(&g->conn) && !grpc_conn_wait(&g->conn, ev, deadline_ns)) {
			*timed_out = true;
			return false;
		}
		for (;;) {
			ssize_t n = grpc_conn_read(&g->conn, buf, sizeof(buf));
			if (n < 0)
				return g->closed;
			if (n == 0)
				break;
			if (nghttp2_session_mem_recv(g->session, buf, (size_t)n) < 0) {
				grpc_conn_set_error(&g->conn, "HTTP/2 protocol error", EPROTO);
				return false;
			}
		}
	}
	/* Let the WINDOW_UPDATE/ACK frames out; failures show on the next request. */
	nghttp2_session_send(g->session);
	return true;
}

/* gRPC's mapping of HTTP statuses when no grpc-status came (doc/http-grpc-status-mapping.md). */
static int grpc_status_from_http(int http_status)
{
	switch (http_status) {
	case 400:
		return GRPC_STATUS_INTERNAL;
	case 401:
		return 16; /* UNAUTHENTICATED */
	case 403:
		return 7; /* PERMISSION_DENIED */
	case 404:
		return GRPC_STATUS_UNIMPLEMENTED;
	case 429:
	case 502:
	case 503:
	case 504:
		return GRPC_STATUS_UNAVAILABLE;
	default:
		return GRPC_STATUS_UNKNOWN;
	}
}

/* google.rpc.Status in grpc-status-details-bin: the RetryInfo delay, or -1. */
static int64_t retry_info_ms(const uint8_t *b64, size_t len)
{
	/* Binary headers are base64, padding optional (gRPC over HTTP/2). */
	char padded[STATUS_DETAILS_MAX + 4];
	if (!len || len > STATUS_DETAILS_MAX)
		return -1;
	memcpy(padded, b64, len);
	size_t plen = len;
	while (plen % 4)
		padded[plen++] = '=';
	uint8_t raw[STATUS_DETAILS_MAX];
	int n = EVP_DecodeBlock(raw, (const unsigned char *)padded, (int)plen);
	if (n < 0)
		return -1;
	for (size_t i = plen; i > 0 && padded[i - 1] == '='; i--)
		n--;
	int64_t ms = -1;
	Kspan__Grpc__Status *st = kspan__grpc__status__unpack(NULL, (size_t)(n < 0 ? 0 : n), raw);
	if (!st)
		return -1;
	for (size_t i = 0; i < st->n_details && ms < 0; i++) {
		Kspan__Grpc__Any *any = st->details[i];
		if (!any->type_url || strcmp(any->type_url, RETRY_INFO_TYPE) != 0)
			continue;
		Kspan__Grpc__RetryInfo *ri =
		    kspan__grpc__retry_info__unpack(NULL, any->value.len, any->value.data);
		if (ri && ri->retry_delay && ri->retry_delay->seconds >= 0 &&
		    ri->retry_delay->nanos >= 0)
			ms = ri->retry_delay->seconds * 1000 + ri->retry_delay->nanos / 1000000;
		else if (ri)
			ms = 0;
		kspan__grpc__retry_info__free_unpacked(ri, NULL);
	}
	kspan__grpc__status__free_unpacked(st, NULL);
	return ms;
}

static void fill_result(struct grpc_transport *g, struct export_result *res)
{
	res->kind = EXPORT_RESULT_GRPC;
	if (g->grpc_status >= 0)
		res->status = g->grpc_status;
	else if (g->http_status && g->http_status != 200)
		res->status = grpc_status_from_http(g->http_status);
	else if (g->rst_code == NGHTTP2_REFUSED_STREAM)
		res->status = GRPC_STATUS_UNAVAILABLE; /* never processed: safe to retry */
	else
		res->status = g->rst_code ? GRPC_STATUS_CANCELLED : GRPC_STATUS_INTERNAL;
	if (g->details_len)
		res->retry_after_ms = retry_info_ms(g->details, g->details_len);
	if (res->status == GRPC_STATUS_OK) {
		/* The ExportTraceServiceResponse, when not compressed. */
		if (g->response_len >= GRPC_PREFIX_LEN && g->response[0] == 0) {
			uint32_t be;
			memcpy(&be, g->response + 1, 4);
			if (ntohl(be) <= g->response_len - GRPC_PREFIX_LEN) {
				res->body = g->response + GRPC_PREFIX_LEN;
				res->body_len = ntohl(be);
			}
		}
		return;
	}
	snprintf(res->message, sizeof(res->message), "gRPC status %d%s%s%s", res->status,
		 g->grpc_message[0] ? " (" : "", g->grpc_message, g->grpc_message[0] ? ")" : "");
	if (g->grpc_status < 0 && g->http_status)
		snprintf(res->message + strlen(res->message),
			 sizeof(res->message) - strlen(res->message),
			 ", HTTP %d without grpc-status", g->http_status);
}

static void grpc_send(struct otlp_transport *t, const uint8_t *body, size_t len,
		      uint32_t timeout_ms, struct export_result *res)
{
	struct grpc_transport *g = (struct grpc_transport *)t;
	uint64_t deadline = clock_mono_ns() + (uint64_t)timeout_ms * NS_PER_MS;
	memset(res, 0, sizeof(*res));
	res->retry_after_ms = -1;
	res->kind = EXPORT_RESULT_CONNECTION;
	reset_request(g);
	int err = frame_message(g, body, len);
	if (err) {
		snprintf(res->message, sizeof(res->message), "%s", strerror(-err));
		return;
	}
	err = ensure_connected(g, deadline);
	if (!err)
		err = submit(g, timeout_ms);
	bool timed_out = false;
	if (!err && run_until_closed(g, deadline, &timed_out) && g->closed) {
		fill_result(g, res);
		if (!g->conn.io_failed)
			return;
		/* The answer came, then the connection broke: the answer counts. */
		disconnect(g);
		return;
	}
	/* No answer: whatever state the connection is in, start a new one next time. */
	snprintf(res->message, sizeof(res->message), "%s",
		 timed_out	       ? "deadline exceeded waiting for the collector"
		 : g->conn.io_error[0] ? g->conn.io_error
		 : err		       ? strerror(-err)
				       : "connection closed before the answer");
	disconnect(g);
}

/* ---- setup ---- */

static void grpc_destroy(struct otlp_transport *t)
{
	struct grpc_transport *g = (struct grpc_transport *)t;
	if (!g)
		return;
	disconnect(g);
	reset_request(g);
	free(g->response);
	for (size_t i = 0; i < g->n_extra; i++) {
		free(g->extra[i].name);
		free(g->extra[i].value);
	}
	grpc_conn_free(&g->conn);
	free(g->authority);
	free(g->scheme);
	free(g);
}

/* scheme://host[:port][/...] into its parts; the port defaults per scheme. */
static int parse_endpoint(struct grpc_transport *g, const char *url)
{
	g->conn.tls = strncasecmp(url, "https://", 8) == 0;
	const char *h = strstr(url, "://") + 3;
	size_t hlen = strcspn(h, "/");
	const char *host = h, *port = NULL;
	size_t host_len = hlen;
	if (*h == '[') {
		const char *close = memchr(h, ']', hlen);
		if (!close)
			return -EINVAL;
		host = h + 1;
		host_len = (size_t)(close - h - 1);
		if (close + 1 < h + hlen && close[1] == ':')
			port = close + 2;
	} else {
		const char *colon = memchr(h, ':', hlen);
		if (colon) {
			host_len = (size_t)(colon - h);
			port = colon + 1;
		}
	}
	g->conn.host = strndup(host, host_len);
	g->conn.port =
	    port ? strndup(port, (size_t)(h + hlen - port)) : strdup(g->conn.tls ? "443" : "80");
	g->authority = strndup(h, hlen);
	g->scheme = strdup(g->conn.tls ? "https" : "http");
	if (!g->conn.host || !g->conn.port || !g->authority || !g->scheme)
		return -ENOMEM;
	return *g->conn.host && *g->conn.port ? 0 : -EINVAL;
}

/* HTTP/2 header names must be lowercase (RFC 9113 section 8.2.1). */
static int copy_headers(struct grpc_transport *g, const struct otlp_config *cfg)
{
	for (size_t i = 0; i < cfg->n_headers && g->n_extra < MAX_EXTRA_HEADERS; i++) {
		char *name = strdup(cfg->headers[i].name);
		char *value = strdup(cfg->headers[i].value);
		if (!name || !value) {
			free(name);
			free(value);
			return -ENOMEM;
		}
		for (char *p = name; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		g->extra[g->n_extra++] =
		    (nghttp2_nv){(uint8_t *)name, (uint8_t *)value, strlen(name), strlen(value),
				 NGHTTP2_NV_FLAG_NONE};
	}
	return 0;
}

struct otlp_transport *otlp_transport_grpc_new(const struct otlp_config *cfg,
					       struct otlp_transport_abort abort)
{
	struct grpc_transport *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->base.send = grpc_send;
	g->base.destroy = grpc_destroy;
	g->conn.abort = abort;
	g->conn.fd = -1;
	g->grpc_status = -1;
	g->gzip = cfg->compression == OTLP_COMPRESSION_GZIP;
	g->export_path =
	    cfg->signal == OTLP_SIGNAL_METRICS ? METRICS_EXPORT_PATH : TRACES_EXPORT_PATH;
	int err = parse_endpoint(g, cfg->endpoint);
	if (err)
		log_warn("OTLP/gRPC endpoint \"%s\" has no usable host:port", cfg->endpoint);
	if (!err)
		err = copy_headers(g, cfg);
	if (!err && g->conn.tls)
		err = grpc_conn_tls_setup(&g->conn, cfg);
	if (err) {
		grpc_destroy(&g->base);
		return NULL;
	}
	return &g->base;
}
