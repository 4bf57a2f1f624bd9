/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * export_retry.h - what to do with the answer to an export request: done,
 * retry (after how long), or drop. Exactly the OTLP specification's rules
 * (protocol/otlp.md, "Failures" for OTLP/gRPC and OTLP/HTTP): HTTP 429, 502,
 * 503 and 504 are retried, honouring Retry-After; the gRPC codes CANCELLED,
 * DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE and DATA_LOSS are
 * retried, RESOURCE_EXHAUSTED only when the server sent RetryInfo (whose
 * delay is honoured); a failed connection is retried; everything else is a
 * permanent error. Between attempts: exponential backoff with jitter, like
 * the Collector's exporterhelper (multiplier 1.5, randomization 0.5).
 */
#ifndef KSPAN_EXPORT_RETRY_H
#define KSPAN_EXPORT_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum export_result_kind {
	EXPORT_RESULT_HTTP,	  /* an HTTP status arrived */
	EXPORT_RESULT_GRPC,	  /* a grpc-status arrived */
	EXPORT_RESULT_CONNECTION, /* no answer: connect, TLS, timeout, reset... */
};

/* gRPC status codes (grpc/doc/statuscodes.md). */
enum grpc_status {
	GRPC_STATUS_OK = 0,
	GRPC_STATUS_CANCELLED = 1,
	GRPC_STATUS_UNKNOWN = 2,
	GRPC_STATUS_INVALID_ARGUMENT = 3,
	GRPC_STATUS_DEADLINE_EXCEEDED = 4,
	GRPC_STATUS_RESOURCE_EXHAUSTED = 8,
	GRPC_STATUS_ABORTED = 10,
	GRPC_STATUS_OUT_OF_RANGE = 11,
	GRPC_STATUS_UNIMPLEMENTED = 12,
	GRPC_STATUS_INTERNAL = 13,
	GRPC_STATUS_UNAVAILABLE = 14,
	GRPC_STATUS_DATA_LOSS = 15,
};

#define EXPORT_RESULT_MESSAGE_MAX 256

/* What a transport reports about one request. */
struct export_result {
	enum export_result_kind kind;
	int status;		/* HTTP status, or gRPC status code */
	int64_t retry_after_ms; /* Retry-After / RetryInfo delay; -1 when none was sent */
	/* The response message on success (for partial_success); owned by the
	 * transport, valid until its next request. */
	const uint8_t *body;
	size_t body_len;
	char message[EXPORT_RESULT_MESSAGE_MAX]; /* why it failed, for the log */
};

enum export_verdict {
	EXPORT_VERDICT_SUCCESS,
	EXPORT_VERDICT_RETRY,
	EXPORT_VERDICT_DROP, /* permanent error: retrying cannot help */
};

enum export_verdict export_retry_classify(const struct export_result *r);

struct retry_policy {
	uint32_t initial_ms;
	uint32_t max_ms;
	uint32_t max_elapsed_ms; /* a batch is given up this long after its first attempt */
};

/*
 * Delay before retry number `attempt` (0 for the first retry): the backoff,
 * min(initial * 1.5^attempt, max) spread uniformly over +-50% by unit_random
 * in [0, 1), or the server's own delay (Retry-After, RetryInfo) when that is
 * longer: a server delay of 0 or in the past still waits the backoff.
 */
uint64_t export_retry_delay_ms(const struct retry_policy *p, const struct export_result *r,
			       unsigned attempt, double unit_random);

/*
 * RFC 9110 section 10.2.3 Retry-After: delay-seconds or an HTTP-date (then
 * relative to now_unix). Returns milliseconds (0 for a date in the past), or
 * -1 when the value is neither.
 */
int64_t export_retry_after_parse_ms(const char *value, size_t len, time_t now_unix);

#endif /* KSPAN_EXPORT_RETRY_H */
