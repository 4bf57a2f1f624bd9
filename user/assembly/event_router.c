// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* event_router.c - ring-buffer records to the module that owns them. */
#include "assembly/event_router.h"

static void route_data(void *ctx, const struct kspan_data_event *ev)
{
	struct event_router *r = ctx;

	if (ev->protocol == KSPAN_PROTO_HTTP2) {
		if (r->http2)
			http2_assembler_on_data(r->http2, ev);
	} else {
		http1_assembler_on_data(r->http1, ev);
	}
}

static void route_h2_stream_ctx(void *ctx, const struct kspan_h2_stream_event *ev)
{
	struct event_router *r = ctx;

	if (r->http2)
		http2_assembler_on_stream_ctx(r->http2, ev);
}

static void route_conn_close(void *ctx, const struct kspan_conn_event *ev)
{
	struct event_router *r = ctx;

	http1_assembler_on_close(r->http1, ev);
	if (r->http2)
		http2_assembler_on_close(r->http2, ev);
}

static void route_proc_info(void *ctx, const struct kspan_proc_event *ev)
{
	struct event_router *r = ctx;

	process_table_on_info(r->procs, ev);
}

static void route_proc_exit(void *ctx, uint32_t tgid, uint64_t ts_ns)
{
	struct event_router *r = ctx;

	/* Connections first: their spans still need the resource. */
	http1_assembler_on_process_exit(r->http1, tgid, ts_ns);
	if (r->http2)
		http2_assembler_on_process_exit(r->http2, tgid, ts_ns);
	process_table_on_exit(r->procs, tgid);
}

static void route_proc_exec(void *ctx, uint32_t tgid, uint64_t ts_ns)
{
	struct event_router *r = ctx;

	if (r->on_exec)
		r->on_exec(r->exec_ctx, tgid, ts_ns);
}

struct event_handlers event_router_handlers(struct event_router *r)
{
	return (struct event_handlers){
	    .ctx = r,
	    .on_data = route_data,
	    .on_h2_stream_ctx = route_h2_stream_ctx,
	    .on_conn_close = route_conn_close,
	    .on_proc_info = route_proc_info,
	    .on_proc_exit = route_proc_exit,
	    .on_proc_exec = route_proc_exec,
	};
}
