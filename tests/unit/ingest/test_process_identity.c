// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_process_identity.c - the parsers that name a process in its OTLP
 * resource (process_table.h): the container id and the Kubernetes pod UID in
 * a cgroup path for the layouts of docker, containerd, CRI-O, podman and
 * kubelet's two cgroup drivers (cgroup v2 and v1), a path rebuilt from the
 * names the kernel sends, and the service name from the environment block
 * (OpenTelemetry SDK environment variables OTEL_SERVICE_NAME and
 * OTEL_RESOURCE_ATTRIBUTES).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ingest/process_table.h"

#define ID_A "4f1c6b0e2a9d8c7b6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa00"
#define ID_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void assert_container(const char *cgroup, const char *expected)
{
	char out[65];

	memset(out, '#', sizeof(out));
	if (container_id_from_cgroup(cgroup, out) != 0)
		fail_msg("no container id found in \"%s\"", cgroup);
	assert_int_equal(out[64], '\0');
	assert_string_equal(out, expected);
}

static void assert_no_container(const char *cgroup)
{
	char out[65];

	if (container_id_from_cgroup(cgroup, out) != -1)
		fail_msg("container id found in \"%s\"", cgroup);
}

static void assert_pod(const char *cgroup, const char *expected)
{
	char out[37];

	memset(out, '#', sizeof(out));
	if (expected) {
		if (pod_uid_from_cgroup(cgroup, out) != 0)
			fail_msg("no pod uid found in \"%s\"", cgroup);
		assert_int_equal(out[36], '\0');
		assert_string_equal(out, expected);
	} else if (pod_uid_from_cgroup(cgroup, out) != -1) {
		fail_msg("pod uid found in \"%s\"", cgroup);
	}
}

/* --- pod_uid_from_cgroup --------------------------------------------------------- */

static void test_pod_uid_layouts(void **state)
{
	(void)state;
	/* systemd driver: '_' in the slice name, '-' in the attribute. */
	assert_pod("0::/kubepods.slice/kubepods-burstable.slice/"
		   "kubepods-burstable-pod5d7c5c52_0d8e_4b1f_9bd1_0a6f2c1e7f1d.slice/"
		   "cri-containerd-" ID_A ".scope\n",
		   "5d7c5c52-0d8e-4b1f-9bd1-0a6f2c1e7f1d");
	/* Guaranteed QoS has no QoS slice; kind/k3s nest kubepods deeper. */
	assert_pod("0::/kubelet.slice/kubelet-kubepods.slice/"
		   "kubelet-kubepods-pod0f0e0d0c_0b0a_0908_0706_050403020100.slice/"
		   "crio-" ID_B ".scope\n",
		   "0f0e0d0c-0b0a-0908-0706-050403020100");
	/* cgroupfs driver, cgroup v1, after host controller lines. */
	assert_pod("13:rdma:/\n"
		   "12:pids:/kubepods/besteffort/pod5d7c5c52-0d8e-4b1f-9bd1-0a6f2c1e7f1d/" ID_B
		   "\n",
		   "5d7c5c52-0d8e-4b1f-9bd1-0a6f2c1e7f1d");
	/* Seen from a container's own cgroup namespace. */
	assert_pod("0::/../../kubepods-besteffort-pod5d7c5c52_0d8e_4b1f_9bd1_0a6f2c1e7f1d.slice/"
		   "cri-containerd-" ID_A ".scope\n",
		   "5d7c5c52-0d8e-4b1f-9bd1-0a6f2c1e7f1d");
}

static void test_pod_uid_absent(void **state)
{
	(void)state;
	assert_pod("0::/system.slice/docker-" ID_A ".scope\n", NULL);
	assert_pod("0::/user.slice/user-1000.slice/session-3.scope\n", NULL);
	/* "pod" + a UUID outside kubepods, or a malformed UUID, is not a pod. */
	assert_pod("0::/system.slice/pod5d7c5c52-0d8e-4b1f-9bd1-0a6f2c1e7f1d.scope\n", NULL);
	assert_pod("0::/kubepods/besteffort/pod5d7c5c52-0d8e-4b1f-9bd1-0a6f2c1e7f1/x\n", NULL);
	assert_pod("0::/kubepods/besteffort/pod5d7c5c52x0d8e-4b1f-9bd1-0a6f2c1e7f1d/x\n", NULL);
	assert_pod("0::/kubepods/besteffort/xpod5d7c5c52-0d8e-4b1f-9bd1-0a6f2c1e7f1d/x\n", NULL);
	assert_pod("", NULL);
	assert_pod("0::/kubepods", NULL);
}

/* --- container_id_from_cgroup ------------------------------------------------ */

static void test_container_docker(void **state)
{
	(void)state;
	assert_container("0::/system.slice/docker-" ID_A ".scope\n", ID_A);
	assert_container("0::/system.slice/docker-" ID_A ".scope", ID_A);
}

