// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* probe_loader.c - kernel checks, BPF load and attach, kernel counters. */
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <stdbool.h>
#include <stdarg.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kspan.skel.h"
#include "loader/insertion_checks.h"
#include "lib/clock.h"
#include "loader/go_tls_attach.h"
#include "loader/nginx_attach.h"
#include "loader/kernel_features.h"
#include "loader/local_addrs.h"
#include "kspan_abi.h"
#include "lib/log.h"
#include "loader/probe_loader.h"
#include "loader/self_pid.h"
#include "loader/tls_programs.h"
#include "loader/verifier_budget.h"

/* libbpf's own messages (failed loads, the verifier log) only with -v: a
 * backend that fails is reported in one line, and the next one tried. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	if (!log_is_verbose())
		return 0;
	fputs("kspan: libbpf: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static bool has_effective_cap(const struct __user_cap_data_struct data[2], int cap)
{
	return data[cap / 32].effective & (1u << (cap % 32));
}

/* Loading tracing programs needs CAP_BPF + CAP_PERFMON (5.8+), or
 * CAP_SYS_ADMIN; say so up front instead of failing on a later EPERM. */
static int check_capabilities(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return 0; /* cannot tell: let the load decide */
	if (has_effective_cap(data, CAP_SYS_ADMIN) ||
	    (has_effective_cap(data, CAP_BPF) && has_effective_cap(data, CAP_PERFMON)))
		return 0;
	log_warn("missing capabilities: kspan needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN); "
		 "run it as root or grant them (see deploy/kubernetes for the full list)");
	return -EPERM;
}

static int check_btf(void)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK) == 0)
		return 0;
	log_warn("this kernel exposes no BTF (/sys/kernel/btf/vmlinux): kspan needs a kernel "
		 "built with CONFIG_DEBUG_INFO_BTF=y");
	return -ENOENT;
}

static int fill_filters(struct kspan_bpf *skel, const struct agent_options *o)
{
	__u8 one = 1;

	/* traced_pids is a bitmap (bpf/base/maps.bpf.h): read, set, write. */
	for (size_t i = 0; i < o->pid_count; i++) {
		__u32 slot = o->pids[i] / 64;
		__u64 bits = 0;
		if (bpf_map__lookup_elem(skel->maps.traced_pids, &slot, sizeof(slot), &bits,
					 sizeof(bits), 0))
			return -errno;
		bits |= 1ull << (o->pids[i] % 64);
		if (bpf_map__update_elem(skel->maps.traced_pids, &slot, sizeof(slot), &bits,
					 sizeof(bits), BPF_ANY))
			return -errno;
	}
	for (size_t i = 0; i < o->port_count; i++) {
		__u16 port = o->ports[i];
		if (bpf_map__update_elem(skel->maps.traced_ports, &port, sizeof(port), &one,
					 sizeof(one), BPF_ANY))
			return -errno;
	}
	return 0;
}

/* The kernel functions the socket-function backends hook. */
static const char *const socket_hook_targets[] = {
    "tcp_sendmsg", "tcp_recvmsg", "inet_csk_accept", "tcp_connect", "tcp_close",
};
/* Hooked where the kernel has them, left out otherwise: tcp_sendpage
 * (sendfile before 6.5), tcp_bpf_sendmsg (sockets with an sk_msg program). */
static const char *const optional_hook_targets[] = {"tcp_sendpage", "tcp_bpf_sendmsg"};

static bool optional_target(const char *func)
{
	for (size_t i = 0; i < sizeof(optional_hook_targets) / sizeof(optional_hook_targets[0]);
	     i++)
		if (strcmp(func, optional_hook_targets[i]) == 0)
			return true;
	return false;
}

/* The tracepoint backend's two programs come in two flavours
 * (bpf/attach/tracepoint.bpf.h): tp_btf, and raw_tp where tp_btf is refused. */
#define TP_BTF_PREFIX "kspan_tp_sys_"
#define TP_RAW_PREFIX "kspan_tp_raw_sys_"
/* The socket tracepoint backend's programs (bpf/attach/socket_tracepoint.bpf.h). */
#define SOCKTP_PREFIX "kspan_socktp_"
/* ... and the tracepoints they need (kernel_btf_has_tracepoint). */
static const char *const socket_tracepoints[] = {
    "tcp_sendmsg_locked",
    "sock_send_length",
    "sock_recv_length",
    "inet_sock_set_state",
};

/* Which backend a program belongs to, by its section (the tracepoint
 * backend's by its name: its sections are tp_btf/ and raw_tp/, like those
 * of programs every backend loads); PROBE_BACKEND_AUTO for the programs
 * every backend loads (process exit, ...). */
