/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * event_router.h - which module each ring-buffer record belongs to: DATA to
 * the HTTP/1 or HTTP/2 assembler by the protocol the kernel decided, stream
 * contexts to HTTP/2, a close or a process exit to both assemblers (then the
 * process table), process info to the process table. main.c hands
 * event_router_handlers() to the event reader.
 */
#ifndef KSPAN_EVENT_ROUTER_H
#define KSPAN_EVENT_ROUTER_H

#include "assembly/http1_assembler.h"
#include "assembly/http2_assembler.h"
#include "ingest/event_reader.h"
#include "ingest/process_table.h"

struct event_router {
	struct http1_assembler *http1;
	struct http2_assembler *http2; /* optional: HTTP/2 records are ignored without it */
	struct process_table *procs;
	/* A process exec()ed: main.c hands it to the loader, which probes the
	 * TLS libraries it maps (optional). */
	void (*on_exec)(void *ctx, uint32_t tgid, uint64_t ts_ns);
	void *exec_ctx;
};

/* The handlers route into r, which must outlive the reader. */
struct event_handlers event_router_handlers(struct event_router *r);

#endif /* KSPAN_EVENT_ROUTER_H */