static void test_container_containerd(void **state)
{
	(void)state;
	assert_container("0::/kubepods.slice/kubepods-burstable.slice/"
			 "kubepods-burstable-pod5d7c5c52_0d8e_4b1f_9bd1_0a6f2c1e7f1d.slice/"
			 "cri-containerd-" ID_A ".scope\n",
			 ID_A);
	/* cgroupfs driver, cgroup v1: the id is a whole path component. */
	assert_container(
	    "12:pids:/kubepods/besteffort/pod5d7c5c52-0d8e-4b1f-9bd1-0a6f2c1e7f1d/" ID_B "\n",
	    ID_B);
}

static void test_container_crio(void **state)
{
	(void)state;
	assert_container("0::/kubepods.slice/kubepods-besteffort.slice/"
			 "kubepods-besteffort-pod0f0e0d0c_0b0a_0908_0706_050403020100.slice/"
			 "crio-" ID_B ".scope\n",
			 ID_B);
}

static void test_container_podman(void **state)
{
	(void)state;
	assert_container("0::/user.slice/user-1000.slice/user@1000.service/user.slice/"
			 "libpod-" ID_A ".scope\n",
			 ID_A);
	assert_container("0::/machine.slice/libpod-" ID_B ".scope/container\n", ID_B);
}

static void test_container_cgroup_v1(void **state)
{
	(void)state;
	assert_container("12:pids:/docker/" ID_A "\n"
			 "11:memory:/docker/" ID_A "\n"
			 "1:name=systemd:/docker/" ID_A "\n",
			 ID_A);
	/* A host controller line before the container's. */
	assert_container("13:rdma:/\n"
			 "12:cpu,cpuacct:/docker/" ID_B "\n",
			 ID_B);
}

static void test_container_host_paths(void **state)
{
	(void)state;
	assert_no_container("0::/user.slice/user-1000.slice/session-3.scope\n");
	assert_no_container("0::/system.slice/nginx.service\n");
	assert_no_container("0::/\n");
	assert_no_container("12:pids:/\n11:memory:/user.slice\n");
	assert_no_container("");
	/* Not 64 lowercase hex characters as one component. */
	assert_no_container("0::/system.slice/docker-"
			    "123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
			    ".scope\n");
	assert_no_container("0::/system.slice/docker-" ID_A "0.scope\n");
	assert_no_container(
	    "0::/system.slice/docker-"
	    "4F1C6B0E2A9D8C7B6A5F4E3D2C1B0A99887766554433221100FFEEDDCCBBAA00.scope\n");
	assert_no_container("0::/system.slice/x" ID_A ".scope\n");
}

/* kind: the Kubernetes node is itself a docker container; the process's
 * container is the innermost id. */
static void test_container_innermost(void **state)
{
	(void)state;
	assert_container(
	    "0::/system.slice/docker-" ID_A ".scope/kubelet.slice/"
	    "kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
	    "kubelet-kubepods-besteffort-pod0f0e0d0c_0b0a_0908_0706_050403020100.slice/"
	    "cri-containerd-" ID_B ".scope\n",
	    ID_B);
}

/* --- path_from_kernel_names ------------------------------------------------------ */

/* A kernel path literal: its components leaf first, each with its NUL
 * (sizeof - 1 drops the literal's own terminator). */
#define NAMES(literal) literal, sizeof(literal) - 1

static void assert_path(const char *names, size_t len, const char *expected)
{
	char out[128];

	memset(out, '#', sizeof(out));
	if (path_from_kernel_names(names, len, out, sizeof(out)) != (int)strlen(expected))
		fail_msg("path_from_kernel_names: not \"%s\"", expected);
	assert_string_equal(out, expected);
}

static void test_path_from_kernel_names(void **state)
{
	char out[14];

	(void)state;
	assert_path(NAMES("curl\0bin\0usr\0"), "/usr/bin/curl");
	assert_path(NAMES("python3.11\0"), "/python3.11");
	assert_path(NAMES(""), "/"); /* the root */
	assert_path(NAMES("cri-containerd-" ID_A ".scope\0kubepods.slice\0"),
		    "/kubepods.slice/cri-containerd-" ID_A ".scope");
	/* Malformed: the last name without its NUL, an empty name, a '/'. */
	assert_int_equal(path_from_kernel_names(NAMES("curl\0bin"), out, sizeof(out)), -1);
	assert_int_equal(path_from_kernel_names(NAMES("curl\0\0usr\0"), out, sizeof(out)), -1);
	assert_int_equal(path_from_kernel_names(NAMES("\0"), out, sizeof(out)), -1);
	assert_int_equal(path_from_kernel_names(NAMES("a/b\0usr\0"), out, sizeof(out)), -1);
	/* "/usr/bin/curl" and its NUL take 14 bytes: one less does not fit. */
	assert_int_equal(path_from_kernel_names(NAMES("curl\0bin\0usr\0"), out, sizeof(out)), 13);
	assert_string_equal(out, "/usr/bin/curl");
	assert_int_equal(path_from_kernel_names(NAMES("curl\0bin\0usr\0"), out, sizeof(out) - 1),
			 -1);
	assert_int_equal(path_from_kernel_names(NAMES(""), out, 1), -1);
}