static enum probe_backend program_backend(const struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog);
	const char *name = bpf_program__name(prog);

	if (strncmp(name, TP_BTF_PREFIX, strlen(TP_BTF_PREFIX)) == 0 ||
	    strncmp(name, TP_RAW_PREFIX, strlen(TP_RAW_PREFIX)) == 0)
		return PROBE_BACKEND_TRACEPOINT;
	if (strncmp(name, SOCKTP_PREFIX, strlen(SOCKTP_PREFIX)) == 0)
		return PROBE_BACKEND_SOCKET_TRACEPOINT;
	if (strncmp(sec, "kprobe/", 7) == 0 || strncmp(sec, "kretprobe/", 10) == 0)
		return PROBE_BACKEND_KPROBE;
	if (strncmp(sec, "fentry/", 7) == 0 || strncmp(sec, "fexit/", 6) == 0)
		return PROBE_BACKEND_FENTRY;
	return PROBE_BACKEND_AUTO;
}

static const char *program_target(const struct bpf_program *prog)
{
	const char *slash = strchr(bpf_program__section_name(prog), '/');

	return slash ? slash + 1 : "";
}

/* The socket tracepoint backend: every tracepoint it needs, and no header
 * insertion (its sk_msg plan would be decided too late: the write's entry
 * tracepoint fires after the sk_msg program). */
static int socket_tracepoint_check(struct probe_loader *l, char *why, size_t len)
{
	if (l->propagation & KSPAN_PROPAGATE_HEADERS) {
		snprintf(why, len, "socket-tracepoint: cannot insert headers");
		return -ENOTSUP;
	}
	for (size_t i = 0; i < sizeof(socket_tracepoints) / sizeof(socket_tracepoints[0]); i++) {
		if (!kernel_btf_has_tracepoint(l->btf, socket_tracepoints[i])) {
			snprintf(why, len, "socket-tracepoint: no %s tracepoint",
				 socket_tracepoints[i]);
			return -ENOENT;
		}
	}
	return 0;
}

/* Can backend b work on this kernel? Cheap checks before the real load. */
static int backend_check(struct probe_loader *l, enum probe_backend b, char *why, size_t len)
{
	const char *name = probe_backend_name(b);

	/* Raw syscall tracepoints: nothing to mount, no kernel function to
	 * find; whether tp_btf or raw_tp loads is learnt by loading. */
	if (b == PROBE_BACKEND_TRACEPOINT)
		return 0;
	if (b == PROBE_BACKEND_SOCKET_TRACEPOINT)
		return socket_tracepoint_check(l, why, len);
	for (size_t i = 0; i < sizeof(socket_hook_targets) / sizeof(socket_hook_targets[0]); i++) {
		if (!kernel_btf_has_func(l->btf, socket_hook_targets[i])) {
			snprintf(why, len, "%s: no %s in the kernel's BTF", name,
				 socket_hook_targets[i]);
			return -ENOENT;
		}
	}
	if (b == PROBE_BACKEND_KPROBE)
		return kernel_kprobe_pmu_exists(why, len);
	return kernel_fentry_can_attach(l->btf, "tcp_sendmsg", why, len);
}

/* Entries of the traced_pids bitmap: 64 pids each, up to the largest. */
static __u32 traced_pid_slots(const struct agent_options *o)
{
	__u32 top = 0;

	for (size_t i = 0; i < o->pid_count; i++)
		if (o->pids[i] > top)
			top = o->pids[i];
	return top / 64 + 1;
}

static void configure(struct probe_loader *l, const struct agent_options *o)
{
	int flags_arg = kernel_btf_param_index(l->btf, "tcp_recvmsg", "flags");
	const char *how;

	l->skel->rodata->self_tgid = self_pid_in_kernel("/proc", &how);
	log_debug("kspan is pid %u for its probes (%s)", l->skel->rodata->self_tgid, how);
	l->skel->rodata->filter_pids = o->pid_count > 0;
	l->skel->rodata->filter_ports = o->port_count > 0;
	l->skel->rodata->capture_bytes = o->capture_bytes;
	l->skel->rodata->wakeup_data_bytes = probe_loader_wakeup_bytes(o->ringbuf_bytes);
	l->skel->rodata->wakeup_cpu_bytes =
	    probe_loader_wakeup_cpu_bytes(o->ringbuf_bytes, libbpf_num_possible_cpus());
	l->skel->rodata->propagation = l->propagation;
	l->skel->rodata->sampler_root = (__u8)o->sampler.root;
	l->skel->rodata->sampler_parent_based = o->sampler.parent_based;
	l->skel->rodata->sampler_threshold = o->sampler.threshold;
	if (flags_arg > 0)
		l->skel->rodata->tcp_recvmsg_flags_arg = (__u32)flags_arg;
	bpf_map__set_max_entries(l->skel->maps.events, o->ringbuf_bytes);
	bpf_map__set_max_entries(l->skel->maps.traced_pids, traced_pid_slots(o));
}

