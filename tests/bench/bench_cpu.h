/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * bench_cpu.h - what the in-process benchmarks (otlp_export_bench,
 * span_path_bench) share: the process's CPU seconds, and keeping it on one
 * CPU so that "spans per CPU second" means one core.
 */
#ifndef KSPAN_BENCH_CPU_H
#define KSPAN_BENCH_CPU_H

#include <sched.h>
#include <sys/resource.h>

/* utime + stime of the whole process (every thread). */
static inline double bench_cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Pins the calling thread to the CPU it runs on; threads it creates later
 * inherit the mask. */
static inline void bench_pin_to_this_cpu(void)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	sched_setaffinity(0, sizeof(one), &one);
}

#endif /* KSPAN_BENCH_CPU_H */
