/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * otlp_grpc_conn.h - the byte stream under OTLP/gRPC's HTTP/2 session: a
 * non-blocking TCP connection, with TLS (ALPN h2) for https:// endpoints.
 *
 * Reads and writes never block: they return 0 when the socket would, and the
 * caller waits with grpc_conn_wait(), which ends at its deadline or when the
 * exporter's abort says so. A failure leaves its reason in io_error, which the
 * transport reports as the export's result.
 */
#ifndef KSPAN_OTLP_GRPC_CONN_H
#define KSPAN_OTLP_GRPC_CONN_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "export/otlp/otlp_config.h"
#include "export/otlp/otlp_transport.h"

struct grpc_conn {
	char *host, *port; /* owned; set by the transport from its endpoint */
	bool tls;
	SSL_CTX *ssl_ctx; /* tls: set up once by grpc_conn_tls_setup() */
	struct otlp_transport_abort abort;
	int fd; /* -1 when closed */
	SSL *ssl;
	bool io_failed;
	char io_error[128]; /* what failed first, for the export result */
};

/* CA bundle, client certificate and key from cfg; logs what it cannot load. */
int grpc_conn_tls_setup(struct grpc_conn *c, const struct otlp_config *cfg);

/* Closes any connection, then connects (and handshakes) by deadline_ns.
 * Returns 0 or a negative errno, io_error saying what failed. */
int grpc_conn_open(struct grpc_conn *c, uint64_t deadline_ns);

/* Bytes moved, 0 when the socket would block, -1 on error or end of stream. */
ssize_t grpc_conn_write(struct grpc_conn *c, const uint8_t *data, size_t len);
ssize_t grpc_conn_read(struct grpc_conn *c, uint8_t *buf, size_t len);

/* Waits for `events` (poll bits) until deadline_ns; false on timeout or abort. */
bool grpc_conn_wait(struct grpc_conn *c, short events, uint64_t deadline_ns);

/* TLS holds decrypted bytes that poll() cannot see. */
bool grpc_conn_pending(const struct grpc_conn *c);

/* Records the first failure (err 0: closed by the peer). */
void grpc_conn_set_error(struct grpc_conn *c, const char *what, int err);

void grpc_conn_close(struct grpc_conn *c);
/* Closes, and frees what grpc_conn_tls_setup() and the transport set. */
void grpc_conn_free(struct grpc_conn *c);

#endif /* KSPAN_OTLP_GRPC_CONN_H */
