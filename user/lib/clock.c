// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* clock.c - monotonic to Unix time. */
#include <time.h>

#include "lib/clock.h"

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t clock_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

void mono_to_unix_calibrate(struct mono_to_unix *c)
{
	/* Bracket the wall-clock read between two monotonic reads and use the
	 * midpoint, so a preemption between the reads does not skew it. */
	uint64_t m1 = clock_ns(CLOCK_MONOTONIC);
	uint64_t r = clock_ns(CLOCK_REALTIME);
	uint64_t m2 = clock_ns(CLOCK_MONOTONIC);

	c->offset_ns = (int64_t)r - (int64_t)(m1 + (m2 - m1) / 2);
}

uint64_t mono_to_unix_ns(const struct mono_to_unix *c, uint64_t mono_ns)
{
	return (uint64_t)((int64_t)mono_ns + c->offset_ns);
}
