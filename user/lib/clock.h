/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* clock.h - kernel timestamps are CLOCK_MONOTONIC; spans need Unix time. */
#ifndef KSPAN_CLOCK_H
#define KSPAN_CLOCK_H

#include <stdint.h>

#define NS_PER_US  1000ull
#define NS_PER_MS  1000000ull
#define NS_PER_SEC 1000000000ull

struct mono_to_unix {
	int64_t offset_ns; /* unix = mono + offset */
};

uint64_t clock_mono_ns(void);
/* Re-measures the offset (call now and then: NTP slews the wall clock). */
void mono_to_unix_calibrate(struct mono_to_unix *c);
uint64_t mono_to_unix_ns(const struct mono_to_unix *c, uint64_t mono_ns);

#endif /* KSPAN_CLOCK_H */
