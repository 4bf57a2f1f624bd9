/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * core_fixes.bpf.h - every difference between kernel versions that kspan's
 * programs meet, in one place, each with the kernel commit (or version) that
 * made it. Layouts are told apart with CO-RE (a `struct foo___old` flavour
 * checked with bpf_core_field_exists, enum values resolved against the
 * running kernel's BTF), never with LINUX_VERSION_CODE; what CO-RE cannot
 * tell (a function's argument order) the loader reads from the kernel's BTF
 * and sets in .rodata before load.
 */
#ifndef KSPAN_CORE_FIXES_BPF_H
#define KSPAN_CORE_FIXES_BPF_H

#include "base/kernel.bpf.h"

/* The file's reference count before 6.13: commit 90ee6ed776c0 ("fs: port
 * files to file_ref") made it a file_ref_t, which stores the count minus
 * one. */
struct file___atomic_count {
	atomic_long_t f_count;
} __attribute__((preserve_access_index));

/* Is this the file's only reference, so that closing it releases the
 * socket? */
static __always_inline bool file__is_last_reference(struct file *file)
{
	if (bpf_core_field_exists(file->f_ref))
		return BPF_CORE_READ(file, f_ref.refcnt.counter) == 0;
	return BPF_CORE_READ((struct file___atomic_count *)file, f_count.counter) == 1;
}

/* Before 6.4 the user iovec pointer of an iov_iter was called `iov`; commit
 * de4f5fed3f23 ("iov_iter: add iter_iovec() helper") renamed it `__iov`.
 * Its byte count `count` sat beside it; since 6.4 (commit 747b1f65d39a,
 * "iov_iter: overlay struct iovec and ubuf/len") `count` is in an anonymous
 * struct overlaid on `__ubuf_iovec`, whose iov_len it is for ITER_UBUF. */
struct iov_iter___pre_6_4 {
	const struct iovec *iov;
	size_t count;
} __attribute__((preserve_access_index));

/* The iovec array of an ITER_IOVEC message iterator. */
static __always_inline __u64 msg__iovec_array(struct msghdr *msg)
{
	if (bpf_core_field_exists(((struct iov_iter___pre_6_4 *)0)->iov))
		return (__u64)BPF_CORE_READ((struct iov_iter___pre_6_4 *)&msg->msg_iter, iov);
	return (__u64)BPF_CORE_READ(msg, msg_iter.__iov);
}

/* The bytes a message iterator has left: what a tcp_sendmsg moves at most.
 * A flat buffer's length must come from here: since 6.4 (commit 3b2deb0e46da,
 * "iov_iter: import single vector iovecs as ITER_UBUF") a writev or sendmsg
 * of ONE iovec is an ITER_UBUF iterator too, and io_uring sends have no
 * syscall arguments at all, so no syscall argument is its length. `btf`:
 * KERNEL_FIELD's. */
static __always_inline __u32 msg__iter_count(struct msghdr *msg, bool btf)
{
	__u64 count;

	if (bpf_core_field_exists(((struct iov_iter___pre_6_4 *)0)->iov))
		count = KERNEL_FIELD(btf, (struct iov_iter___pre_6_4 *)&msg->msg_iter, count);
	else
		count = KERNEL_FIELD(btf, msg, msg_iter.count);
	return count > 0xfffffffeu ? 0xfffffffeu : (__u32)count;
}

/* ITER_UBUF (one flat user buffer) exists since 6.0 (commit fcb14cb1bdac),
 * and the values of enum iter_type were reordered in 6.4: both are resolved
 * against the running kernel. */
static __always_inline bool iter_type__is_ubuf(__u8 type)
{
	return bpf_core_enum_value_exists(enum iter_type, ITER_UBUF) &&
	       type == bpf_core_enum_value(enum iter_type, ITER_UBUF);
}

static __always_inline bool iter_type__is_iovec(__u8 type)
{
	return type == bpf_core_enum_value(enum iter_type, ITER_IOVEC);
}

/* tcp_recvmsg's `flags` argument, 0-based: 3 since 5.19 (commit ec095263a965
 * dropped `nonblock`), 4 before. Set by the loader from the kernel's BTF. */
const volatile __u32 tcp_recvmsg_flags_arg = 3;

/* --- process identity (base/process_info.bpf.h) ------------------------- */

/* Before 6.15 a kernfs node's parent was `parent`; commit 633488947ef6
 * ("kernfs: Use RCU to access kernfs_node::parent.") renamed it `__parent`. */
struct kernfs_node___pre_6_15 {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

/* The parent of a kernfs node (a cgroup's directory), NULL at the root. */
static __always_inline struct kernfs_node *kernfs__parent(struct kernfs_node *kn)
{
	struct kernfs_node___pre_6_15 *old = (void *)kn;

	if (bpf_core_field_exists(old->parent))
		return BPF_CORE_READ(old, parent);
	return BPF_CORE_READ(kn, __parent);
}

#endif /* KSPAN_CORE_FIXES_BPF_H */
