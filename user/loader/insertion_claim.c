// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* insertion_claim.c - the node-wide claim on traceparent insertion. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/capability.h>

#include "loader/insertion_claim.h"

/* Connections of asking agents waiting to be accepted and closed. */
#define CLAIM_BACKLOG 16

/* An abstract address: sun_path starts with a NUL, the name follows. */
static socklen_t claim_address(struct sockaddr_un *sa, const char *name)
{
	size_t n = strnlen(name, sizeof(sa->sun_path) - 1);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path + 1, name, n);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

/* The pid of the process listening on the claim; 0 when unknown. */
static pid_t claim_holder(const struct sockaddr_un *sa, socklen_t sa_len)
{
	struct ucred cred = {0};
	socklen_t len = sizeof(cred);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	pid_t pid = 0;

	if (fd < 0)
		return 0;
	/* For a connected stream socket SO_PEERCRED is the listener's
	 * credentials as of its listen(). */
	if (connect(fd, (const struct sockaddr *)sa, sa_len) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
		pid = cred.pid;
	close(fd);
	return pid;
}

int insertion_claim_take(struct insertion_claim *c, const char *name, pid_t *holder)
{
	struct sockaddr_un sa;
	socklen_t sa_len = claim_address(&sa, name);
	int err;

	c->held = false;
	*holder = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sa_len) == 0 && listen(fd, CLAIM_BACKLOG) == 0) {
		c->fd = fd;
		c->held = true;
		return 0;
	}
	err = -errno;
	close(fd);
	if (err != -EADDRINUSE)
		return err;
	*holder = claim_holder(&sa, sa_len);
	return -EBUSY;
}

void insertion_claim_serve(struct insertion_claim *c)
{
	int fd;

	if (!c->held)
		return;
	while ((fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0)
		close(fd);
}

void insertion_claim_release(struct insertion_claim *c)
{
	if (c->held)
		close(c->fd);
	c->held = false;
}

bool insertion_capable(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {0};

	if (syscall(SYS_capget, &hdr, data))
		return true; /* cannot tell: let the load decide */
	return data[CAP_NET_ADMIN / 32].effective & (1u << (CAP_NET_ADMIN % 32));
}
