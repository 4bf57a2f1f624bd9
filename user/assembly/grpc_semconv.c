// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* grpc_semconv.c - gRPC naming and status rules. */
#include <string.h>

#include "assembly/grpc_semconv.h"

#define GRPC_CT "application/grpc"

bool grpc_is_content_type(const char *ct, size_t len)
{
	size_t n = sizeof(GRPC_CT) - 1;

	if (len < n || strncasecmp(ct, GRPC_CT, n) != 0)
		return false;
	return len == n || ct[n] == '+' || ct[n] == ';';
}

int grpc_split_path(const char *path, size_t len, const char **service, size_t *service_len,
		    const char **method, size_t *method_len)
{
	const char *slash;

	if (len < 4 || path[0] != '/')
		return -1;
	slash = memchr(path + 1, '/', len - 1);
	if (!slash || slash == path + 1 || slash == path + len - 1 ||
	    memchr(slash + 1, '/', (size_t)(path + len - slash - 1)) || memchr(path, '?', len))
		return -1;
	*service = path + 1;
	*service_len = (size_t)(slash - path - 1);
	*method = slash + 1;
	*method_len = (size_t)(path + len - slash - 1);
	return 0;
}

static const char *const status_names[] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

const char *grpc_status_name(int code)
{
	if (code < 0 || code >= (int)(sizeof(status_names) / sizeof(status_names[0])))
		return NULL;
	return status_names[code];
}

bool grpc_status_is_error(int code, bool server)
{
	if (!server)
		return code != 0;
	switch (code) {
	case 2:	 /* UNKNOWN */
	case 4:	 /* DEADLINE_EXCEEDED */
	case 12: /* UNIMPLEMENTED */
	case 13: /* INTERNAL */
	case 14: /* UNAVAILABLE */
	case 15: /* DATA_LOSS */
		return true;
	}
	return false;
}

int grpc_parse_status(const char *v, size_t len)
{
	int code = 0;

	if (len == 0 || len > 4)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		code = code * 10 + (v[i] - '0');
	}
	return code;
}