/* Only backend b's programs (and the common ones) are loaded. */
static void select_programs(struct probe_loader *l, enum probe_backend b)
{
	struct bpf_program *prog;

	bpf_object__for_each_program (prog, l->skel->obj) {
		enum probe_backend pb = program_backend(prog);
		bool load = pb == PROBE_BACKEND_AUTO || pb == b;

		if (load && pb == PROBE_BACKEND_TRACEPOINT)
			load = strncmp(bpf_program__name(prog),
				       l->tp_raw ? TP_RAW_PREFIX : TP_BTF_PREFIX,
				       strlen(l->tp_raw ? TP_RAW_PREFIX : TP_BTF_PREFIX)) == 0;
		else if (load && optional_target(program_target(prog)))
			load = kernel_btf_has_func(l->btf, program_target(prog));
		bpf_program__set_autoload(prog, load);
	}
}

/* Where cgroup v2 is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on
 * hybrid hosts); "" when nowhere. */
static void find_cgroup2(char *out, size_t size)
{
	FILE *f = setmntent("/proc/mounts", "r");
	struct mntent *m;

	out[0] = 0;
	if (!f)
		return;
	while ((m = getmntent(f))) {
		if (strcmp(m->mnt_type, "cgroup2") == 0) {
			snprintf(out, size, "%s", m->mnt_dir);
			break;
		}
	}
	endmntent(f);
}

/* Header insertion is off from here on (after load): nothing is planned in
 * the kernel, and the sk_msg program leaves the sockhash. */
static void insertion_off(struct probe_loader *l)
{
	l->skel->bss->insert_headers_off = 1;
	l->propagation &= ~KSPAN_PROPAGATE_HEADERS;
	if (l->sk_msg_map_fd >= 0)
		bpf_prog_detach2(bpf_program__fd(l->skel->progs.kspan_sk_msg_inject),
				 l->sk_msg_map_fd, BPF_SK_MSG_VERDICT);
	l->sk_msg_map_fd = -1;
}

/*
 * Header insertion (bpf/propagation/header_insertion.bpf.h): sk_msg on the
 * sockhash edits outgoing requests; a tp_btf program marks the connect()s of
 * traced processes, sock_ops on the root cgroup v2 puts the marked sockets in
 * the sockhash once established (propagation/inject_sockets.bpf.h). The
 * push self-check runs between the two, while no traced socket can be in
 * the sockhash yet. Without cgroup v2, or when the check fails, kspan still
 * traces and joins same-node traces by tuple; it says so and goes on.
 */
static int attach_injection(struct probe_loader *l)
{
	char root[256], why[256] = "";
	struct bpf_link *link;
	int cg, err;

	find_cgroup2(root, sizeof(root));
	if (!root[0]) {
		log_warn("no cgroup v2 mount in /proc/mounts: traceparent insertion is off (mount "
			 "one: mount -t cgroup2 none /sys/fs/cgroup/unified)");
		insertion_off(l);
		return 0;
	}
	l->sk_msg_map_fd = bpf_map__fd(l->skel->maps.inject_sockets);
	if (bpf_prog_attach(bpf_program__fd(l->skel->progs.kspan_sk_msg_inject), l->sk_msg_map_fd,
			    BPF_SK_MSG_VERDICT, 0)) {
		err = -errno;
		l->sk_msg_map_fd = -1;
		log_warn("attaching sk_msg failed: %s", strerror(-err));
		return err;
	}
	err = insertion_check_push(l->skel, why, sizeof(why));
	if (err) {
		log_warn("traceparent insertion is off: its self-check %s (%s)%s",
			 err == -EIO ? "found this kernel's bpf_msg_push_data/pop_data wrong"
				     : "could not run",
			 why, l->propagation & KSPAN_PROPAGATE_TUPLE ? "; propagation: tuple" : "");
		insertion_off(l);
		return 0;
	}
	log_debug("traceparent insertion self-check passed: every inserted byte arrived as "
		  "expected (push, pop, several scatterlist elements)");
	cg = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0) {
		log_warn("opening cgroup v2 root %s failed (%s): traceparent insertion is off",
			 root, strerror(errno));
		insertion_off(l);
		return 0;
	}
	link = bpf_program__attach(l->skel->progs.kspan_btf_inet_sock_set_state);
	if (!link) {
		err = -errno;
		close(cg);
		log_warn("attaching tp_btf/inet_sock_set_state failed (%s): traceparent insertion "
			 "is off",
			 strerror(-err));
		insertion_off(l);
		return 0;
	}
	l->links[l->attached_programs++] = link;
	link = bpf_program__attach_cgroup(l->skel->progs.kspan_sockops_inject, cg);
	err = link ? 0 : -errno;
	close(cg);
	if (err) {
		log_warn("attaching sock_ops to %s failed (%s): traceparent insertion is off", root,
			 strerror(-err));
		insertion_off(l);
		return 0;
	}
	l->links[l->attached_programs++] = link;
	log_info("traceparent insertion: sock_ops on cgroup %s, sk_msg on its sockhash", root);
	return 0;
}

