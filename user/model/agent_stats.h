/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * agent_stats.h - the agent's self-counters. Every drop anywhere in the
 * pipeline increments one of these; they are printed in the periodic and the
 * final summary line (and later served as metrics). Updated from the main
 * thread and exporter threads, hence relaxed atomics.
 */
#ifndef KSPAN_AGENT_STATS_H
#define KSPAN_AGENT_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define AGENT_STATS_FIELDS(X)                                                                      \
	X(events_received, "ring-buffer records read")                                             \
	X(events_malformed, "ring-buffer records with an impossible size or type (dropped)")       \
	X(kernel_ringbuf_drops, "records the kernel could not put in the ring buffer")             \
	X(ringbuf_wakeups_missed, "reads at the poll timeout that found a wake-up batch waiting "  \
				  "(the kernel's wake-up did not come)")                           \
	X(kernel_capture_faults, "payloads the kernel could not read from user memory")            \
	X(kernel_inflight_full, "syscalls not followed: no in-flight slot (task storage)")         \
	X(kernel_conn_table_full, "connections not followed: kernel conn table full")              \
	X(traceparent_injected, "outgoing requests given kspan's traceparent")                     \
	X(traceparent_inject_skipped,                                                              \
	  "requests sent without traceparent: header block not whole in the first write")          \
	X(traceparent_inject_skipped_no_room,                                                      \
	  "HTTP/1 requests sent without traceparent: the "                                         \
	  "socket's send buffer could not take the write whole")                                   \
	X(traceparent_inject_failed, "requests sent unchanged: the kernel could not insert")       \
	X(h2_traceparent_injected, "HTTP/2 requests given kspan's traceparent")                    \
	X(h2_inject_skipped_own, "HTTP/2 requests not injected: the connection carries (or may "   \
				 "carry) the app's own traceparent")                               \
	X(h2_inject_skipped_unfit,                                                                 \
	  "HTTP/2 requests not injected: HEADERS frame unfit (CONTINUATION, size, split write, "   \
	  "full send buffer)")                                                                     \
	X(h2_inject_skipped_unreached,                                                             \
	  "HTTP/2 requests not injected: the socket's writes bypass kspan's sk_msg hook")          \
	X(h2_requests_undecided, "HTTP/2 requests left to userspace: more new streams in one "     \
				 "write than the kernel plans")                                    \
	X(h2_client_conns_unfollowed, "HTTP/2 client connections whose written frames the kernel " \
				      "cannot follow (no injection)")                              \
	X(inject_sockets_added, "client sockets that entered the sockhash of header insertion")    \
	X(inject_sockets_removed, "client sockets taken out of the sockhash at their first write " \
				  "(not an editable HTTP request)")                                \
	X(inject_sockets_stuck, "client sockets that could not be taken out of the sockhash")      \
	X(h1_inject_stopped_unfollowed, "HTTP/1 client connections where insertion stopped: "      \
					"bytes written that kspan did not see at their entry")     \
	X(h1_inject_stopped_unframed, "HTTP/1 client connections where insertion stopped: a "      \
				      "request body of unknown length (chunked)")                  \
	X(h1_inject_stopped_not_request, "HTTP/1 client connections where insertion stopped: at "  \
					 "a request boundary, bytes that are no HTTP/1.0-1.1 "     \
					 "request")                                                \
	X(h1_inject_stopped_overrun, "HTTP/1 client connections where insertion stopped: a write " \
				     "ran past its request's end (pipelining)")                    \
	X(h2_client_conns_desynced,                                                                \
	  "HTTP/2 client connections given up (no more injection): bytes left the socket that "    \
	  "the kernel's frame walk did not see (sendfile, splice, io_uring, a lost plan)")         \
	X(h2_inject_skipped_mismatch,                                                              \
	  "HTTP/2 requests not injected: the sk_msg data was not at the socket and sequence the "  \
	  "write's entry planned for")                                                             \
	X(kernel_head_scans_incomplete,                                                            \
	  "request heads with more lines than the kernel's head scan takes (decided on their "     \
	  "first lines: no parent from a later traceparent, no insertion)")                        \
	X(tls_ciphertext_skipped, "syscalls on TLS connections (ciphertext): no HTTP event, the "  \
				  "library's plaintext is captured instead")                       \
	X(tls_unbound, "TLS reads/writes not captured: their SSL object's socket is unknown "      \
		       "(memory BIO, or no syscall inside any of its calls yet)")                  \
	X(tls_unprobed_conns, "connections carrying TLS records outside any probed library call: " \
			      "their HTTPS is not captured (a TLS library kspan does not probe, "  \
			      "or not yet)")                                                       \
	X(tls_membio_bound, "memory-BIO TLS sessions (node, python asyncio) bound to the "         \
			    "connection whose records their thread read just before their call")   \
	X(passthrough_rewritten, "forwarded traceparents of pass-through proxies whose parent-id " \
				 "kspan rewrote to the proxy's CLIENT span")                       \
	X(passthrough_not_rewritten_no_insertion, "pass-through CLIENT requests linked, "          \
						  "parent-id not rewritten: insertion is off")     \
	X(passthrough_not_rewritten_unfollowed, "pass-through CLIENT requests linked, parent-id "  \
						"not rewritten: the connection was not followed "  \
						"from its first byte to the request")              \
	X(passthrough_not_rewritten_unreached, "pass-through CLIENT requests linked, parent-id "   \
					       "not rewritten: the header was not where planned "  \
					       "when the bytes were sent (socket not in the "      \
					       "sockhash, bytes changed)")                         \
	X(passthrough_tls_linked, "pass-through TLS CLIENT requests linked to the request they "   \
				  "forward (TLS is never rewritten)")                              \
	X(passthrough_ambiguous, "pass-through CLIENT requests not linked: two open requests of "  \
				 "the process arrived with the same traceparent")                  \
	X(kernel_socket_reads_unseen, "reads of traced TCP sockets the socket-tracepoint backend " \
				      "did not capture: they came from no read syscall it "        \
				      "unpacks (io_uring, recvmmsg)")                              \
	X(passthrough_evicted, "open SERVER requests with a traceparent forgotten early (table "   \
			       "full): their forwarded requests are not linked")                   \
	X(tls_libraries_probed, "TLS library files whose functions kspan probes")                  \
	X(tls_libraries_single_step,                                                               \
	  "TLS library files probed at a read or write function whose first instruction the "      \
	  "kernel single-steps (a trap per call; costly on virtual machines)")                     \
	X(tls_exec_watch_dropped, "processes not watched after exec(): too many exec()s at once "  \
				  "(a library only they map is probed late, or not)")              \
	X(kernel_go_tls_no_socket, "Go crypto/tls calls not captured: their connection led to no " \
				   "TCP socket")                                                   \
	X(kernel_go_tls_held_bytes_lost,                                                           \
	  "Go net/http server background-read bytes the next Read did not follow (the request "    \
	  "they began is not parsed)")                                                             \
	X(kernel_go_client_unattributed,                                                           \
	  "HTTP/1 CLIENT requests of Go programs whose goroutine serves no request kspan knows "   \
	  "(their own trace)")                                                                     \
	X(kernel_go_parent_ended, "Go goroutines not linked: the request they inherited was "      \
				  "answered, or its reader moved on")                              \
	X(kernel_go_no_goroutine, "Go syscalls whose goroutine could not be read (kernel before "  \
				  "5.15): not linked")                                             \
	X(tls_calls_lost, "TLS reads/writes not captured: their entry was not seen (table full, "  \
			  "or probes attached during the call)")                                   \
	X(node_client_requests_linked,                                                             \
	  "CLIENT requests node wrote in the read callback of one SERVER request: its children")   \
	X(node_client_requests_unattributed,                                                       \
	  "CLIENT requests node wrote outside such a callback: traces of their own")               \
	X(http_parse_errors, "HTTP/1.x streams that were not valid HTTP (resynchronised)")         \
	X(http_orphan_responses, "responses without a request (connection adopted mid-flight)")    \
	X(http_pipeline_overflow, "pipelined requests beyond the per-connection limit (dropped)")  \
	X(http_unanswered_requests, "requests whose connection ended before any response")         \
	X(http_unfinished_at_exit, "requests still waiting for a response when kspan stopped")     \
	X(h2_framing_lost, "HTTP/2 connections no longer followed: frames lost or malformed")      \
	X(h2_header_decode_errors, "HTTP/2 header blocks HPACK failed to decode")                  \
	X(h2_header_blocks_partial, "HTTP/2 header blocks decoded without the dynamic table")      \
	X(h2_orphan_responses, "HTTP/2 responses for a stream whose request was not seen")         \
	X(h2_streams_reset, "HTTP/2 streams ended by RST_STREAM before their response ended")      \
	X(h2_streams_dropped, "HTTP/2 streams not traced: too many open on one connection")        \
	X(h2_streams_joined, "HTTP/2 SERVER streams joined to their CLIENT stream on this node")   \
	X(h2_join_unmatched, "HTTP/2 SERVER streams held for a CLIENT end that was not seen")      \
	X(h2_join_table_full, "HTTP/2 join entries evicted early: the join table was full")        \
	X(h2_early_responses, "HTTP/2 responses read before their request was processed (held)")   \
	X(h2_early_responses_expired, "HTTP/2 held responses whose request never came (dropped)")  \
	X(conn_event_gaps, "connections that missed events (ring buffer full): state reset")       \
	X(conns_evicted, "connections forgotten to stay within --max-connections (least recently " \
			 "active first)")                                                          \
	X(conns_expired, "connections forgotten after --conn-forget-ms of silence (close lost, "   \
			 "or idle that long)")                                                     \
	X(requests_forgotten, "requests and HTTP/2 streams dropped unanswered: their connection "  \
			      "was evicted or expired")                                            \
	X(h2_streams_evicted, "HTTP/2 streams dropped to stay within --max-h2-streams (least "     \
			      "recently active first)")                                            \
	X(h2_stream_contexts_evicted, "kernel-decided HTTP/2 stream contexts dropped: too many "   \
				      "connections waiting (least recently active first)")         \
	X(processes_evicted, "process resources forgotten: process table full (least recently "    \
			     "used first)")                                                        \
	X(go_tls_executables_probed, "Go executables whose crypto/tls Read and Write are probed")  \
	X(go_tls_executables_unsupported, "Go executables with crypto/tls not probed: a Go "       \
					  "version without struct offsets, before 1.17, not "      \
					  "x86-64, or code that did not decode")                   \
	X(go_tls_attach_failed, "Go executables whose crypto/tls uprobes failed to attach")        \
	X(nginx_executables_probed, "nginx executables whose upstream hand-off is probed")         \
	X(nginx_attach_failed, "nginx executables whose upstream hand-off uprobes failed to "      \
			       "attach")                                                           \
	X(kernel_nginx_linked, "nginx upstream requests made children of the request they serve")  \
	X(kernel_nginx_unserved, "nginx upstream hand-offs for a request with no open HTTP/1 "     \
				 "SERVER request (HTTP/2 downstream): not linked")                 \
	X(kernel_nginx_unattributed, "nginx upstream connections picked outside an upstream "      \
				     "hand-off (retries, stream proxy) or in a nested one: not "   \
				     "linked")                                                     \
	X(kernel_nginx_stale, "nginx upstream requests whose downstream request had ended: not "   \
			      "linked")                                                            \
	X(go_goroutine_executables_probed, "Go executables whose goroutine parenting uprobes "     \
					   "(runtime.newproc1, net/http client hand-off) are "     \
					   "attached")                                             \
	X(go_goroutine_attach_failed, "Go executables whose goroutine parenting uprobes failed "   \
				      "to attach (their CLIENT requests start their own traces)")  \
	X(console_traces_flushed_early, "traces the console printed before their quiet time: "     \
					"too many spans held")                                     \
	X(requests_lost_to_gaps, "open requests dropped when their connection missed events")      \
	X(invalid_kernel_ids, "kernel trace ids that failed validation (replaced)")                \
	X(spans_created, "spans assembled")                                                        \
	X(spans_sampled_out, "spans dropped by the sampler")                                       \
	X(spans_export_queued, "spans the OTLP exporter took into its queue")                      \
	X(spans_exported, "spans accepted by the collector")                                       \
	X(spans_export_dropped_queue, "spans dropped: export queue full (oldest batches first)")   \
	X(spans_export_dropped_rejected,                                                           \
	  "spans dropped: the collector answered a permanent error")                               \
	X(spans_export_dropped_partial, "spans the collector rejected in a partial success")       \
	X(spans_export_dropped_expired, "spans dropped: retries ran out of time")                  \
	X(spans_export_dropped_shutdown, "spans not sent because kspan stopped")                   \
	X(spans_export_failed, "spans dropped: could not be encoded or written")                   \
	X(spans_spooled, "spans written to the spool directory")                                   \
	X(spans_spool_dropped, "spans dropped: spool directory full or unwritable")                \
	X(export_requests, "export requests sent (every attempt)")                                 \
	X(export_requests_failed, "export requests that failed (any reason)")                      \
	X(export_retries, "export requests that were retries")                                     \
	X(metric_measurements_overflowed,                                                          \
	  "requests counted in a metric's overflow set "                                           \
	  "(otel.metric.overflow=true): cardinality limit reached")                                \
	X(metric_measurements_dropped, "requests not counted in metrics: out of memory")           \
	X(metric_sets_idle_removed, "metric attribute sets removed after 15 min without requests") \
	X(service_graph_unpaired, "same-node client or server spans whose other side did not "     \
				  "come within 10 s (no service-graph edge)")                      \
	X(metric_points_exported, "metric data points the OTLP collector accepted")                \
	X(metric_points_export_dropped, "metric data points not exported (queue, rejected, "       \
					"expired, shutdown, encoding)")                            \
	X(metric_export_requests_failed, "OTLP metrics export requests that failed (any reason)")

