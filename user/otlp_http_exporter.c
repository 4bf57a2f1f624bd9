// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * otlp_http_exporter.c - batch span processor + OTLP/HTTP protobuf sender.
 *
 * Threads: export_span() runs on the agent's main thread and only appends to
 * the queue under `lock`; the worker thread owns everything below "worker
 * only" in struct otlp_http_exporter and is the only one that talks to the
 * network. One request is: take a batch, encode, compress, POST, count. The
 * encoded body is kept until the POST is over so that a retry loop (not done
 * yet) can wrap otlp_http_post() without touching the rest.
 */
#define ZLIB_CONST
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>

#include "agent_stats.h"
#include "clock.h"
#include "log.h"
#include "otlp_encoder.h"
#include "otlp_http_exporter.h"

/* At most one log line per kind of failure in this interval. */
#define FAILURE_LOG_INTERVAL_NS (10ull * 1000 * 1000 * 1000)
/* A response body beyond this is not kept: an OTLP response is a few bytes. */
#define RESPONSE_KEEP_MAX (64 * 1024)

#define NS_PER_MS 1000000ull

/* ================================= exporter ================================== */

enum failure_kind {
	FAILURE_ENCODE,
	FAILURE_TRANSPORT,
	FAILURE_HTTP,
	FAILURE_PARTIAL,
	FAILURE_KINDS,
};

struct failure_log {
	uint64_t last_ns;
	uint64_t suppressed;
	bool logged;
};

struct response_body {
	uint8_t *data;
	size_t len, cap;
};

struct otlp_http_exporter {
	struct exporter base;
	struct otlp_http_config cfg;
	struct agent_stats *stats;
	uint32_t request_timeout_ms; /* min(cfg.timeout_ms, cfg.export_timeout_ms) */

	pthread_mutex_t lock;
	pthread_cond_t wake;  /* CLOCK_MONOTONIC; see otlp_http_export_span() */
	struct span **queue;  /* ring of cfg.max_queue_size, under lock */
	size_t head, count;   /* under lock */
	bool worker_idle;     /* under lock: the worker sleeps until a span arrives */
	bool stopping;	      /* set under lock; on_progress() reads it atomically */
	uint64_t deadline_ns; /* shutdown deadline, same rules as stopping */
	pthread_t worker;
	bool worker_running; /* main thread only */

	/* worker only */
	struct span **batch;
	CURL *curl;
	struct curl_slist *http_headers;
	struct response_body response;
	char curl_error[CURL_ERROR_SIZE];
	struct failure_log failure_logs[FAILURE_KINDS];
};

/* ---- failure accounting (worker only) ---- */

/* One log line, unless this kind of failure was already logged in the last 10 s. */
static __attribute__((format(printf, 3, 4))) void
log_failure(struct otlp_http_exporter *x, enum failure_kind kind, const char *fmt, ...)
{
	struct failure_log *fl = &x->failure_logs[kind];
	uint64_t now = clock_mono_ns();
	if (fl->logged && now - fl->last_ns < FAILURE_LOG_INTERVAL_NS) {
		fl->suppressed++;
		return;
	}
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (fl->suppressed)
		log_warn("%s (%llu similar failures not logged)", line,
			 (unsigned long long)fl->suppressed);
	else
		log_warn("%s", line);
	fl->logged = true;
	fl->last_ns = now;
	fl->suppressed = 0;
}

static void count_failed_request(struct otlp_http_exporter *x, size_t n_spans)
{
	STAT_INC(x->stats, export_requests_failed);
	STAT_ADD(x->stats, spans_export_failed, n_spans);
}

/* ---- request body ---- */

/* gzip, not zlib, framing: windowBits 15 + 16 (zlib.h, deflateInit2). */
static int gzip_compress(const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len)
{
	if (in_len > UINT32_MAX)
		return -E2BIG;
	z_stream zs = {0};
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return -ENOMEM;
	uLong bound = deflateBound(&zs, (uLong)in_len);
	uint8_t *buf = malloc(bound);
	if (!buf) {
		deflateEnd(&zs);
		return -ENOMEM;
	}
	zs.next_in = in;
	zs.avail_in = (uInt)in_len;
	zs.next_out = buf;
	zs.avail_out = (uInt)bound;
	int rc = deflate(&zs, Z_FINISH);
	*out_len = zs.total_out;
	deflateEnd(&zs);
	if (rc != Z_STREAM_END) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	return 0;
}

