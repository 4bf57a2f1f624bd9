/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * metrics_server.h - the agent's counters as Prometheus text on
 * http://ADDR/metrics (--metrics-addr), and its liveness and readiness on
 * /healthz and /readyz (200 or 503, one line of text; agent/health.h), from a
 * small HTTP/1.0 server on its own thread: one connection at a time, each
 * answered and closed.
 */
#ifndef KSPAN_METRICS_SERVER_H
#define KSPAN_METRICS_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct agent_stats;
struct agent_health;
struct metric_store;

struct metrics_server {
	int listen_fd;
	int stop_pipe[2];
	uint16_t port; /* the bound port (useful with port 0) */
	const struct agent_stats *stats;
	struct agent_health *health; /* NULL: no health paths */
	struct metric_store *store;  /* span metrics, set once ready (atomic); NULL: none */
	pthread_t thread;
	bool running;
};

/*
 * Listen on addr ("host:port", "[v6addr]:port"; port 0 picks a free one) and
 * start the thread. Returns 0 or a negative errno after one log line.
 */
int metrics_server_start(struct metrics_server *m, const char *addr,
			 const struct agent_stats *stats, struct agent_health *health);
void metrics_server_stop(struct metrics_server *m);
/* From now on /metrics also serves the span metrics in store (README
 * "Metrics"); OpenMetrics with exemplars when the scraper's Accept asks for
 * application/openmetrics-text. */
void metrics_server_set_store(struct metrics_server *m, struct metric_store *store);

#endif /* KSPAN_METRICS_SERVER_H */