/* Values that go up and down (set, not added). */
#define AGENT_GAUGES_FIELDS(X)                                                                     \
	X(ringbuf_waiting_bytes_max,                                                               \
	  "most bytes waiting in the ring buffer when the agent read it "                          \
	  "(since start; --ringbuf-bytes is where records drop)")                                  \
	X(export_queue_spans, "spans waiting in the export queue")                                 \
	X(export_queue_bytes, "encoded bytes waiting in the export queue")                         \
	X(export_queue_batches, "batches waiting in the export queue")                             \
	X(export_spool_spans, "spans waiting in the spool directory, not in memory")               \
	X(conns_followed, "connections followed (HTTP/1 and HTTP/2; bound --max-connections)")     \
	X(h2_streams_open, "HTTP/2 streams open (bound --max-h2-streams)")                         \
	X(processes_known, "processes in the process table")                                       \
	X(metric_sets, "metric attribute sets held (every metric and process)")

/* Upper bounds (microseconds) of the export latency histogram; +Inf follows. */
#define EXPORT_LATENCY_BOUNDS_US                                                                   \
	{                                                                                          \
		5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000,      \
		    10000000                                                                       \
	}
#define EXPORT_LATENCY_BUCKETS 12 /* the bounds above and +Inf */

/* enum process_runtime's count (model/process_runtime.h), checked there. */
#define AGENT_RUNTIMES 7