/* --- service_name_from_environ ------------------------------------------------- */

/* Environment blocks are NUL-separated; sizeof includes the final NUL that
 * /proc/PID/environ also ends with. */
#define ENV(literal) literal, sizeof(literal)

static void test_service_name_from_otel_service_name(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(
	    service_name_from_environ(ENV("PATH=/usr/bin\0OTEL_SERVICE_NAME=checkout\0HOME=/"), out,
				      sizeof(out)),
	    0);
	assert_string_equal(out, "checkout");
}

static void test_service_name_otel_service_name_wins(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(
	    service_name_from_environ(ENV("OTEL_RESOURCE_ATTRIBUTES=service.name=from-attrs\0"
					  "OTEL_SERVICE_NAME=from-name"),
				      out, sizeof(out)),
	    0);
	assert_string_equal(out, "from-name");
	assert_int_equal(
	    service_name_from_environ(ENV("OTEL_SERVICE_NAME=from-name\0"
					  "OTEL_RESOURCE_ATTRIBUTES=service.name=from-attrs"),
				      out, sizeof(out)),
	    0);
	assert_string_equal(out, "from-name");
}

static void test_service_name_from_resource_attributes(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(service_name_from_environ(
			     ENV("A=1\0OTEL_RESOURCE_ATTRIBUTES=deployment.environment=prod,"
				 "service.name=payments,service.version=2\0B=2"),
			     out, sizeof(out)),
			 0);
	assert_string_equal(out, "payments");
	assert_int_equal(
	    service_name_from_environ(ENV("OTEL_RESOURCE_ATTRIBUTES=k=v, service.name=cart"), out,
				      sizeof(out)),
	    0);
	assert_string_equal(out, "cart");
	/* A longer key that starts like service.name is another key. */
	assert_int_equal(
	    service_name_from_environ(ENV("OTEL_RESOURCE_ATTRIBUTES=service.namespace=shop"), out,
				      sizeof(out)),
	    -1);
	/* An empty OTEL_SERVICE_NAME is unset. */
	assert_int_equal(service_name_from_environ(
			     ENV("OTEL_SERVICE_NAME=\0OTEL_RESOURCE_ATTRIBUTES=service.name=cart"),
			     out, sizeof(out)),
			 0);
	assert_string_equal(out, "cart");
}

static void test_service_name_absent(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(
	    service_name_from_environ(ENV("PATH=/usr/bin\0HOME=/root"), out, sizeof(out)), -1);
	assert_int_equal(service_name_from_environ("", 0, out, sizeof(out)), -1);
	assert_int_equal(service_name_from_environ(
			     ENV("OTEL_SERVICE_NAMEX=no\0XOTEL_SERVICE_NAME=no"), out, sizeof(out)),
			 -1);
	/* Too long for out: not cut, absent. */
	assert_int_equal(service_name_from_environ(ENV("OTEL_SERVICE_NAME=0123456789"), out, 8),
			 -1);
}

/* A process may rewrite its environment; the block then need not end with
 * NUL, and nothing past `len` may be read. */
static void test_service_name_last_var_without_nul(void **state)
{
	static const char name_block[] = "A=1\0OTEL_SERVICE_NAME=cart-and-more";
	static const char attrs_block[] = "A=1\0OTEL_RESOURCE_ATTRIBUTES=service.name=cart,x=y";
	char out[64];

	(void)state;
	/* len stops before "-and-more": the bytes after it are not the value. */
	assert_int_equal(service_name_from_environ(name_block,
						   sizeof("A=1\0OTEL_SERVICE_NAME=cart") - 1, out,
						   sizeof(out)),
			 0);
	assert_string_equal(out, "cart");
	assert_int_equal(
	    service_name_from_environ(attrs_block, sizeof(attrs_block) - 1, out, sizeof(out)), 0);
	assert_string_equal(out, "cart");
	/* len stops right after "cart": ",x=y" lies beyond it. */
	assert_int_equal(
	    service_name_from_environ(attrs_block,
				      sizeof("A=1\0OTEL_RESOURCE_ATTRIBUTES=service.name=cart") - 1,
				      out, sizeof(out)),
	    0);
	assert_string_equal(out, "cart");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pod_uid_layouts),
	    cmocka_unit_test(test_pod_uid_absent),
	    cmocka_unit_test(test_container_docker),
	    cmocka_unit_test(test_container_containerd),
	    cmocka_unit_test(test_container_crio),
	    cmocka_unit_test(test_container_podman),
	    cmocka_unit_test(test_container_cgroup_v1),
	    cmocka_unit_test(test_container_host_paths),
	    cmocka_unit_test(test_container_innermost),
	    cmocka_unit_test(test_path_from_kernel_names),
	    cmocka_unit_test(test_service_name_from_otel_service_name),
	    cmocka_unit_test(test_service_name_otel_service_name_wins),
	    cmocka_unit_test(test_service_name_from_resource_attributes),
	    cmocka_unit_test(test_service_name_absent),
	    cmocka_unit_test(test_service_name_last_var_without_nul),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
