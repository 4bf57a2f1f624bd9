/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * otlp_test_server.h - a one-thread HTTP server on 127.0.0.1 that plays the
 * OTLP/HTTP collector for the exporter's unit tests: it keeps the requests it
 * gets and answers each with the status (and headers) a test set. Include
 * after <cmocka.h>.
 */
#ifndef KSPAN_TEST_OTLP_TEST_SERVER_H
#define KSPAN_TEST_OTLP_TEST_SERVER_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define SERVER_MAX_REQUESTS 4
/* Only so that a broken exporter fails the test instead of hanging it. */
#define SERVER_IO_TIMEOUT_S 20

struct captured_request {
	char *head; /* request line and headers */
	uint8_t *body;
	size_t body_len;
	uint64_t received_ns; /* CLOCK_MONOTONIC */
};

struct test_server {
	int listen_fd;
	uint16_t port;
	int status;
	int statuses[SERVER_MAX_REQUESTS]; /* per request when set, else status */
	const char *extra_header;	   /* e.g. "Retry-After: 1\r\n" on non-2xx */
	const uint8_t *response_body;
	size_t response_len;
	size_t expect_requests;
	bool hold_first_response; /* until release_first() */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t n_requests; /* under lock */
	struct captured_request requests[SERVER_MAX_REQUESTS];
};

static inline void set_io_timeout(int fd)
{
	struct timeval tv = {.tv_sec = SERVER_IO_TIMEOUT_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static inline int listen_loopback(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in addr = {.sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(fd, 4), 0);
	socklen_t alen = sizeof(addr);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &alen), 0);
	*port = ntohs(addr.sin_port);
	return fd;
}

/* Index just past "\r\n\r\n" in buf, or 0. */
static inline size_t head_end(const uint8_t *buf, size_t len)
{
	for (size_t i = 3; i < len; i++)
		if (memcmp(buf + i - 3, "\r\n\r\n", 4) == 0)
			return i + 1;
	return 0;
}

/*
 * Read one request from a connection. Returns false when the peer closed it
 * instead (curl may open a new connection). Runs on the server thread, where
 * cmocka assertions cannot be used: the test thread checks what was captured.
 */
static inline bool read_request(int fd, struct captured_request *out)
{
	size_t cap = 4096, len = 0, head_len = 0, body_len = 0;
	uint8_t *buf = malloc(cap);
	for (;;) {
		if (!head_len && (head_len = head_end(buf, len))) {
			out->head = strndup((char *)buf, head_len);
			const char *cl = strcasestr(out->head, "\r\nContent-Length:");
			if (cl)
				body_len = strtoul(cl + strlen("\r\nContent-Length:"), NULL, 10);
		}
		if (head_len && len >= head_len + body_len)
			break;
		if (len == cap)
			buf = realloc(buf, cap *= 2);
		ssize_t n = read(fd, buf + len, cap - len);
		if (n <= 0) {
			free(out->head);
			out->head = NULL;
			free(buf);
			return false;
		}
		len += (size_t)n;
	}
	out->body = malloc(body_len ? body_len : 1);
	memcpy(out->body, buf + head_len, body_len);
	out->body_len = body_len;
	free(buf);
	return true;
}

static inline void send_response(struct test_server *srv, int fd, size_t nth)
{
	char head[256];
	int status = srv->statuses[nth] ? srv->statuses[nth] : srv->status;
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: application/x-protobuf\r\n"
			 "%sContent-Length: %zu\r\n\r\n",
			 status, status == 200 ? "OK" : "Error",
			 status != 200 && srv->extra_header ? srv->extra_header : "",
			 srv->response_len);
	/* A short write shows up as a failed export in the test's counters. */
	if (write(fd, head, (size_t)n) == n && srv->response_len)
		(void)!write(fd, srv->response_body, srv->response_len);
}

static inline void *server_main(void *arg)
{
	struct test_server *srv = arg;
	int conn = -1;
	size_t served = 0;
	while (served < srv->expect_requests) {
		if (conn < 0) {
			conn = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (conn < 0)
				break; /* timed out: the test's assertions will say what is missing
					*/
			set_io_timeout(conn);
		}
		struct captured_request req = {0};
		if (!read_request(conn, &req)) {
			close(conn);
			conn = -1;
			continue;
		}
		req.received_ns = clock_mono_ns();
		pthread_mutex_lock(&srv->lock);
		srv->requests[srv->n_requests++] = req;
		pthread_cond_broadcast(&srv->cond);
		while (served == 0 && srv->hold_first_response)
			pthread_cond_wait(&srv->cond, &srv->lock);
		pthread_mutex_unlock(&srv->lock);
		send_response(srv, conn, served);
		served++;
	}
	if (conn >= 0)
		close(conn);
	return NULL;
}

static inline void server_start(struct test_server *srv, int status, size_t expect_requests)
{
	memset(srv, 0, sizeof(*srv));
	srv->status = status;
	srv->expect_requests = expect_requests;
	srv->listen_fd = listen_loopback(&srv->port);
	set_io_timeout(srv->listen_fd);
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->cond, NULL);
}

static inline void server_run(struct test_server *srv)
{
	assert_int_equal(pthread_create(&srv->thread, NULL, server_main, srv), 0);
}

static inline void server_wait_requests(struct test_server *srv, size_t n)
{
	pthread_mutex_lock(&srv->lock);
	while (srv->n_requests < n)
		pthread_cond_wait(&srv->cond, &srv->lock);
	pthread_mutex_unlock(&srv->lock);
}

static inline void server_release_first(struct test_server *srv)
{
	pthread_mutex_lock(&srv->lock);
	srv->hold_first_response = false;
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
}

/* Wait for the server thread to serve what it expected, then close it. */
static inline void server_stop(struct test_server *srv)
{
	pthread_join(srv->thread, NULL);
	close(srv->listen_fd);
}

/* Release the captured requests once the test has looked at them. */
static inline void server_free(struct test_server *srv)
{
	for (size_t i = 0; i < srv->n_requests; i++) {
		free(srv->requests[i].head);
		free(srv->requests[i].body);
	}
	pthread_cond_destroy(&srv->cond);
	pthread_mutex_destroy(&srv->lock);
}

#endif /* KSPAN_TEST_OTLP_TEST_SERVER_H */
