#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""bpf_line_profile.py DIR [TOP] - kspan's BPF time by source line.

DIR holds perf.data (`perf record -a -g` while kspan ran) and one
jit_lines.<id> file per loaded kspan program (bpf_jit_lines.c: each source
line's first JIT address). Every sample taken in a BPF program, or in a
kernel function a BPF program called (a helper and what it calls), is
charged to the program's source line that was running or that made the
call, so a helper's cost shows at its call site: "conn_table lookup 15%" and
not "lookup_nulls_elem_raw 12%" with no caller. Prints the TOP lines (40)
with their share of the samples in BPF and the three functions most of them
were taken in.

A sample's frames are read from `perf script -F ip,sym`: the innermost
frame that is a BPF program (a bpf_prog_<tag>_<name> symbol) gives the
address; above the leaf it is a return address, so one byte before it is
the call instruction. Samples with interrupts off are charged late by a VM's
timer (pvm_irq_enable, native_irq_enable): a helper that takes a lock with
interrupts off (the ring buffer's) shows its locked time there.
"""
import bisect
import collections
import glob
import os
import subprocess
import sys


def load_lines(directory):
    starts = []
    for path in glob.glob(os.path.join(directory, 'jit_lines.*')):
        with open(path, encoding='utf-8', errors='replace') as f:
            for line in f:
                parts = line.rstrip('\n').split(' ', 2)
                if len(parts) < 2:
                    continue
                try:
                    address = int(parts[0], 16)
                except ValueError:
                    continue
                source = parts[2].strip() if len(parts) == 3 else ''
                starts.append((address, '%s %s' % (parts[1], source[:80])))
    starts.sort()
    return [a for a, _ in starts], [label for _, label in starts]


def samples(directory):
    """Each sample's frames, innermost first, as (address, symbol)."""
    proc = subprocess.Popen(['perf', 'script', '-i', os.path.join(directory, 'perf.data'),
                             '-F', 'ip,sym'], stdout=subprocess.PIPE, text=True,
                            errors='replace')
    frames = []
    for line in proc.stdout:
        parts = line.split(None, 1)
        if not parts:
            if frames:
                yield frames
            frames = []
            continue
        try:
            address = int(parts[0], 16)
        except ValueError:
            continue
        symbol = parts[1].split('+')[0].split(' (')[0].strip() if len(parts) > 1 else '?'
        frames.append((address, symbol))
    if frames:
        yield frames
    proc.wait()


def main():
    directory = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    addresses, labels = load_lines(directory)
    if not addresses:
        sys.exit('bpf_line_profile: no jit_lines.* in %s' % directory)
    by_line = collections.Counter()
    leaves = collections.defaultdict(collections.Counter)
    total = in_bpf = 0
    for frames in samples(directory):
        total += 1
        for depth, (address, symbol) in enumerate(frames):
            if not symbol.startswith('bpf_prog_'):
                continue
            i = bisect.bisect_right(addresses, address - (1 if depth else 0)) - 1
            label = labels[i] if i >= 0 else symbol
            by_line[label] += 1
            leaves[label][frames[0][1] if depth else 'itself'] += 1
            in_bpf += 1
            break
    print('%d samples, %d in kspan\'s BPF programs or the helpers they called' % (total, in_bpf))
    if not in_bpf:
        return
    print('%7s %6s  %s' % ('samples', 'share', 'source line [where the samples were taken]'))
    for label, n in by_line.most_common(top):
        where = ', '.join('%s %d' % kv for kv in leaves[label].most_common(3))
        print('%7d %5.1f%%  %s  [%s]' % (n, 100.0 * n / in_bpf, label, where))


if __name__ == '__main__':
    main()
