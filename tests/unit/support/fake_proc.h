/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * fake_proc.h - a /proc written in a temporary directory, holding one
 * process (a service in a Kubernetes pod, with a secret in its
 * environment), so that every resource attribute is known in advance.
 * Include after <cmocka.h>.
 */
#ifndef KSPAN_TEST_FAKE_PROC_H
#define KSPAN_TEST_FAKE_PROC_H

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* The fake /proc holds one process: a service in a Kubernetes pod. */
#define SERVER_PID   4242
#define CLIENT_PID   5151 /* a short-lived client: no /proc entry, PROC_INFO only */
#define CONTAINER_ID "9d2f0c6a1b3e4d5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a7b8c9d0e1f2a3b"
#define SECRET	     "sk_live_hunter2"

static const char *const fake_files[] = {"comm", "cmdline", "environ", "cgroup", "exe"};

static inline void write_proc_file(const char *root, const char *name, const void *data, size_t len)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%u/%s", root, SERVER_PID, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static inline void make_fake_proc(const char *root)
{
	static const char cmdline[] = "/usr/bin/checkout-bin\0--port\0"
				      "8080";
	static const char environ[] = "PATH=/usr/bin\0OTEL_SERVICE_NAME=checkout\0"
				      "STRIPE_SECRET_KEY=" SECRET "\0LANG=C.UTF-8";
	static const char cgroup[] =
	    "0::/kubepods.slice/kubepods-burstable.slice/"
	    "kubepods-burstable-pod3c1e4a52_7d0b_4a7e_9f21_5e8c2b6d1f04.slice/"
	    "cri-containerd-" CONTAINER_ID ".scope\n";
	char path[128];

	snprintf(path, sizeof(path), "%s/%u", root, SERVER_PID);
	assert_int_equal(mkdir(path, 0755), 0);
	write_proc_file(root, "comm", "checkout\n", 9);
	/* sizeof: /proc ends cmdline and environ with a NUL. */
	write_proc_file(root, "cmdline", cmdline, sizeof(cmdline));
	write_proc_file(root, "environ", environ, sizeof(environ));
	write_proc_file(root, "cgroup", cgroup, sizeof(cgroup) - 1);
	snprintf(path, sizeof(path), "%s/%u/exe", root, SERVER_PID);
	assert_int_equal(symlink("/usr/bin/checkout-bin", path), 0);
}

static inline void remove_fake_proc(const char *root)
{
	char path[128];

	for (size_t i = 0; i < sizeof(fake_files) / sizeof(fake_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%u/%s", root, SERVER_PID, fake_files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/%u", root, SERVER_PID);
	rmdir(path);
	rmdir(root);
}

#endif /* KSPAN_TEST_FAKE_PROC_H */
