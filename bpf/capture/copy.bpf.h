/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * copy.bpf.h - the copy primitives: bytes of a syscall's user buffer or
 * iovec array into the per-CPU scratch buffer, with the bounds the verifier
 * must see. A prefix of at most CAPTURE_MAX_IOVECS entries for HTTP/1
 * (kspan_capture_copy), or piece by piece from a cursor for HTTP/2, which
 * copies whole syscalls (kspan_h2_copy_from) and walks their frames
 * (kspan_h2_skip).
 */
#ifndef KSPAN_CAPTURE_COPY_BPF_H
#define KSPAN_CAPTURE_COPY_BPF_H

#include "base/counters.bpf.h"
#include "base/maps.bpf.h"

/* How many iovec entries a readv/writev/sendmsg capture walks. */
#define CAPTURE_MAX_IOVECS 4

/* Where kspan_capture_copy_range keeps the iovec entries it walks: in the
 * scratch buffer's second half, past any payload (KSPAN_CAPTURE_MAX), read
 * with one probe read instead of one per entry, and off the stack. */
#define CAPTURE_IOVS_AT KSPAN_CAPTURE_MAX

/* min(n, max) in a register the verifier tracks: without the barrier clang
 * may pass an unclamped copy of n to the helper call. */
static __always_inline __u64 bound_len(__u64 n, __u64 max)
{
	if (n > max)
		n = max;
	asm volatile("" : "+r"(n));
	return n;
}

/* iovcnt flag: the iovec array itself is kernel memory (its buffers are
 * user memory). The socket-function backends find the array the kernel
 * copied in from the process (import_iovec), not the process's own. */
#define CAPTURE_IOV_KERNEL (1u << 31)

/* inflight_syscall.flat_len when the front-end does not know the length of a
 * flat buffer: the syscall's own arguments tell (write, sendto). */
#define FLAT_LEN_SYSCALL_ARG 0xffffffffu

/*
 * Bytes a write with a flat buffer (iovcnt == 0) was asked to move. The
 * socket-function front-ends give the iterator's count (msg__iter_count,
 * base/core_fixes.bpf.h): their flat buffers are ITER_UBUF iterators, which
 * since 6.4 a writev or sendmsg of ONE iovec becomes too, and io_uring sends
 * have no syscall arguments, so the syscall's third argument (writev's
 * iovcnt, sendmsg's flags) is no length there. The tracepoint front-end sees
 * write(2)/sendto(2) themselves: their third argument is the length.
 */
static __always_inline __u64 inflight__flat_len(const struct inflight_syscall *in)
{
	struct pt_regs *regs;

	if (in->flat_len != FLAT_LEN_SYSCALL_ARG)
		return in->flat_len;
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	return PT_REGS_PARM3_CORE_SYSCALL(regs);
}

/* min(count, max) of an iovcnt, keeping CAPTURE_IOV_KERNEL. */
static __always_inline __u32 capture__iov_limit(__u32 iovcnt, __u32 max)
{
	__u32 n = iovcnt & ~CAPTURE_IOV_KERNEL;

	return (n < max ? n : max) | (iovcnt & CAPTURE_IOV_KERNEL);
}

/*
 * Copies up to `want` (<= KSPAN_CAPTURE_MAX) bytes of the syscall's user
 * buffer (iovcnt == 0) or iovec array (CAPTURE_IOV_KERNEL: one the kernel
 * copied) into s->payload, starting `skip` bytes
 * into the data; returns how many were copied, walking at most
 * CAPTURE_MAX_IOVECS entries (HTTP/2 walks more, with its own cursor:
 * kspan_h2_copy_from below). A global function: the verifier checks it once, not
 * once per caller and path, which keeps every program far below its limits.
 */
__noinline int kspan_capture_copy_range(struct data_scratch *s, __u64 buf, __u32 iovcnt, __u32 skip,
					__u32 want)
{
	bool iov_kernel = iovcnt & CAPTURE_IOV_KERNEL;
	struct iovec *iovs;
	__u64 off = 0, size;
	long err;

	if (!s)
		return 0;
	iovcnt &= ~CAPTURE_IOV_KERNEL;
	if (iovcnt == 0) {
		__u64 n = bound_len(want, KSPAN_CAPTURE_MAX);
		if (bpf_probe_read_user(s->payload, n, (void *)(buf + skip))) {
			counter__inc(KSPAN_CNT_CAPTURE_FAULTS);
			return 0;
		}
		return (int)n;
	}
	if (iovcnt > CAPTURE_MAX_IOVECS)
		iovcnt = CAPTURE_MAX_IOVECS;
	iovs = (struct iovec *)&s->payload[CAPTURE_IOVS_AT];
	size = bound_len((__u64)iovcnt * sizeof(struct iovec),
			 CAPTURE_MAX_IOVECS * sizeof(struct iovec));
	if (iov_kernel)
		err = bpf_probe_read_kernel(iovs, size, (void *)buf);
	else
		err = bpf_probe_read_user(iovs, size, (void *)buf);
	if (err) {
		counter__inc(KSPAN_CNT_CAPTURE_FAULTS);
		return 0;
	}
	for (__u32 i = 0; i < CAPTURE_MAX_IOVECS && i < iovcnt; i++) {
		struct iovec iov = iovs[i];
		__u64 n;

		if (off >= want)
			break;
		if (skip >= iov.iov_len) {
			skip -= iov.iov_len;
			continue;
		}
		n = iov.iov_len - skip;
		if (n > want - off)
			n = want - off;
		n = bound_len(n, KSPAN_CAPTURE_MAX);
		off &= KSPAN_CAPTURE_MAX - 1;
		if (bpf_probe_read_user(&s->payload[off], n,
					(void *)((__u64)iov.iov_base + skip))) {
			counter__inc(KSPAN_CNT_CAPTURE_FAULTS);
			break;
		}
		skip = 0;
		off += n;
	}
	return (int)off;
}

