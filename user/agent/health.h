/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * health.h - what GET /healthz (liveness) and GET /readyz (readiness) answer.
 *
 * The main thread writes: its phase, whether the probes are attached, the
 * time its loop last ran (one relaxed atomic store per iteration: the loop
 * is also the ring-buffer reader, it polls at least every 100 ms) and, once
 * a second, what its exporters report. The metrics server's thread reads
 * and judges with health_live() and health_ready(), at the time of the
 * request, so a main loop that stopped is seen as stopped.
 *
 * Live: starting (for at most HEALTH_STARTUP_MAX_NS), stopping, or running
 * with a loop that ran within HEALTH_LIVE_LOOP_NS. A restart would help
 * only when the process is stuck, so nothing outside it counts.
 * Ready: running, probes attached, the loop (ring-buffer reader) ran within
 * HEALTH_READY_LOOP_NS, and no exporter reports a problem (the OTLP one: its
 * sender thread is not stuck in one request past its timeout). A collector
 * that is down or refuses spans does not make kspan unready: every node's
 * agent would turn unready at once, which says nothing new (the export
 * counters and log lines say it) and would hold back a rolling update.
 */
#ifndef KSPAN_HEALTH_H
#define KSPAN_HEALTH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEALTH_LIVE_LOOP_NS   (30ull * 1000000000)
#define HEALTH_READY_LOOP_NS  (5ull * 1000000000)
#define HEALTH_STARTUP_MAX_NS (300ull * 1000000000)
#define HEALTH_PROBLEM_MAX    192

enum agent_phase {
	AGENT_PHASE_STARTING,
	AGENT_PHASE_RUNNING,
	AGENT_PHASE_STOPPING,
};

struct agent_health {
	uint64_t started_ns;	  /* CLOCK_MONOTONIC, set once by health_init */
	uint64_t loop_ns;	  /* atomic: the main loop's last iteration */
	uint32_t phase;		  /* atomic: enum agent_phase */
	uint32_t probes_attached; /* atomic */
	pthread_mutex_t lock;
	char exporter_problem[HEALTH_PROBLEM_MAX]; /* under lock; "" when none */
};

int health_init(struct agent_health *h, uint64_t now_mono_ns);
void health_free(struct agent_health *h);

static inline void health_loop_ran(struct agent_health *h, uint64_t now_mono_ns)
{
	__atomic_store_n(&h->loop_ns, now_mono_ns, __ATOMIC_RELAXED);
}
void health_set_phase(struct agent_health *h, enum agent_phase phase);
void health_set_probes_attached(struct agent_health *h, bool attached);
/* problem: one phrase, or NULL / "" when the exporters work. */
void health_set_exporter_problem(struct agent_health *h, const char *problem);

/* true when live / ready; why gets one line either way ("main loop ran
 * 0.1 s ago", "not ready: ..."). */
bool health_live(struct agent_health *h, uint64_t now_mono_ns, char *why, size_t len);
bool health_ready(struct agent_health *h, uint64_t now_mono_ns, char *why, size_t len);

#endif /* KSPAN_HEALTH_H */
