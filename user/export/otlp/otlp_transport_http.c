// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * otlp_transport_http.c - OTLP/HTTP (protocol/otlp.md, "OTLP/HTTP"): one POST
 * per request with libcurl on a kept-alive connection, http or https.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/log.h"
#include "export/otlp/otlp_transport.h"
#include "lib/version.h"

#ifndef KSPAN_VERSION
#define KSPAN_VERSION "0.1.0"
#endif

/* How often a request in flight checks whether it must end (shutdown). */
#define ABORT_POLL_MS 100

/* One send() per request body up to this size (libcurl's maximum is 2 MB). */
#define UPLOAD_BUFFER_BYTES (512L * 1024)

/* A response body beyond this is not kept: an OTLP response is a few bytes. */
#define RESPONSE_KEEP_MAX (64 * 1024)

struct response_body {
	uint8_t *data;
	size_t len, cap;
};

struct http_transport {
	struct otlp_transport base;
	struct otlp_transport_abort abort;
	CURLM *multi; /* drives curl so that an abort is seen within ABORT_POLL_MS */
	CURL *curl;
	struct curl_slist *headers;
	struct response_body response;
	int64_t retry_after_ms; /* of the response being read */
	char curl_error[CURL_ERROR_SIZE];
};

static size_t on_response_data(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct response_body *r = userdata;
	size_t n = size * nmemb;
	size_t keep = n;
	if (r->len + keep > RESPONSE_KEEP_MAX)
		keep = RESPONSE_KEEP_MAX - r->len;
	if (keep && r->len + keep > r->cap) {
		size_t cap = r->cap ? r->cap : 256;
		while (cap < r->len + keep)
			cap *= 2;
		uint8_t *grown = realloc(r->data, cap);
		if (!grown)
			return n; /* the body is optional; the status code still counts */
		r->data = grown;
		r->cap = cap;
	}
	if (keep) {
		memcpy(r->data + r->len, data, keep);
		r->len += keep;
	}
	return n;
}

/* Every header line of the response; only Retry-After matters. */
static size_t on_header(char *line, size_t size, size_t nitems, void *userdata)
{
	struct http_transport *h = userdata;
	size_t n = size * nitems;
	static const char name[] = "retry-after:";
	/* A new status line (after 100 Continue, or a new response) starts over. */
	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0)
		h->retry_after_ms = -1;
	else if (n > sizeof(name) - 1 && strncasecmp(line, name, sizeof(name) - 1) == 0)
		h->retry_after_ms = export_retry_after_parse_ms(line + sizeof(name) - 1,
								n - (sizeof(name) - 1), time(NULL));
	return n;
}

static bool must_abort(struct http_transport *h)
{
	return h->abort.should_abort && h->abort.should_abort(h->abort.ctx);
}

/*
 * curl_easy_perform() with a check for abort between short waits: libcurl's
 * own progress callback is not called while a stalled server sends nothing.
 */
static CURLcode perform(struct http_transport *h)
{
	if (curl_multi_add_handle(h->multi, h->curl) != CURLM_OK)
		return CURLE_OUT_OF_MEMORY;
	CURLcode rc = CURLE_ABORTED_BY_CALLBACK;
	for (;;) {
		int running = 0;
		if (curl_multi_perform(h->multi, &running) != CURLM_OK) {
			rc = CURLE_RECV_ERROR;
			break;
		}
		if (!running) {
			int left;
			CURLMsg *m;
			while ((m = curl_multi_info_read(h->multi, &left)))
				if (m->msg == CURLMSG_DONE && m->easy_handle == h->curl)
					rc = m->data.result;
			break;
		}
		if (must_abort(h))
			break;
		curl_multi_poll(h->multi, NULL, 0, ABORT_POLL_MS, NULL);
	}
	curl_multi_remove_handle(h->multi, h->curl);
	return rc;
}

static struct curl_slist *build_headers(const struct otlp_config *cfg, const char *content_type)
{
	struct curl_slist *list = NULL, *next;
	char *line;
	/* protocol/otlp.md, OTLP/HTTP Request: the body's encoding is its Content-Type. */
	if (asprintf(&line, "Content-Type: %s", content_type) < 0)
		return NULL;
	list = curl_slist_append(list, line);
	free(line);
	if (list && cfg->compression == OTLP_COMPRESSION_GZIP)
		list = (next = curl_slist_append(list, "Content-Encoding: gzip")) ? next : NULL;
	/* curl would wait up to 1 s for "100 Continue" before sending a large body. */
	if (list)
		list = (next = curl_slist_append(list, "Expect:")) ? next : NULL;
	for (size_t i = 0; list && i < cfg->n_headers; i++) {
		/* "Name;" is how curl is told to send a header with an empty value. */
		int len = cfg->headers[i].value[0] ? asprintf(&line, "%s: %s", cfg->headers[i].name,
							      cfg->headers[i].value)
						   : asprintf(&line, "%s;", cfg->headers[i].name);
		if (len < 0)
			next = NULL;
		else
			next = curl_slist_append(list, line);
		if (len >= 0)
			free(line);
		if (!next) {
			curl_slist_free_all(list);
			return NULL;
		}
		list = next;
	}
	return list;
}

