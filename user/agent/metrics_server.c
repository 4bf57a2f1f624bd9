// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* metrics_server.c - GET /metrics in the Prometheus text format, and the
 * health paths /healthz and /readyz (health.h says what each checks). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "model/agent_stats.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "agent/health.h"
#include "agent/metrics_server.h"
#include "metrics/prometheus_text.h"

/* A scraper that sends nothing for this long is disconnected. */
#define REQUEST_TIMEOUT_MS 2000
#define REQUEST_MAX	   4096

/* "host:port" or "[host]:port" into its two parts; false when malformed. */
static bool split_addr(const char *addr, char *host, size_t host_size, const char **port)
{
	const char *colon;
	size_t len;
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		if (!close || close[1] != ':')
			return false;
		len = (size_t)(close - addr - 1);
		addr++;
		colon = close + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return false;
		len = (size_t)(colon - addr);
	}
	if (len >= host_size || !colon[1])
		return false;
	memcpy(host, addr, len);
	host[len] = '\0';
	*port = colon + 1;
	return true;
}

static int listen_on(const char *addr, uint16_t *bound_port)
{
	char host[256];
	const char *port;
	if (!split_addr(addr, host, sizeof(host), &port)) {
		log_warn("--metrics-addr \"%s\" is not host:port", addr);
		return -EINVAL;
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
			*res;
	int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc) {
		log_warn("--metrics-addr \"%s\": %s", addr, gai_strerror(rc));
		return -EINVAL;
	}
	int fd = -1, err = 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			err = -errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 16) == 0) {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			getsockname(fd, (struct sockaddr *)&ss, &sl);
			*bound_port =
			    ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							   : ((struct sockaddr_in *)&ss)->sin_port);
			err = 0;
			break;
		}
		err = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		log_warn("metrics: cannot listen on %s: %s (metrics are not served)", addr,
			 strerror(-err));
		return err ? err : -EADDRNOTAVAIL;
	}
	return fd;
}

static void write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

/* Read the request head (up to the blank line) or give up after the timeout. */
static bool read_request(int fd, char *buf, size_t size)
{
	size_t len = 0;
	while (len + 1 < size) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, REQUEST_TIMEOUT_MS) <= 0)
			return false;
		ssize_t n = recv(fd, buf + len, size - 1 - len, 0);
		if (n <= 0)
			return false;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			return true;
	}
	return false;
}

/* Does the request target start with path, followed by a query or the end? */
static bool path_is(const char *target, const char *path)
{
	size_t n = strlen(path);
	return strncmp(target, path, n) == 0 && (target[n] == ' ' || target[n] == '?');
}

/* 200 "live: ..." / 503 "not live: ...", one line of text; HEAD: no body. */
static void serve_health(struct metrics_server *m, int fd, bool ready, bool head)
{
	char why[HEALTH_PROBLEM_MAX + 96], hdr[160];
	uint64_t now = clock_mono_ns();
	bool ok = ready ? health_ready(m->health, now, why, sizeof(why))
			: health_live(m->health, now, why, sizeof(why));
	size_t len = strlen(why);

	if (len + 1 < sizeof(why))
		why[len++] = '\n';
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.0 %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
			 "Content-Length: %zu\r\nCache-Control: no-store\r\nConnection: "
			 "close\r\n\r\n",
			 ok ? "200 OK" : "503 Service Unavailable", len);
	write_all(fd, hdr, (size_t)n);
	if (!head)
		write_all(fd, why, len);
}

/* Prometheus asks for OpenMetrics in its Accept header (first, with a q
 * value) when exemplars are enabled; any mention of it is taken as a yes. */
static bool wants_openmetrics(const char *req)
{
	const char *h = strcasestr(req, "\naccept:");
	const char *eol = h ? strchr(h + 1, '\n') : NULL;
	const char *om = h ? strstr(h, "application/openmetrics-text") : NULL;
	return om && (!eol || om < eol);
}