static int attach_all(struct probe_loader *l, char *why, size_t len)
{
	struct bpf_program *prog;

	bpf_object__for_each_program (prog, l->skel->obj) {
		struct bpf_link *link;

		if (!bpf_program__autoload(prog) || !bpf_program__autoattach(prog))
			continue;
		if (l->attached_programs == PROBE_LOADER_MAX_LINKS)
			return -E2BIG;
		link = bpf_program__attach(prog);
		if (!link) {
			int err = -errno;
			snprintf(why, len, "%s: attaching %s failed: %s",
				 probe_backend_name(l->backend), bpf_program__section_name(prog),
				 strerror(-err));
			return err;
		}
		l->links[l->attached_programs++] = link;
	}
	if (l->propagation & KSPAN_PROPAGATE_HEADERS)
		return attach_injection(l);
	return 0;
}

static void unload(struct probe_loader *l)
{
	probe_loader_detach(l);
	kspan_bpf__destroy(l->skel);
	l->skel = NULL;
}

/* Opens, configures and loads backend b's programs, with the TLS uprobe
 * bodies run with preemption disabled or not (tls_programs_select). */
static int open_and_load(struct probe_loader *l, const struct agent_options *o,
			 enum probe_backend b, bool tls_guarded)
{
	l->skel = kspan_bpf__open();
	if (!l->skel)
		return -errno;
	configure(l, o);
	select_programs(l, b);
	tls_programs_select(l->skel, tls_guarded);
	go_tls_programs_select(l->skel->obj, tls_guarded);
	nginx_programs_select(l->skel->obj);
	/* Attached per node executable (node_attach.c). */
	bpf_program__set_autoattach(l->skel->progs.kspan_uprobe_node_on_uv_read, false);
	bpf_program__set_autoattach(l->skel->progs.kspan_uretprobe_node_on_uv_read, false);
	/* Attached by attach_injection(), or not loaded at all. */
	bpf_program__set_autoattach(l->skel->progs.kspan_btf_inet_sock_set_state, false);
	bpf_program__set_autoattach(l->skel->progs.kspan_sockops_inject, false);
	bpf_program__set_autoattach(l->skel->progs.kspan_sk_msg_inject, false);
	/* This node's addresses, learnt from passive opens, matter only to the
	 * same-node join by tuple. */
	if (!(l->propagation & KSPAN_PROPAGATE_TUPLE))
		bpf_program__set_autoload(l->skel->progs.kspan_btf_passive_open, false);
	if (!(l->propagation & KSPAN_PROPAGATE_HEADERS)) {
		bpf_program__set_autoload(l->skel->progs.kspan_btf_inet_sock_set_state, false);
		bpf_program__set_autoload(l->skel->progs.kspan_sockops_inject, false);
		bpf_program__set_autoload(l->skel->progs.kspan_sk_msg_inject, false);
		/* Only those programs use them, and creating a sockhash or socket
		 * storage needs CAP_NET_ADMIN: without insertion kspan needs none. */
		bpf_map__set_autocreate(l->skel->maps.inject_candidates, false);
		bpf_map__set_autocreate(l->skel->maps.inject_sockets, false);
	}
	/* The socket tracepoint front-end's per-socket storage. */
	if (b != PROBE_BACKEND_SOCKET_TRACEPOINT)
		bpf_map__set_autocreate(l->skel->maps.socktp_socks, false);
	l->tls_guarded = tls_guarded;
	return kspan_bpf__load(l->skel);
}

/* Opens, configures, loads and attaches backend b; on failure everything is
 * undone and why says what failed. */