/* Encode and, if configured, compress. *body is released with free(). */
static int build_body(struct otlp_http_exporter *x, size_t n, uint8_t **body, size_t *len)
{
	uint8_t *raw;
	size_t raw_len;
	int err = otlp_encode_traces(x->batch, n, &raw, &raw_len);
	if (err)
		return err;
	if (x->cfg.compression != OTLP_COMPRESSION_GZIP) {
		*body = raw;
		*len = raw_len;
		return 0;
	}
	err = gzip_compress(raw, raw_len, body, len);
	otlp_encode_free(raw);
	return err;
}

/* ---- HTTP ---- */

enum post_outcome {
	POST_OK,	 /* 2xx */
	POST_HTTP_ERROR, /* any other status */
	POST_TRANSPORT_ERROR,
};

struct post_result {
	enum post_outcome outcome;
	long http_status;
	CURLcode curl_code;
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

/* Lets a request in flight end at the shutdown deadline instead of its own timeout. */
static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct otlp_http_exporter *x = userdata;
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	if (!__atomic_load_n(&x->stopping, __ATOMIC_ACQUIRE))
		return 0;
	return clock_mono_ns() >= __atomic_load_n(&x->deadline_ns, __ATOMIC_ACQUIRE);
}

static struct curl_slist *build_http_headers(const struct otlp_http_config *cfg)
{
	struct curl_slist *list = NULL, *next;
	/* protocol/otlp.md, OTLP/HTTP Request: binary protobuf is application/x-protobuf. */
	list = curl_slist_append(list, "Content-Type: application/x-protobuf");
	if (list && cfg->compression == OTLP_COMPRESSION_GZIP)
		list = (next = curl_slist_append(list, "Content-Encoding: gzip")) ? next : NULL;
	/* curl would wait up to 1 s for "100 Continue" before sending a large body. */
	if (list)
		list = (next = curl_slist_append(list, "Expect:")) ? next : NULL;
	for (size_t i = 0; list && i < cfg->n_headers; i++) {
		char *line;
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

static int curl_setup(struct otlp_http_exporter *x)
{
	x->curl = curl_easy_init();
	x->http_headers = build_http_headers(&x->cfg);
	if (!x->curl || !x->http_headers)
		return -ENOMEM;
	CURL *c = x->curl;
	CURLcode rc = CURLE_OK;
#define SETOPT(opt, val)                                                                           \
	do {                                                                                       \
		if (rc == CURLE_OK)                                                                \
			rc = curl_easy_setopt(c, opt, val);                                        \
	} while (0)
	SETOPT(CURLOPT_URL, x->cfg.endpoint);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SETOPT(CURLOPT_POST, 1L);
	SETOPT(CURLOPT_HTTPHEADER, x->http_headers);
	SETOPT(CURLOPT_USERAGENT, "kspan/" KSPAN_VERSION);
	/* Timeouts must not raise SIGALRM in a multi-threaded agent. */
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(CURLOPT_ERRORBUFFER, x->curl_error);
	SETOPT(CURLOPT_WRITEFUNCTION, on_response_data);
	SETOPT(CURLOPT_WRITEDATA, &x->response);
	SETOPT(CURLOPT_XFERINFOFUNCTION, on_progress);
	SETOPT(CURLOPT_XFERINFODATA, x);
	SETOPT(CURLOPT_NOPROGRESS, 0L);
#undef SETOPT
	if (rc != CURLE_OK) {
		log_warn("OTLP exporter: libcurl setup failed: %s", curl_easy_strerror(rc));
		return -EINVAL;
	}
	return 0;
}

/*
 * One POST of an already encoded body on the kept-alive connection. Only
 * classifies the outcome; deciding what to do about it (count, log, and later
 * retry) is the caller's.
 */
static void otlp_http_post(struct otlp_http_exporter *x, const uint8_t *body, size_t len,
			   uint32_t timeout_ms, struct post_result *res)
{
	x->response.len = 0;
	x->curl_error[0] = '\0';
	curl_easy_setopt(x->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(x->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(x->curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	res->curl_code = curl_easy_perform(x->curl);
	res->http_status = 0;
	if (res->curl_code != CURLE_OK) {
		res->outcome = POST_TRANSPORT_ERROR;
		return;
	}
	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &res->http_status);
	res->outcome =
	    res->http_status >= 200 && res->http_status < 300 ? POST_OK : POST_HTTP_ERROR;
}

/* protocol/otlp.md, "Partial Success": count the rejected spans, do not retry them. */
static void handle_accepted(struct otlp_http_exporter *x, size_t n)
{
	int64_t rejected = 0;
	char msg[256];
	if (x->response.len &&
	    otlp_decode_export_response(x->response.data, x->response.len, &rejected, msg,
					sizeof(msg)) == 0 &&
	    (rejected > 0 || msg[0])) {
		if (rejected < 0)
			rejected = 0;
		if ((uint64_t)rejected > n)
			rejected = (int64_t)n;
		log_failure(x, FAILURE_PARTIAL,
			    "OTLP collector at %s rejected %lld of %zu spans: %s", x->cfg.endpoint,
			    (long long)rejected, n, msg[0] ? msg : "(no message)");
	}
	STAT_ADD(x->stats, spans_exported, n - (size_t)rejected);
	STAT_ADD(x->stats, spans_export_failed, (size_t)rejected);
}

static void handle_post_result(struct otlp_http_exporter *x, size_t n,
			       const struct post_result *res)
{
	switch (res->outcome) {
	case POST_OK:
		handle_accepted(x, n);
		break;
	case POST_HTTP_ERROR:
		count_failed_request(x, n);
		log_failure(x, FAILURE_HTTP,
			    "OTLP export to %s failed: HTTP %ld (%zu spans dropped)",
			    x->cfg.endpoint, res->http_status, n);
		break;
	case POST_TRANSPORT_ERROR:
		count_failed_request(x, n);
		/* curl's error buffer says more ("Failed to connect to ... port ...")
		 * than its error code's text, which it usually ends with. */
		log_failure(x, FAILURE_TRANSPORT,
			    "OTLP export to %s failed: %s (%zu spans dropped)", x->cfg.endpoint,
			    x->curl_error[0] ? x->curl_error : curl_easy_strerror(res->curl_code),
			    n);
		break;
	}
}

/* Send x->batch[0..n) and release those spans, whatever happens. */
static void export_batch(struct otlp_http_exporter *x, size_t n, uint32_t timeout_ms)
{
	uint8_t *body = NULL;
	size_t len = 0;
	int err = build_body(x, n, &body, &len);
	/* The body holds all it needs; the spans can go before the network wait. */
	for (size_t i = 0; i < n; i++) {
		span_unref(x->batch[i]);
		x->batch[i] = NULL;
	}
	if (err) {
		count_failed_request(x, n);
		log_failure(x, FAILURE_ENCODE, "OTLP export to %s failed: encoding %zu spans: %s",
			    x->cfg.endpoint, n, strerror(-err));
		return;
	}
	struct post_result res;
	otlp_http_post(x, body, len, timeout_ms, &res);
	free(body);
	handle_post_result(x, n, &res);
}

/* ---- queue and worker ---- */

/* Move up to one batch from the queue to x->batch. Call with lock held. */
static size_t take_batch(struct otlp_http_exporter *x)
{
	size_t n =
	    x->count < x->cfg.max_export_batch_size ? x->count : x->cfg.max_export_batch_size;
	for (size_t i = 0; i < n; i++) {
		x->batch[i] = x->queue[x->head];
		x->head = (x->head + 1) % x->cfg.max_queue_size;
	}
	x->count -= n;
	return n;
}

static void wait_until(struct otlp_http_exporter *x, uint64_t deadline_ns)
{
	struct timespec ts = {
	    .tv_sec = (time_t)(deadline_ns / 1000000000ull),
	    .tv_nsec = (long)(deadline_ns % 1000000000ull),
	};
	pthread_cond_timedwait(&x->wake, &x->lock, &ts);
}

/* Export what is left until the queue is empty or the deadline passed. Lock held. */
static void drain(struct otlp_http_exporter *x)
{
	uint64_t now;
	while (x->count && (now = clock_mono_ns()) < x->deadline_ns) {
		uint64_t left_ms = (x->deadline_ns - now + NS_PER_MS - 1) / NS_PER_MS;
		uint32_t timeout = x->request_timeout_ms;
		if (left_ms < timeout)
			timeout = (uint32_t)left_ms;
		size_t n = take_batch(x);
		pthread_mutex_unlock(&x->lock);
		export_batch(x, n, timeout);
		pthread_mutex_lock(&x->lock);
	}
	size_t unsent = x->count;
	while (x->count) {
		span_unref(x->queue[x->head]);
		x->head = (x->head + 1) % x->cfg.max_queue_size;
		x->count--;
	}
	if (unsent) {
		STAT_ADD(x->stats, spans_export_failed, unsent);
		log_warn("OTLP exporter stopped with %zu spans not sent to %s: shutdown deadline "
			 "passed",
			 unsent, x->cfg.endpoint);
	}
}

/*
 * trace/sdk.md, Batching processor: export when a full batch is queued or
 * scheduledDelayMillis after the previous export, whichever comes first.
 */
static void *worker_main(void *arg)
{
	struct otlp_http_exporter *x = arg;
	uint64_t delay_ns = x->cfg.schedule_delay_ms * NS_PER_MS;
	uint64_t next_export = clock_mono_ns() + delay_ns;

	pthread_mutex_lock(&x->lock);
	while (!x->stopping) {
		if (!x->count) {
			/* No timer while nothing is queued: an idle node costs no wakeups. */
			x->worker_idle = true;
			pthread_cond_wait(&x->wake, &x->lock);
			x->worker_idle = false;
			/* So the first span into an empty queue waits at most one delay. */
			next_export = clock_mono_ns() + delay_ns;
			continue;
		}
		if (x->count < x->cfg.max_export_batch_size && clock_mono_ns() < next_export) {
			wait_until(x, next_export);
			continue;
		}
		size_t n = take_batch(x);
		pthread_mutex_unlock(&x->lock);
		export_batch(x, n, x->request_timeout_ms);
		next_export = clock_mono_ns() + delay_ns;
		pthread_mutex_lock(&x->lock);
	}
	drain(x);
	pthread_mutex_unlock(&x->lock);
	return NULL;
}

/* ---- exporter interface ---- */

static int otlp_http_export_span(struct exporter *e, struct span *s)
{
	struct otlp_http_exporter *x = e->state;
	pthread_mutex_lock(&x->lock);
	if (x->stopping || x->count == x->cfg.max_queue_size) {
		pthread_mutex_unlock(&x->lock);
		STAT_INC(x->stats, spans_export_dropped_queue);
		return -ENOBUFS;
	}
	size_t tail = (x->head + x->count) % x->cfg.max_queue_size;
	x->queue[tail] = span_ref(s);
	x->count++;
	/* Wake the worker only when that changes what it waits for: a first span
	 * starts its timer, a full batch goes out at once. */
	if ((x->count == 1 && x->worker_idle) || x->count == x->cfg.max_export_batch_size)
		pthread_cond_signal(&x->wake);
	pthread_mutex_unlock(&x->lock);
	return 0;
}

static void otlp_http_tick(struct exporter *e, uint64_t now_mono_ns_unused)
{
	/* The worker keeps its own schedule. */
	(void)e, (void)now_mono_ns_unused;
}

static void otlp_http_shutdown(struct exporter *e, uint64_t deadline_mono_ns)
{
	struct otlp_http_exporter *x = e->state;
	pthread_mutex_lock(&x->lock);
	if (!x->stopping) {
		__atomic_store_n(&x->deadline_ns, deadline_mono_ns, __ATOMIC_RELEASE);
		__atomic_store_n(&x->stopping, true, __ATOMIC_RELEASE);
		pthread_cond_signal(&x->wake);
	}
	pthread_mutex_unlock(&x->lock);
	if (x->worker_running) {
		pthread_join(x->worker, NULL);
		x->worker_running = false;
	}
}

static void otlp_http_destroy(struct exporter *e)
{
	if (!e)
		return;
	struct otlp_http_exporter *x = e->state;
	/* Not shut down yet: stop now, what is queued is counted as failed. */
	otlp_http_shutdown(e, clock_mono_ns());
	/* Left only when the worker never started, so drain() did not run. */
	while (x->count) {
		span_unref(x->queue[x->head]);
		x->head = (x->head + 1) % x->cfg.max_queue_size;
		x->count--;
	}
	if (x->curl)
		curl_easy_cleanup(x->curl);
	curl_slist_free_all(x->http_headers);
	free(x->response.data);
	free(x->batch);
	free(x->queue);
	pthread_cond_destroy(&x->wake);
	pthread_mutex_destroy(&x->lock);
	otlp_http_config_free(&x->cfg);
	curl_global_cleanup();
	free(x);
}

static int start_worker(struct otlp_http_exporter *x)
{
	/* Signals are for the main thread (its loop handles SIGINT/SIGTERM): the
	 * worker inherits a mask that blocks them all. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int err = pthread_create(&x->worker, NULL, worker_main, x);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return -err;
	pthread_setname_np(x->worker, "kspan-otlp");
	x->worker_running = true;
	return 0;
}

static int init_sync(struct otlp_http_exporter *x)
{
	pthread_condattr_t attr;
	if (pthread_mutex_init(&x->lock, NULL))
		return -ENOMEM;
	if (pthread_condattr_init(&attr)) {
		pthread_mutex_destroy(&x->lock);
		return -ENOMEM;
	}
	int err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (!err)
		err = pthread_cond_init(&x->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (err) {
		pthread_mutex_destroy(&x->lock);
		return -err;
	}
	return 0;
}

struct exporter *otlp_http_exporter_new(const struct otlp_http_config *cfg,
					struct agent_stats *stats)
{
	if (!cfg || !cfg->endpoint || !stats || !cfg->max_queue_size ||
	    !cfg->max_export_batch_size || cfg->max_export_batch_size > cfg->max_queue_size) {
		log_warn("OTLP exporter: invalid configuration");
		return NULL;
	}
	/* Reference counted by libcurl; balanced in destroy. */
	CURLcode crc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (crc != CURLE_OK) {
		log_warn("OTLP exporter: libcurl initialisation failed: %s",
			 curl_easy_strerror(crc));
		return NULL;
	}
	struct otlp_http_exporter *x = calloc(1, sizeof(*x));
	if (!x || init_sync(x)) {
		free(x);
		curl_global_cleanup();
		log_warn("OTLP exporter: out of memory");
		return NULL;
	}
	x->base = (struct exporter){
	    .name = "otlp-http",
	    .export_span = otlp_http_export_span,
	    .tick = otlp_http_tick,
	    .shutdown = otlp_http_shutdown,
	    .destroy = otlp_http_destroy,
	    .state = x,
	};
	x->stats = stats;
	int err = otlp_http_config_copy(&x->cfg, cfg);
	if (!err) {
		x->request_timeout_ms = x->cfg.timeout_ms < x->cfg.export_timeout_ms
					    ? x->cfg.timeout_ms
					    : x->cfg.export_timeout_ms;
		x->queue = calloc(x->cfg.max_queue_size, sizeof(*x->queue));
		x->batch = calloc(x->cfg.max_export_batch_size, sizeof(*x->batch));
		err = x->queue && x->batch ? 0 : -ENOMEM;
	}
	if (!err)
		err = curl_setup(x);
	if (!err)
		err = start_worker(x);
	if (err) {
		log_warn("OTLP exporter for %s could not start: %s",
			 x->cfg.endpoint ? x->cfg.endpoint : cfg->endpoint, strerror(-err));
		otlp_http_destroy(&x->base);
		return NULL;
	}
	return &x->base;
}
