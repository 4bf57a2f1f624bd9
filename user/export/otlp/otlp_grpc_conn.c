// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * otlp_grpc_conn.c - the connection under OTLP/gRPC: TCP, then TLS with
 * OpenSSL (certificate and host name verified, ALPN h2), non-blocking, every
 * wait bounded by a deadline and the exporter's abort.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "export/otlp/otlp_grpc_conn.h"
#include "lib/clock.h"
#include "lib/log.h"

/* How long one poll() may sleep: the abort is checked this often. */
#define POLL_STEP_MS 100

void grpc_conn_set_error(struct grpc_conn *c, const char *what, int err)
{
	if (!c->io_failed)
		snprintf(c->io_error, sizeof(c->io_error), "%s: %s", what,
			 err ? strerror(err) : "closed by the peer");
	c->io_failed = true;
}

/* Bytes written, 0 when it would block, -1 on error. */
ssize_t grpc_conn_write(struct grpc_conn *c, const uint8_t *data, size_t len)
{
	if (c->ssl) {
		ERR_clear_error();
		int n = SSL_write(c->ssl, data, len > INT32_MAX ? INT32_MAX : (int)len);
		if (n > 0)
			return n;
		int e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
			return 0;
		grpc_conn_set_error(c, "TLS write", errno);
		return -1;
	}
	ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	grpc_conn_set_error(c, "send", errno);
	return -1;
}

/* Bytes read, 0 when it would block, -1 on error or end of stream. */
ssize_t grpc_conn_read(struct grpc_conn *c, uint8_t *buf, size_t len)
{
	if (c->ssl) {
		ERR_clear_error();
		int n = SSL_read(c->ssl, buf, (int)len);
		if (n > 0)
			return n;
		int e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return 0;
		grpc_conn_set_error(c, "TLS read", e == SSL_ERROR_ZERO_RETURN ? 0 : errno);
		return -1;
	}
	ssize_t n = recv(c->fd, buf, len, 0);
	if (n > 0)
		return n;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	grpc_conn_set_error(c, "recv", n ? errno : 0);
	return -1;
}

bool grpc_conn_wait(struct grpc_conn *c, short events, uint64_t deadline_ns)
{
	for (;;) {
		uint64_t now = clock_mono_ns();
		if (now >= deadline_ns ||
		    (c->abort.should_abort && c->abort.should_abort(c->abort.ctx)))
			return false;
		uint64_t left = (deadline_ns - now) / NS_PER_MS + 1;
		struct pollfd p = {.fd = c->fd, .events = events};
		int rc = poll(&p, 1, left < POLL_STEP_MS ? (int)left : POLL_STEP_MS);
		if (rc > 0)
			return true;
		if (rc < 0 && errno != EINTR)
			return false;
	}
}

static int tcp_connect(struct grpc_conn *c, uint64_t deadline_ns)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res;
	int rc = getaddrinfo(c->host, c->port, &hints, &res);
	if (rc) {
		snprintf(c->io_error, sizeof(c->io_error), "resolving %s: %s", c->host,
			 gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	int err = -ECONNREFUSED;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd < 0) {
			err = -errno;
			continue;
		}
		if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    (errno == EINPROGRESS && grpc_conn_wait(c, POLLOUT, deadline_ns))) {
			int soerr = 0;
			socklen_t sl = sizeof(soerr);
			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
			if (!soerr) {
				int one = 1;
				setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				freeaddrinfo(res);
				return 0;
			}
			err = -soerr;
		} else {
			err = errno == EINPROGRESS ? -ETIMEDOUT : -errno;
		}
		close(c->fd);
		c->fd = -1;
	}
	freeaddrinfo(res);
	snprintf(c->io_error, sizeof(c->io_error), "connecting to %s:%s: %s", c->host, c->port,
		 strerror(-err));
	return err;
}