static int backend_start(struct probe_loader *l, const struct agent_options *o,
			 enum probe_backend b, char *why, size_t len)
{
	const char *name = probe_backend_name(b);
	/* bpf_preempt_disable (6.10+): the TLS uprobe bodies use it. A
	 * verifier that refuses global functions under it (before the
	 * relaxation of commit "bpf: Allow calling global subprogs ...")
	 * fails the load: the other set is loaded instead. */
	bool guarded = kernel_btf_has_func(l->btf, "bpf_preempt_disable");
	int err;

	l->backend = b;
	err = open_and_load(l, o, b, guarded);
	if (err && guarded && l->skel) {
		log_debug("%s: loading with preemption disabled in the TLS uprobes failed (%s); "
			  "loading them preemptible",
			  name, strerror(-err));
		kspan_bpf__destroy(l->skel);
		err = open_and_load(l, o, b, false);
	}
	if (!l->skel) {
		snprintf(why, len, "opening the BPF object failed: %s", strerror(-err));
		return err;
	}
	if (err) {
		if (err == -EPERM)
			snprintf(why, len,
				 "%s: loading was refused (%s): kspan needs root or CAP_BPF and "
				 "CAP_PERFMON (and CAP_NET_ADMIN for header insertion)",
				 name, strerror(-err));
		else
			snprintf(why, len, "%s: loading failed: %s (-v shows the verifier log)",
				 name, strerror(-err));
		goto fail;
	}
	err = fill_filters(l->skel, o);
	if (err) {
		snprintf(why, len, "filling the --pid/--port filter maps failed: %s",
			 strerror(-err));
		goto fail;
	}
	err = attach_all(l, why, len);
	if (err)
		goto fail;
	return 0;
fail:
	unload(l);
	return err;
}

/* Appends "; text" (or text) to the reasons line. */
static void add_reason(char *line, size_t len, const char *text)
{
	size_t n = strlen(line);

	if (n < len)
		snprintf(line + n, len - n, "%s%s", n ? "; " : "", text);
}

/* The tracepoint backend's tp_btf programs failed (why): the same on raw_tp,
 * which only differ in reading the registers with probe reads. */
static int tracepoint_raw_fallback(struct probe_loader *l, const struct agent_options *o, char *why,
				   size_t len)
{
	char btf_why[200];
	int err;

	snprintf(btf_why, sizeof(btf_why), "%s", why);
	l->tp_raw = true;
	err = backend_start(l, o, PROBE_BACKEND_TRACEPOINT, why, len);
	if (!err)
		snprintf(l->attach_note, sizeof(l->attach_note),
			 ": raw_tp sys_enter/sys_exit (tp_btf: %s)", btf_why);
	return err;
}

/*
 * --backend NAME: that one, or exit with why. auto: fentry, kprobe,
 * socket-tracepoint, then tracepoint; a backend whose check, load or attach
 * fails is undone and the next one tried. Either way one line says which
 * backend runs and why the better ones do not.
 */
static int start_backend(struct probe_loader *l, const struct agent_options *o)
{
	static const enum probe_backend order[] = {PROBE_BACKEND_FENTRY, PROBE_BACKEND_KPROBE,
						   PROBE_BACKEND_SOCKET_TRACEPOINT,
						   PROBE_BACKEND_TRACEPOINT};
	char reasons[768] = "", why[256];
	struct verifier_budget budget;
	int err = -ENOTSUP;

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		enum probe_backend b = order[i];

		if (o->backend != PROBE_BACKEND_AUTO && o->backend != b)
			continue;
		why[0] = 0;
		err = backend_check(l, b, why, sizeof(why));
		if (!err)
			err = backend_start(l, o, b, why, sizeof(why));
		if (err && b == PROBE_BACKEND_TRACEPOINT)
			err = tracepoint_raw_fallback(l, o, why, sizeof(why));
		else if (!err && b == PROBE_BACKEND_TRACEPOINT)
			snprintf(l->attach_note, sizeof(l->attach_note),
				 ": tp_btf sys_enter/sys_exit");
		if (!err) {
			if (o->backend != PROBE_BACKEND_AUTO)
				log_info("backend %s (forced by --backend)%s",
					 probe_backend_name(b), l->attach_note);
			else
				log_info("backend %s (auto: %s%s)%s", probe_backend_name(b),
					 reasons[0] ? reasons : probe_backend_name(b),
					 reasons[0] ? "" : " attached", l->attach_note);
			log_debug("attached %d BPF programs", l->attached_programs);
			verifier_budget_read(l->skel->obj, &budget);
			verifier_budget_report(&budget);
			return 0;
		}
		if (o->backend != PROBE_BACKEND_AUTO) {
			log_warn("backend %s cannot work here: %s", probe_backend_name(b), why);
			return err;
		}
		add_reason(reasons, sizeof(reasons), why);
	}
	log_warn("no probe backend works on this kernel: %s", reasons);
	return err;
}