static void write_span_metrics(struct metrics_server *m, FILE *f, bool openmetrics)
{
	struct metric_store *store = __atomic_load_n(&m->store, __ATOMIC_ACQUIRE);
	struct metric_snapshot snap;
	struct timespec ts;

	if (!store || clock_gettime(CLOCK_REALTIME, &ts))
		return;
	if (metric_store_collect(store, false,
				 (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec, &snap))
		return;
	prometheus_write_metrics(&snap, f, openmetrics);
	metric_snapshot_free(&snap);
}

void metrics_server_set_store(struct metrics_server *m, struct metric_store *store)
{
	__atomic_store_n(&m->store, store, __ATOMIC_RELEASE);
}

static void serve(struct metrics_server *m, int fd)
{
	char req[REQUEST_MAX];
	if (!read_request(fd, req, sizeof(req)))
		return;
	bool head = strncmp(req, "HEAD ", 5) == 0;
	const char *path = head ? req + 5 : strncmp(req, "GET ", 4) == 0 ? req + 4 : NULL;
	static const char not_found[] =
	    "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 10\r\nConnection: close\r\n\r\nnot found\n";
	if (path && m->health && (path_is(path, "/healthz") || path_is(path, "/readyz"))) {
		serve_health(m, fd, path_is(path, "/readyz"), head);
		return;
	}
	if (!path || !path_is(path, "/metrics")) {
		write_all(fd, not_found, sizeof(not_found) - 1);
		return;
	}
	char *body = NULL;
	size_t body_len = 0;
	bool openmetrics = wants_openmetrics(req);
	FILE *f = open_memstream(&body, &body_len);
	if (!f)
		return;
	write_span_metrics(m, f, openmetrics);
	agent_stats_write_metrics_text(m->stats, f, openmetrics);
	if (openmetrics)
		fputs("# EOF\n", f);
	if (fclose(f) != 0) {
		free(body);
		return;
	}
	char hdr[256];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.0 200 OK\r\nContent-Type: %s; "
			 "charset=utf-8\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
			 openmetrics ? "application/openmetrics-text; version=1.0.0"
				     : "text/plain; version=0.0.4",
			 body_len);
	write_all(fd, hdr, (size_t)n);
	if (!head)
		write_all(fd, body, body_len);
	free(body);
}

static void *metrics_main(void *arg)
{
	struct metrics_server *m = arg;
	for (;;) {
		struct pollfd p[2] = {{.fd = m->listen_fd, .events = POLLIN},
				      {.fd = m->stop_pipe[0], .events = POLLIN}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		serve(m, fd);
		close(fd);
	}
	return NULL;
}

int metrics_server_start(struct metrics_server *m, const char *addr,
			 const struct agent_stats *stats, struct agent_health *health)
{
	memset(m, 0, sizeof(*m));
	m->listen_fd = m->stop_pipe[0] = m->stop_pipe[1] = -1;
	m->stats = stats;
	m->health = health;
	int fd = listen_on(addr, &m->port);
	if (fd < 0)
		return fd;
	m->listen_fd = fd;
	if (pipe2(m->stop_pipe, O_CLOEXEC)) {
		int err = -errno;
		metrics_server_stop(m);
		return err;
	}
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int err = pthread_create(&m->thread, NULL, metrics_main, m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		metrics_server_stop(m);
		return -err;
	}
	pthread_setname_np(m->thread, "kspan-metrics");
	m->running = true;
	return 0;
}

void metrics_server_stop(struct metrics_server *m)
{
	/* A zeroed server was never started: it owns no descriptor (0 is stdin). */
	if (!m->stats)
		return;
	if (m->running) {
		(void)!write(m->stop_pipe[1], "x", 1);
		pthread_join(m->thread, NULL);
		m->running = false;
	}
	for (int i = 0; i < 2; i++)
		if (m->stop_pipe[i] >= 0)
			close(m->stop_pipe[i]);
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	m->listen_fd = m->stop_pipe[0] = m->stop_pipe[1] = -1;
	m->stats = NULL;
}
