// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* otlp_transport_grpc.c - OTLP/gRPC: placeholder until the nghttp2 client lands. */
#include "log.h"
#include "otlp_transport.h"

struct otlp_transport *otlp_transport_grpc_new(const struct otlp_config *cfg,
					       struct otlp_transport_abort abort)
{
	(void)abort;
	log_warn("OTLP/gRPC to %s: not supported by this build", cfg->endpoint);
	return NULL;
}