static int curl_setup(struct http_transport *h, const struct otlp_config *cfg)
{
	CURL *c = h->curl;
	CURLcode rc = CURLE_OK;
#define SETOPT(opt, val)                                                                           \
	do {                                                                                       \
		if (rc == CURLE_OK)                                                                \
			rc = curl_easy_setopt(c, opt, val);                                        \
	} while (0)
	SETOPT(CURLOPT_URL, cfg->endpoint);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SETOPT(CURLOPT_POST, 1L);
	/* libcurl sends a body over 64 KB through its upload buffer (64 KB by
	 * default), one send() per buffer: a batch (~230 KB for 512 nginx
	 * spans) then costs four sends, each a wake-up of the receiver. */
	SETOPT(CURLOPT_UPLOAD_BUFFERSIZE, UPLOAD_BUFFER_BYTES);
	SETOPT(CURLOPT_HTTPHEADER, h->headers);
	SETOPT(CURLOPT_USERAGENT, "kspan/" KSPAN_VERSION);
	/* Timeouts must not raise SIGALRM in a multi-threaded agent. */
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(CURLOPT_ERRORBUFFER, h->curl_error);
	SETOPT(CURLOPT_WRITEFUNCTION, on_response_data);
	SETOPT(CURLOPT_WRITEDATA, &h->response);
	SETOPT(CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(CURLOPT_HEADERDATA, h);
	/* OTEL_EXPORTER_OTLP_CERTIFICATE & co: verification stays on. */
	if (cfg->certificate)
		SETOPT(CURLOPT_CAINFO, cfg->certificate);
	if (cfg->client_certificate)
		SETOPT(CURLOPT_SSLCERT, cfg->client_certificate);
	if (cfg->client_key)
		SETOPT(CURLOPT_SSLKEY, cfg->client_key);
#undef SETOPT
	if (rc != CURLE_OK) {
		log_warn("OTLP exporter: libcurl setup failed: %s", curl_easy_strerror(rc));
		return -EINVAL;
	}
	return 0;
}

/* Up to the first line of a (text) error body, for the log. */
static void describe_http_error(struct http_transport *h, struct export_result *res)
{
	size_t n = 0;
	while (n < h->response.len && n < 160 && h->response.data[n] >= 0x20 &&
	       h->response.data[n] < 0x7f)
		n++;
	snprintf(res->message, sizeof(res->message), "HTTP %d%s%.*s", res->status, n ? ": " : "",
		 (int)n, n ? (const char *)h->response.data : "");
}

static void http_send(struct otlp_transport *t, const uint8_t *body, size_t len,
		      uint32_t timeout_ms, struct export_result *res)
{
	struct http_transport *h = (struct http_transport *)t;
	h->response.len = 0;
	h->curl_error[0] = '\0';
	h->retry_after_ms = -1;
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	CURLcode rc = perform(h);
	memset(res, 0, sizeof(*res));
	res->retry_after_ms = -1;
	if (rc != CURLE_OK) {
		res->kind = EXPORT_RESULT_CONNECTION;
		/* curl's error buffer says more ("Failed to connect to ... port ...")
		 * than its error code's text. */
		snprintf(res->message, sizeof(res->message), "%s",
			 h->curl_error[0] ? h->curl_error : curl_easy_strerror(rc));
		return;
	}
	long status = 0;
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
	res->kind = EXPORT_RESULT_HTTP;
	res->status = (int)status;
	res->retry_after_ms = h->retry_after_ms;
	res->body = h->response.data;
	res->body_len = h->response.len;
	if (status < 200 || status >= 300)
		describe_http_error(h, res);
}

static void http_destroy(struct otlp_transport *t)
{
	struct http_transport *h = (struct http_transport *)t;
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	if (h->multi)
		curl_multi_cleanup(h->multi);
	curl_slist_free_all(h->headers);
	free(h->response.data);
	free(h);
	curl_global_cleanup();
}

struct otlp_transport *otlp_transport_http_new(const struct otlp_config *cfg,
					       const char *content_type,
					       struct otlp_transport_abort abort)
{
	/* Reference counted by libcurl; balanced in destroy. */
	CURLcode crc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (crc != CURLE_OK) {
		log_warn("OTLP exporter: libcurl initialisation failed: %s",
			 curl_easy_strerror(crc));
		return NULL;
	}
	struct http_transport *h = calloc(1, sizeof(*h));
	if (!h) {
		curl_global_cleanup();
		return NULL;
	}
	h->base.send = http_send;
	h->base.destroy = http_destroy;
	h->abort = abort;
	h->multi = curl_multi_init();
	h->curl = curl_easy_init();
	h->headers = build_headers(cfg, content_type);
	if (!h->multi || !h->curl || !h->headers || curl_setup(h, cfg)) {
		http_destroy(&h->base);
		return NULL;
	}
	return &h->base;
}