/* The first `want` bytes, through at most CAPTURE_MAX_IOVECS entries. */
static __always_inline int kspan_capture_copy(struct data_scratch *s, __u64 buf, __u32 iovcnt,
					      __u32 want)
{
	return kspan_capture_copy_range(s, buf, capture__iov_limit(iovcnt, CAPTURE_MAX_IOVECS), 0,
					want);
}

/* Where the walk is in the write's bytes: iovec entry `idx`, `off` bytes into
 * it (or `off` bytes into a plain buffer). */
struct h2_cursor {
	__u32 idx;
	__u32 off;
};

/* iovec entries one piece may walk: writers of many tiny buffers (Node's
 * http2 writes ~30-byte iovecs) get shorter pieces, never a gap. */
#define H2_IOV_STEPS 256

/*
 * Copies up to `want` (<= KSPAN_CAPTURE_MAX) bytes from the cursor into
 * s->payload and advances the cursor. Returns the bytes copied (fewer than
 * `want` when the step bound was reached), or -1 when user memory could not
 * be read: the cursor is then lost and the caller stops copying.
 */
__noinline int kspan_h2_copy_from(struct data_scratch *s, __u64 buf, __u32 iovcnt,
				  struct h2_cursor *cur, __u32 want)
{
	bool iov_kernel = iovcnt & CAPTURE_IOV_KERNEL;
	__u64 off = 0;

	if (!s || !cur)
		return -1;
	iovcnt &= ~CAPTURE_IOV_KERNEL;
	if (iovcnt == 0) {
		__u64 n = bound_len(want, KSPAN_CAPTURE_MAX);
		if (bpf_probe_read_user(s->payload, n, (void *)(buf + cur->off))) {
			counter__inc(KSPAN_CNT_CAPTURE_FAULTS);
			return -1;
		}
		cur->off += n;
		return (int)n;
	}
	for (__u32 i = 0; i < H2_IOV_STEPS && cur->idx < iovcnt && off < want; i++) {
		void *entry = (void *)(buf + (__u64)cur->idx * sizeof(struct iovec));
		struct iovec iov;
		long err;
		__u64 n;

		if (iov_kernel) /* socket-function backends: the kernel's copy */
			err = bpf_probe_read_kernel(&iov, sizeof(iov), entry);
		else
			err = bpf_probe_read_user(&iov, sizeof(iov), entry);
		if (err) {
			counter__inc(KSPAN_CNT_CAPTURE_FAULTS);
			return -1;
		}
		if (cur->off >= iov.iov_len) {
			cur->idx++;
			cur->off = 0;
			continue;
		}
		n = iov.iov_len - cur->off;
		if (n > want - off)
			n = want - off;
		n = bound_len(n, KSPAN_CAPTURE_MAX);
		off &= KSPAN_CAPTURE_MAX - 1;
		if (bpf_probe_read_user(&s->payload[off], n,
					(void *)((__u64)iov.iov_base + cur->off))) {
			counter__inc(KSPAN_CNT_CAPTURE_FAULTS);
			return -1;
		}
		off += n;
		cur->off += n;
	}
	return (int)off;
}

/* Moves the cursor `n` bytes on without copying; returns the bytes passed
 * (fewer when the iovecs ended or the step bound was reached), -1 on a
 * fault. */
__noinline int kspan_h2_skip(__u64 buf, __u32 iovcnt, struct h2_cursor *cur, __u32 n)
{
	bool iov_kernel = iovcnt & CAPTURE_IOV_KERNEL;
	__u32 done = 0;

	if (!cur)
		return -1;
	iovcnt &= ~CAPTURE_IOV_KERNEL;
	if (iovcnt == 0) {
		cur->off += n;
		return (int)n;
	}
	for (__u32 i = 0; i < H2_IOV_STEPS && cur->idx < iovcnt && done < n; i++) {
		void *entry = (void *)(buf + (__u64)cur->idx * sizeof(struct iovec));
		struct iovec iov;
		__u64 left;
		long err;

		if (iov_kernel)
			err = bpf_probe_read_kernel(&iov, sizeof(iov), entry);
		else
			err = bpf_probe_read_user(&iov, sizeof(iov), entry);
		if (err)
			return -1;
		if (cur->off >= iov.iov_len) {
			cur->idx++;
			cur->off = 0;
			continue;
		}
		left = iov.iov_len - cur->off;
		if (left > n - done)
			left = n - done;
		cur->off += (__u32)left;
		done += (__u32)left;
	}
	return (int)done;
}

#endif /* KSPAN_CAPTURE_COPY_BPF_H */