static int tls_handshake(struct grpc_conn *c, uint64_t deadline_ns)
{
	c->ssl = SSL_new(c->ssl_ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd))
		return -ENOMEM;
	/* The certificate must name this host, or this IP address (then no SNI: RFC 6066). */
	struct in6_addr ip;
	if (inet_pton(AF_INET, c->host, &ip) == 1 || inet_pton(AF_INET6, c->host, &ip) == 1) {
		if (!X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), c->host))
			return -EINVAL;
	} else if (!SSL_set_tlsext_host_name(c->ssl, c->host) || !SSL_set1_host(c->ssl, c->host)) {
		return -EINVAL;
	}
	for (;;) {
		ERR_clear_error();
		int rc = SSL_connect(c->ssl);
		if (rc == 1)
			break;
		int e = SSL_get_error(c->ssl, rc);
		short ev = e == SSL_ERROR_WANT_READ    ? POLLIN
			   : e == SSL_ERROR_WANT_WRITE ? POLLOUT
						       : 0;
		if (!ev || !grpc_conn_wait(c, ev, deadline_ns)) {
			unsigned long code = ERR_peek_last_error();
			long verify = SSL_get_verify_result(c->ssl);
			snprintf(c->io_error, sizeof(c->io_error), "TLS handshake with %s:%s: %s",
				 c->host, c->port,
				 verify != X509_V_OK ? X509_verify_cert_error_string(verify)
				 : code		     ? ERR_reason_error_string(code)
				 : ev		     ? "timed out"
						     : "failed");
			return -EPROTO;
		}
	}
	const unsigned char *alpn = NULL;
	unsigned int alpn_len = 0;
	SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
	if (alpn_len != 2 || memcmp(alpn, "h2", 2) != 0) {
		snprintf(c->io_error, sizeof(c->io_error), "%s:%s did not agree to HTTP/2 (ALPN)",
			 c->host, c->port);
		return -EPROTO;
	}
	return 0;
}

int grpc_conn_tls_setup(struct grpc_conn *c, const struct otlp_config *cfg)
{
	c->ssl_ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ssl_ctx)
		return -ENOMEM;
	SSL_CTX_set_min_proto_version(c->ssl_ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_PEER, NULL);
	static const unsigned char alpn[] = "\x02h2";
	SSL_CTX_set_alpn_protos(c->ssl_ctx, alpn, sizeof(alpn) - 1);
	if (cfg->certificate ? !SSL_CTX_load_verify_locations(c->ssl_ctx, cfg->certificate, NULL)
			     : !SSL_CTX_set_default_verify_paths(c->ssl_ctx)) {
		log_warn("OTLP/gRPC: cannot load CA certificates %s",
			 cfg->certificate ? cfg->certificate : "(system default)");
		return -EINVAL;
	}
	if (cfg->client_certificate &&
	    !SSL_CTX_use_certificate_chain_file(c->ssl_ctx, cfg->client_certificate)) {
		log_warn("OTLP/gRPC: cannot load client certificate %s", cfg->client_certificate);
		return -EINVAL;
	}
	if (cfg->client_key &&
	    !SSL_CTX_use_PrivateKey_file(c->ssl_ctx, cfg->client_key, SSL_FILETYPE_PEM)) {
		log_warn("OTLP/gRPC: cannot load client key %s", cfg->client_key);
		return -EINVAL;
	}
	return 0;
}

int grpc_conn_open(struct grpc_conn *c, uint64_t deadline_ns)
{
	int err;

	grpc_conn_close(c);
	c->io_failed = false;
	c->io_error[0] = '\0';
	err = tcp_connect(c, deadline_ns);
	if (!err && c->tls)
		err = tls_handshake(c, deadline_ns);
	if (err)
		grpc_conn_close(c);
	return err;
}

bool grpc_conn_pending(const struct grpc_conn *c)
{
	return c->ssl && SSL_pending(c->ssl) > 0;
}

void grpc_conn_close(struct grpc_conn *c)
{
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

void grpc_conn_free(struct grpc_conn *c)
{
	grpc_conn_close(c);
	if (c->ssl_ctx)
		SSL_CTX_free(c->ssl_ctx);
	c->ssl_ctx = NULL;
	free(c->host);
	free(c->port);
	c->host = c->port = NULL;
}
