// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* export_retry.c - the OTLP retry rules and the backoff between attempts. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "export/otlp/export_retry.h"

#define BACKOFF_MULTIPLIER    1.5
#define BACKOFF_RANDOMIZATION 0.5

static bool http_status_retryable(int status)
{
	/* protocol/otlp.md, "Retryable Response Codes" (OTLP/HTTP). */
	return status == 429 || status == 502 || status == 503 || status == 504;
}

static bool grpc_status_retryable(const struct export_result *r)
{
	/* protocol/otlp.md, "Failures" (OTLP/gRPC): the table of retryable codes. */
	switch (r->status) {
	case GRPC_STATUS_CANCELLED:
	case GRPC_STATUS_DEADLINE_EXCEEDED:
	case GRPC_STATUS_ABORTED:
	case GRPC_STATUS_OUT_OF_RANGE:
	case GRPC_STATUS_UNAVAILABLE:
	case GRPC_STATUS_DATA_LOSS:
		return true;
	case GRPC_STATUS_RESOURCE_EXHAUSTED:
		/* "only if the server can recover from the exhaustion", which it
		 * signals by sending RetryInfo. */
		return r->retry_after_ms >= 0;
	default:
		return false;
	}
}

enum export_verdict export_retry_classify(const struct export_result *r)
{
	switch (r->kind) {
	case EXPORT_RESULT_HTTP:
		if (r->status >= 200 && r->status < 300)
			return EXPORT_VERDICT_SUCCESS;
		return http_status_retryable(r->status) ? EXPORT_VERDICT_RETRY
							: EXPORT_VERDICT_DROP;
	case EXPORT_RESULT_GRPC:
		if (r->status == GRPC_STATUS_OK)
			return EXPORT_VERDICT_SUCCESS;
		return grpc_status_retryable(r) ? EXPORT_VERDICT_RETRY : EXPORT_VERDICT_DROP;
	case EXPORT_RESULT_CONNECTION:
	default:
		return EXPORT_VERDICT_RETRY;
	}
}

uint64_t export_retry_delay_ms(const struct retry_policy *p, const struct export_result *r,
			       unsigned attempt, double unit_random)
{
	double base = p->initial_ms;
	for (unsigned i = 0; i < attempt && base < p->max_ms; i++)
		base *= BACKOFF_MULTIPLIER;
	if (base > p->max_ms)
		base = p->max_ms;
	if (unit_random < 0 || unit_random >= 1)
		unit_random = 0.5;
	double delay = base * (1 - BACKOFF_RANDOMIZATION + 2 * BACKOFF_RANDOMIZATION * unit_random);
	uint64_t backoff = delay < 1 ? 1 : (uint64_t)delay;
	/* The server's delay is a lower bound (RFC 9110 section 10.2.3: how long
	 * the client "ought to wait"), never a licence to retry sooner than the
	 * backoff: "Retry-After: 0" or a date in the past, answered on every
	 * attempt, would otherwise make kspan retry in a tight loop until the
	 * batch expires. The Collector's exporterhelper takes the same max(). */
	if (r && r->retry_after_ms > 0 && (uint64_t)r->retry_after_ms > backoff)
		return (uint64_t)r->retry_after_ms;
	return backoff;
}

int64_t export_retry_after_parse_ms(const char *value, size_t len, time_t now_unix)
{
	char buf[64];
	while (len && isspace((unsigned char)*value))
		value++, len--;
	while (len && isspace((unsigned char)value[len - 1]))
		len--;
	if (!len || len >= sizeof(buf))
		return -1;
	memcpy(buf, value, len);
	buf[len] = '\0';

	bool digits = true;
	for (size_t i = 0; i < len; i++)
		digits = digits && isdigit((unsigned char)buf[i]);
	if (digits) {
		/* More than a day is treated as a day: the batch expires long before. */
		if (len > 6)
			return 86400 * 1000ll;
		long secs = strtol(buf, NULL, 10);
		return secs > 86400 ? 86400 * 1000ll : secs * 1000ll;
	}
	/* IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 section 5.6.7). */
	struct tm tm = {0};
	const char *end = strptime(buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end)
		return -1;
	time_t when = timegm(&tm);
	if (when == (time_t)-1)
		return -1;
	return when <= now_unix ? 0 : (int64_t)(when - now_unix) * 1000;
}