int probe_loader_check_insertion(struct agent_options *o)
{
	char why[256] = "";
	int ok;

	if (!(o->propagation & KSPAN_PROPAGATE_HEADERS))
		return PROBE_FIONREAD_UNCHECKED;
	ok = insertion_check_fionread(why, sizeof(why));
	if (ok < 0) {
		/* Attaching will say what is missing, if anything. */
		log_debug("FIONREAD check could not run: %s", why);
		return PROBE_FIONREAD_UNCHECKED;
	}
	if (ok)
		return PROBE_FIONREAD_RIGHT;
	if (o->insert_despite_fionread)
		return PROBE_FIONREAD_WRONG_INSERTING;
	o->propagation = (o->propagation & ~KSPAN_PROPAGATE_HEADERS) | KSPAN_PROPAGATE_TUPLE;
	return PROBE_FIONREAD_WRONG_OFF;
}

void probe_loader_report_insertion(int fionread)
{
	if (fionread == PROBE_FIONREAD_WRONG_INSERTING)
		log_warn(
		    "traceparent insertion is on although this kernel's sockhash breaks FIONREAD "
		    "(commit 929e30f93125; --insert-despite-fionread): the HTTP client sockets "
		    "kspan edits report FIONREAD 0 while it runs");
	else if (fionread == PROBE_FIONREAD_WRONG_OFF)
		log_warn(
		    "traceparent insertion is off: on this kernel a socket in a sockhash reports "
		    "FIONREAD 0 (commit 929e30f93125), which stalls programs that size their "
		    "reads with it; propagation: tuple (--insert-despite-fionread inserts anyway)");
}

static void refresh_local_addrs(struct probe_loader *l, uint64_t now);

int probe_loader_start(struct probe_loader *l, const struct agent_options *o)
{
	struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
	int err;

	memset(l, 0, sizeof(*l));
	l->sk_msg_map_fd = -1;
	libbpf_set_print(libbpf_print);
	err = check_capabilities();
	if (!err)
		err = check_btf();
	if (err)
		return err;
	l->btf = kernel_btf_load();
	if (!l->btf) {
		log_warn("reading the kernel's BTF (/sys/kernel/btf/vmlinux) failed");
		return -ENOENT;
	}
	/* Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK. */
	setrlimit(RLIMIT_MEMLOCK, &unlimited);
	l->propagation = o->propagation;
	err = start_backend(l, o);
	if (err)
		return err;
	refresh_local_addrs(l, clock_mono_ns());
	return 0;
}

/* This node's interface addresses into the kernel's map, every
 * LOCAL_ADDRS_REFRESH_NS. */
static void refresh_local_addrs(struct probe_loader *l, uint64_t now)
{
	int n;

	if (!l->skel || now < l->next_local_addrs_ns)
		return;
	l->next_local_addrs_ns = now + LOCAL_ADDRS_REFRESH_NS;
	n = local_addrs_refresh(bpf_map__fd(l->skel->maps.local_addrs));
	if (n < 0)
		log_debug("reading this node's addresses failed (%s): same-node joins by tuple "
			  "rely on loopback and the addresses traced servers accept on",
			  strerror(-n));
}

struct bpf_object *probe_loader_object(const struct probe_loader *l)
{
	return l->skel ? l->skel->obj : NULL;
}

volatile uint32_t *probe_loader_go_processes_gen(const struct probe_loader *l)
{
	return l->skel && l->skel->bss ? &l->skel->bss->go_processes_gen : NULL;
}

int probe_loader_ringbuf_fd(const struct probe_loader *l)
{
	return bpf_map__fd(l->skel->maps.events);
}

void probe_loader_probe_tls(struct probe_loader *l, const struct agent_options *o,
			    struct agent_stats *stats)
{
	tls_libraries_init(&l->tls, l->skel, l->tls_guarded, "/proc", stats);
	/* o outlives the agent's loop: the list is read, never copied. */
	tls_libraries_only_pids(&l->tls, o->pids, o->pid_count);
	log_debug("TLS uprobes run with preemption %s", l->tls_guarded ? "disabled" : "enabled");
	tls_libraries_scan_all(&l->tls);
}

void probe_loader_on_exec(struct probe_loader *l, uint32_t pid, uint64_t now)
{
	tls_libraries_on_exec(&l->tls, pid, now);
}

void probe_loader_tick(struct probe_loader *l, uint64_t now)
{
	refresh_local_addrs(l, now);
	tls_libraries_tick(&l->tls, now);
}

