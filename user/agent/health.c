// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* health.c - liveness and readiness from the main thread's marks. */
#include <stdio.h>
#include <string.h>

#include "agent/health.h"

int health_init(struct agent_health *h, uint64_t now_mono_ns)
{
	memset(h, 0, sizeof(*h));
	h->started_ns = now_mono_ns;
	h->loop_ns = now_mono_ns;
	h->phase = AGENT_PHASE_STARTING;
	return -pthread_mutex_init(&h->lock, NULL);
}

void health_free(struct agent_health *h)
{
	pthread_mutex_destroy(&h->lock);
}

void health_set_phase(struct agent_health *h, enum agent_phase phase)
{
	__atomic_store_n(&h->phase, (uint32_t)phase, __ATOMIC_RELAXED);
}

void health_set_probes_attached(struct agent_health *h, bool attached)
{
	__atomic_store_n(&h->probes_attached, attached ? 1u : 0u, __ATOMIC_RELAXED);
}

void health_set_exporter_problem(struct agent_health *h, const char *problem)
{
	pthread_mutex_lock(&h->lock);
	snprintf(h->exporter_problem, sizeof(h->exporter_problem), "%s", problem ? problem : "");
	pthread_mutex_unlock(&h->lock);
}

/* Milliseconds from then to now; 0 when then is later (another thread's
 * clock read can come after ours). */
static uint64_t ms_since(uint64_t then, uint64_t now)
{
	return now > then ? (now - then) / 1000000 : 0;
}

bool health_live(struct agent_health *h, uint64_t now, char *why, size_t len)
{
	uint32_t phase = __atomic_load_n(&h->phase, __ATOMIC_RELAXED);
	uint64_t loop_ms = ms_since(__atomic_load_n(&h->loop_ns, __ATOMIC_RELAXED), now);
	uint64_t up_ms = ms_since(h->started_ns, now);

	if (phase == AGENT_PHASE_STOPPING) {
		snprintf(why, len, "live: stopping");
		return true;
	}
	if (phase == AGENT_PHASE_STARTING) {
		bool ok = up_ms * 1000000 <= HEALTH_STARTUP_MAX_NS;
		snprintf(why, len, "%s: starting for %llu ms (at most %llu s)",
			 ok ? "live" : "not live", (unsigned long long)up_ms,
			 HEALTH_STARTUP_MAX_NS / 1000000000);
		return ok;
	}
	if (loop_ms * 1000000 > HEALTH_LIVE_LOOP_NS) {
		snprintf(why, len, "not live: the main loop last ran %llu ms ago (limit %llu s)",
			 (unsigned long long)loop_ms, HEALTH_LIVE_LOOP_NS / 1000000000);
		return false;
	}
	snprintf(why, len, "live: main loop ran %llu ms ago", (unsigned long long)loop_ms);
	return true;
}

bool health_ready(struct agent_health *h, uint64_t now, char *why, size_t len)
{
	uint32_t phase = __atomic_load_n(&h->phase, __ATOMIC_RELAXED);
	uint64_t loop_ms = ms_since(__atomic_load_n(&h->loop_ns, __ATOMIC_RELAXED), now);
	bool ok = false;

	if (phase == AGENT_PHASE_STARTING)
		snprintf(why, len, "not ready: starting (loading and attaching the probes)");
	else if (phase == AGENT_PHASE_STOPPING)
		snprintf(why, len, "not ready: stopping");
	else if (!__atomic_load_n(&h->probes_attached, __ATOMIC_RELAXED))
		snprintf(why, len, "not ready: the probes are not attached");
	else if (loop_ms * 1000000 > HEALTH_READY_LOOP_NS)
		snprintf(why, len,
			 "not ready: the ring buffer was last read %llu ms ago (limit %llu s)",
			 (unsigned long long)loop_ms, HEALTH_READY_LOOP_NS / 1000000000);
	else {
		pthread_mutex_lock(&h->lock);
		ok = !h->exporter_problem[0];
		if (ok)
			snprintf(why, len, "ready: probes attached, ring buffer read %llu ms ago",
				 (unsigned long long)loop_ms);
		else
			snprintf(why, len, "not ready: %s", h->exporter_problem);
		pthread_mutex_unlock(&h->lock);
	}
	return ok;
}
