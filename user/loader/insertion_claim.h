/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * insertion_claim.h - at most one kspan per node inserts traceparent headers.
 *
 * Two agents that both insert do not share their sockhashes: every agent's
 * sock_ops program runs for every connection, the first one (in attach order)
 * puts the socket in its own sockhash, and the other's insert fails (a socket
 * takes the sk_msg program of one map only). The first agent then writes its
 * ids on the wire while the second reports CLIENT spans whose ids went
 * nowhere, and each agent's counters describe the other's traffic. So the
 * agent that inserts holds a node-wide claim, and a second one runs without
 * insertion (tuple joining needs no sockhash) and says so in one line.
 *
 * The claim is a listening UNIX socket bound to an abstract name (unix(7)),
 * INSERTION_CLAIM_NAME. Why that and not a lock file or a pinned BPF object:
 * - abstract names live in the network namespace: with hostNetwork (the
 *   DaemonSet) that is the node's, shared with kspans run on the host
 *   itself, whatever their mount namespaces (a file in /run is per
 *   container, and the manifest's root filesystem is read-only);
 * - the kernel drops the name when the process exits, however it exits: no
 *   stale claim after a SIGKILL or an OOM kill (a pinned object in
 *   /sys/fs/bpf outlives its agent, and bpffs is rarely mounted in pods);
 * - no capability is needed (naming another agent's sk_msg program by id
 *   and name through bpf_prog_get_fd_by_id needs CAP_SYS_ADMIN, which the
 *   manifest does not grant);
 * - SO_PEERCRED on a connection to it names the holder's pid (as seen from
 *   the asking agent's pid namespace: the host's with hostPID).
 * What it cannot see: a kspan in another network namespace (a pod without
 * hostNetwork), or one older than this claim.
 */
#ifndef KSPAN_INSERTION_CLAIM_H
#define KSPAN_INSERTION_CLAIM_H

#include <stdbool.h>
#include <sys/types.h>

#define INSERTION_CLAIM_NAME "kspan/traceparent-insertion"

/* Zeroed: not held (release and serve do nothing). */
struct insertion_claim {
	int fd; /* the bound, listening socket, when held */
	bool held;
};

/*
 * Take the claim named name (an abstract socket name, without the leading
 * NUL). 0: held until insertion_claim_release. -EBUSY: another process holds
 * it; *holder is its pid, 0 when it is not visible from here. Another
 * negative errno: the claim could not be checked.
 */
int insertion_claim_take(struct insertion_claim *c, const char *name, pid_t *holder);
/* Every agent that asked who holds the claim left a connection in its
 * backlog: accept and close them. Cheap (one accept4 when none); call it now
 * and then. */
void insertion_claim_serve(struct insertion_claim *c);
void insertion_claim_release(struct insertion_claim *c);

/* Loading sock_ops and sk_msg programs needs CAP_NET_ADMIN (the kernel's
 * bpf_prog_load, is_net_admin_prog_type): false when it is certainly not in
 * the effective set, so that kspan runs without insertion instead of failing
 * to load. */
bool insertion_capable(void);

#endif /* KSPAN_INSERTION_CLAIM_H */
