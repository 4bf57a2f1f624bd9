/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * probe_loader.h - check the kernel, load the BPF object, configure it,
 * attach it, and read its counters.
 */
#ifndef KSPAN_PROBE_LOADER_H
#define KSPAN_PROBE_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "model/agent_stats.h"
#include "config/options.h"
#include "loader/tls_libraries.h"

struct kspan_bpf;
struct bpf_link;
struct bpf_object;
struct btf;

#define PROBE_LOADER_MAX_LINKS 64

struct probe_loader {
	struct kspan_bpf *skel;
	struct bpf_link *links[PROBE_LOADER_MAX_LINKS];
	int attached_programs;
	enum probe_backend backend;   /* the one attached (never AUTO once started) */
	struct btf *btf;	      /* the kernel's, for the backend checks */
	uint32_t propagation;	      /* --propagation, less what the kernel cannot do */
	int sk_msg_map_fd;	      /* sockhash the sk_msg program is attached to, or -1 */
	bool tp_raw;		      /* tracepoint backend: raw_tp, tp_btf was refused */
	char attach_note[256];	      /* how the backend attached, for its start-up line */
	uint64_t next_local_addrs_ns; /* when this node's addresses are read again */
	bool tls_guarded;	      /* the TLS uprobes loaded run with preemption disabled */
	struct tls_libraries tls;     /* the TLS library files probed */
};

/* probe_loader_check_insertion's answers. */
#define PROBE_FIONREAD_UNCHECKED       0 /* insertion not asked for, or no check possible */
#define PROBE_FIONREAD_RIGHT	       1
#define PROBE_FIONREAD_WRONG_OFF       2 /* insertion turned off */
#define PROBE_FIONREAD_WRONG_INSERTING 3 /* --insert-despite-fionread */

/* Before anything uses o->propagation: when header insertion is asked for,
 * checks whether this kernel keeps FIONREAD right on sockets in a sockhash;
 * if not, and --insert-despite-fionread is not given, turns insertion off
 * (propagation falls back to tuple). Prints nothing: the agent reports the
 * answer with probe_loader_report_insertion() once the probes run, so that a
 * start that fails still says only why. */
int probe_loader_check_insertion(struct agent_options *o);
void probe_loader_report_insertion(int fionread);
/* Every failure prints one line saying what failed and what to do, and
 * returns a negative errno. */
int probe_loader_start(struct probe_loader *l, const struct agent_options *o);
/* Periodic work: this node's interface addresses into the kernel's map
 * (loader/local_addrs.h) every LOCAL_ADDRS_REFRESH_NS, and the TLS
 * libraries of processes that exec()ed lately. */
void probe_loader_tick(struct probe_loader *l, uint64_t now);
int probe_loader_ringbuf_fd(const struct probe_loader *l);
/* The waiting data at which the probes wake the ring's reader: a sixteenth
 * of the ring (README, Performance notes: one wake-up per batch). */
static inline uint32_t probe_loader_wakeup_bytes(uint32_t ringbuf_bytes)
{
	return ringbuf_bytes / 16;
}
/* Each CPU's share of it: the DATA records' wake-ups are counted per CPU
 * (bpf/base/counters.bpf.h, ringbuf__send_data), so the data no wake-up
 * announced stays below the CPUs' shares summed. At least 16 KiB (or the
 * whole mark, if smaller), so that a machine with many CPUs does not wake
 * the reader every few records: with 128 CPUs and the default 8 MiB ring,
 * 2 MiB may then wait unannounced, a quarter of the ring, which the
 * reader's own wait bound reads in time (ingest/event_reader.c). */
#define PROBE_LOADER_WAKEUP_CPU_MIN (16u * 1024)
static inline uint32_t probe_loader_wakeup_cpu_bytes(uint32_t ringbuf_bytes, int cpus)
{
	uint32_t mark = probe_loader_wakeup_bytes(ringbuf_bytes);
	uint32_t share = mark / (uint32_t)(cpus > 1 ? cpus : 1);
	uint32_t floor = mark < PROBE_LOADER_WAKEUP_CPU_MIN ? mark : PROBE_LOADER_WAKEUP_CPU_MIN;

	share = share > floor ? share : floor;
	return share > 0 ? share : 1;
}
/* The loaded BPF object, for the uprobe attachers (go_tls_attach.h). */
struct bpf_object *probe_loader_object(const struct probe_loader *l);
/* The programs' count of entries added to go_processes (go_tls_attach.h). */
volatile uint32_t *probe_loader_go_processes_gen(const struct probe_loader *l);
/* After start: probes the TLS libraries every process maps; stats counts
 * them. A process that exec()s later is looked at again
 * (probe_loader_on_exec), for a while, at each probe_loader_tick. */
void probe_loader_probe_tls(struct probe_loader *l, const struct agent_options *o,
			    struct agent_stats *stats);
void probe_loader_on_exec(struct probe_loader *l, uint32_t pid, uint64_t now);
/* Stops new events; the ring buffer stays readable. */
void probe_loader_detach(struct probe_loader *l);
void probe_loader_destroy(struct probe_loader *l);
/* Copies the kernel's per-CPU counters, summed, into stats. */
void probe_loader_read_counters(const struct probe_loader *l, struct agent_stats *stats);

#endif /* KSPAN_PROBE_LOADER_H */