struct agent_stats {
#define AGENT_STATS_DECLARE(name, help) uint64_t name;
	AGENT_STATS_FIELDS(AGENT_STATS_DECLARE)
	AGENT_GAUGES_FIELDS(AGENT_STATS_DECLARE)
#undef AGENT_STATS_DECLARE
	/* One export request, send to answer: not cumulative per bucket. */
	uint64_t export_latency_buckets[EXPORT_LATENCY_BUCKETS];
	uint64_t export_latency_sum_us;
	/* CLIENT requests that started their own trace because their thread
	 * serves requests of several connections at once and nothing linked
	 * them (KSPAN_CTX_F_UNATTRIBUTED), by enum process_runtime. */
	uint64_t client_requests_unattributed[AGENT_RUNTIMES];
};

#define STAT_ADD(stats, field, n) __atomic_fetch_add(&(stats)->field, (n), __ATOMIC_RELAXED)
#define STAT_INC(stats, field)	  STAT_ADD(stats, field, 1)
#define STAT_GET(stats, field)	  __atomic_load_n(&(stats)->field, __ATOMIC_RELAXED)
#define STAT_SET(stats, field, v) __atomic_store_n(&(stats)->field, (v), __ATOMIC_RELAXED)

/* Count one export request that took `us` microseconds. */
void agent_stats_observe_export_latency(struct agent_stats *s, uint64_t us);
/* Prometheus text exposition format 0.0.4 of every counter, gauge and the histogram. */
void agent_stats_write_prometheus(const struct agent_stats *s, FILE *out);
/* The same, or (openmetrics) in OpenMetrics 1.0 text, without its "# EOF". */
void agent_stats_write_metrics_text(const struct agent_stats *s, FILE *out, bool openmetrics);

/* Sum of every counter that means "lost data". */
uint64_t agent_stats_total_drops(const struct agent_stats *s);
/* CLIENT requests marked unattributed, over every runtime. */
uint64_t agent_stats_unattributed_total(const struct agent_stats *s);
/* One line "name=value ..." of every counter. */
void agent_stats_print_line(const struct agent_stats *s, FILE *out, const char *prefix);

#endif /* KSPAN_AGENT_STATS_H */