void probe_loader_detach(struct probe_loader *l)
{
	tls_libraries_detach(&l->tls);
	if (l->sk_msg_map_fd >= 0)
		bpf_prog_detach2(bpf_program__fd(l->skel->progs.kspan_sk_msg_inject),
				 l->sk_msg_map_fd, BPF_SK_MSG_VERDICT);
	l->sk_msg_map_fd = -1;
	for (int i = 0; i < l->attached_programs; i++)
		bpf_link__destroy(l->links[i]);
	l->attached_programs = 0;
}

void probe_loader_destroy(struct probe_loader *l)
{
	unload(l);
	tls_libraries_free(&l->tls);
	btf__free(l->btf);
	l->btf = NULL;
}

static uint64_t counter_sum(const struct probe_loader *l, __u32 which)
{
	int cpus = libbpf_num_possible_cpus();
	__u64 values[cpus > 0 ? cpus : 1];
	uint64_t sum = 0;

	if (cpus <= 0 || bpf_map__lookup_elem(l->skel->maps.counters, &which, sizeof(which), values,
					      sizeof(values), 0))
		return 0;
	for (int i = 0; i < cpus; i++)
		sum += values[i];
	return sum;
}

void probe_loader_read_counters(const struct probe_loader *l, struct agent_stats *stats)
{
	if (!l->skel)
		return;
	__atomic_store_n(&stats->kernel_ringbuf_drops, counter_sum(l, KSPAN_CNT_RINGBUF_DROPS),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&stats->kernel_capture_faults, counter_sum(l, KSPAN_CNT_CAPTURE_FAULTS),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&stats->kernel_inflight_full, counter_sum(l, KSPAN_CNT_INFLIGHT_FULL),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&stats->kernel_conn_table_full, counter_sum(l, KSPAN_CNT_CONN_TABLE_FULL),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&stats->traceparent_injected,
			 counter_sum(l, KSPAN_CNT_TRACEPARENT_INJECTED), __ATOMIC_RELAXED);
	__atomic_store_n(&stats->traceparent_inject_skipped,
			 counter_sum(l, KSPAN_CNT_INJECT_SKIPPED), __ATOMIC_RELAXED);
	__atomic_store_n(&stats->traceparent_inject_skipped_no_room,
			 counter_sum(l, KSPAN_CNT_H1_INJECT_NO_ROOM), __ATOMIC_RELAXED);
	__atomic_store_n(&stats->traceparent_inject_failed, counter_sum(l, KSPAN_CNT_INJECT_FAILED),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&stats->h2_traceparent_injected, counter_sum(l, KSPAN_CNT_H2_INJECTED),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&stats->h2_inject_skipped_own, counter_sum(l, KSPAN_CNT_H2_INJECT_OWN),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&stats->h2_inject_skipped_unfit, counter_sum(l, KSPAN_CNT_H2_INJECT_UNFIT),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&stats->h2_inject_skipped_unreached,
			 counter_sum(l, KSPAN_CNT_H2_INJECT_UNREACHED), __ATOMIC_RELAXED);
	__atomic_store_n(&stats->h2_requests_undecided, counter_sum(l, KSPAN_CNT_H2_UNDECIDED),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&stats->h2_client_conns_unfollowed,
			 counter_sum(l, KSPAN_CNT_H2_TX_UNFOLLOWED), __ATOMIC_RELAXED);
	__atomic_store_n(&stats->inject_sockets_added,
			 counter_sum(l, KSPAN_CNT_INJECT_SOCKETS_ADDED), __ATOMIC_RELAXED);
	__atomic_store_n(&stats->inject_sockets_removed,
			 counter_sum(l, KSPAN_CNT_INJECT_SOCKETS_REMOVED), __ATOMIC_RELAXED);
	__atomic_store_n(&stats->inject_sockets_stuck,
			 counter_sum(l, KSPAN_CNT_INJECT_SOCKETS_STUCK), __ATOMIC_RELAXED);
	__atomic_store_n(&stats->h1_inject_stopped_unfollowed,
			 counter_sum(l, KSPAN_CNT_H1_TX_UNFOLLOWED), __ATOMIC_RELAXED);
	__atomic_store_n(&stats->h1_inject_stopped_unframed,
			 counter_sum(l, KSPAN_CNT_H1_TX_UNFRAMED), __ATOMIC_RELAXED);
	__atomic_store_n(&stats->h1_inject_stopped_not_request,
			 counter_sum(l, KSPAN_CNT_H1_TX_NOT_REQUEST), __ATOMIC_RELAXED);
	__atomic_store_n(&stats->h1_inject_stopped_overrun, counter_sum(l, KSPAN_CNT_H1_TX_OVERRUN),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&stats->h2_client_conns_desynced, counter_sum(l, KSPAN_CNT_H2_TX_DESYNC),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&stats->h2_inject_skipped_mismatch,
			 counter_sum(l, KSPAN_CNT_H2_INJECT_MISMATCH), __ATOMIC_RELAXED);
	__atomic_store_n(&stats->kernel_head_scans_incomplete,
			 counter_sum(l, KSPAN_CNT_HEAD_SCAN_INCOMPLETE), __ATOMIC_RELAXED);
	__atomic_store_n(&stats->tls_ciphertext_skipped,
			 counter_sum(l, KSPAN_CNT_TLS_CIPHERTEXT_SKIPPED), __ATOMIC_RELAXED);
	__atomic_store_n(&stats->tls_unbound, counter_sum(l, KSPAN_CNT_TLS_UNBOUND),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&stats->tls_unprobed_conns, counter_sum(l, KSPAN_CNT_TLS_UNPROBED_CONNS),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&stats->tls_membio_bound, counter_sum(l, KSPAN_CNT_TLS_MEMBIO_BOUND),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&stats->kernel_go_tls_no_socket,
			 counter_sum(l, KSPAN_CNT_GO_TLS_NO_SOCKET), __ATOMIC_RELAXED);
	__atomic_store_n(&stats->kernel_go_tls_held_bytes_lost,
			 counter_sum(l, KSPAN_CNT_GO_TLS_HELD_BYTE_LOST), __ATOMIC_RELAXED);
	__atomic_store_n(&stats->tls_calls_lost, counter_sum(l, KSPAN_CNT_TLS_CALLS_LOST),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&stats->kernel_nginx_linked, counter_sum(l, KSPAN_CNT_NGINX_LINKED),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&stats->kernel_nginx_unserved, counter_sum(l, KSPAN_CNT_NGINX_UNSERVED),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&stats->kernel_nginx_unattributed,
			 counter_sum(l, KSPAN_CNT_NGINX_UNATTRIBUTED), __ATOMIC_RELAXED);
	__atomic_store_n(&stats->kernel_nginx_stale, counter_sum(l, KSPAN_CNT_NGINX_STALE),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&stats->node_client_requests_linked,
			 counter_sum(l, KSPAN_CNT_NODE_CLIENT_LINKED), __ATOMIC_RELAXED);
	__atomic_store_n(&stats->node_client_requests_unattributed,
			 counter_sum(l, KSPAN_CNT_NODE_CLIENT_UNATTRIBUTED), __ATOMIC_RELAXED);
	__atomic_store_n(&stats->kernel_go_client_unattributed,
			 counter_sum(l, KSPAN_CNT_GO_CLIENT_UNATTRIBUTED), __ATOMIC_RELAXED);
	__atomic_store_n(&stats->kernel_go_parent_ended, counter_sum(l, KSPAN_CNT_GO_PARENT_ENDED),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&stats->kernel_go_no_goroutine, counter_sum(l, KSPAN_CNT_GO_NO_GOROUTINE),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&stats->passthrough_rewritten,
			 counter_sum(l, KSPAN_CNT_PASSTHROUGH_REWRITTEN), __ATOMIC_RELAXED);
	__atomic_store_n(&stats->passthrough_not_rewritten_no_insertion,
			 counter_sum(l, KSPAN_CNT_PASSTHROUGH_NO_INSERTION), __ATOMIC_RELAXED);
	__atomic_store_n(&stats->passthrough_not_rewritten_unfollowed,
			 counter_sum(l, KSPAN_CNT_PASSTHROUGH_UNFOLLOWED), __ATOMIC_RELAXED);
	__atomic_store_n(&stats->passthrough_not_rewritten_unreached,
			 counter_sum(l, KSPAN_CNT_PASSTHROUGH_UNREACHED), __ATOMIC_RELAXED);
	__atomic_store_n(&stats->passthrough_tls_linked,
			 counter_sum(l, KSPAN_CNT_PASSTHROUGH_TLS_LINKED), __ATOMIC_RELAXED);
	__atomic_store_n(&stats->passthrough_ambiguous,
			 counter_sum(l, KSPAN_CNT_PASSTHROUGH_AMBIGUOUS), __ATOMIC_RELAXED);
	__atomic_store_n(&stats->passthrough_evicted, counter_sum(l, KSPAN_CNT_PASSTHROUGH_EVICTED),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&stats->kernel_socket_reads_unseen,
			 counter_sum(l, KSPAN_CNT_SOCKTP_READ_UNSEEN), __ATOMIC_RELAXED);
}
