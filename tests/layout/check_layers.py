#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""check_layers.py - a file includes only its own level or lower ones.

Usage: check_layers.py DIR...  (user, bpf)

Each DIR's README.md names its levels, lowest first, on one line:
    Levels, lowest first: `lib`, `model`, ...
That line is the one place the order is written down. A file in a level's
folder (or a subfolder of it) may include "level/..." only for a level at or
below its own; a file at DIR's top (main.c, kspan.bpf.c) may include any
level. Includes that name no level (include/, generated headers, system
headers) are not judged. Prints one line per violation and exits 1 if any.
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
LEVELS_LINE = re.compile(r"^Levels, lowest first:(.*)$", re.M)


def levels_of(root):
    with open(os.path.join(root, "README.md"), encoding="utf-8") as f:
        m = LEVELS_LINE.search(f.read())
    if not m:
        sys.exit(f"{root}/README.md has no 'Levels, lowest first:' line")
    names = re.findall(r"`([a-z_]+)`", m.group(1))
    return {name: rank for rank, name in enumerate(names)}


def check(root):
    ranks = levels_of(root)
    top = len(ranks)
    bad = 0
    for dirpath, _, files in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        level = rel_dir.split(os.sep)[0]
        if rel_dir == ".":
            own = top
        elif level in ranks:
            own = ranks[level]
        else:
            continue  # data (protocol files), not code
        for name in sorted(files):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(dirpath, name)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            for inc in INCLUDE.findall(text):
                target = inc.split("/")[0]
                if "/" in inc and target in ranks and ranks[target] > own:
                    print(f"{path}: includes \"{inc}\", a later level than "
                          f"'{level}' (levels, lowest first: {', '.join(ranks)})")
                    bad += 1
    return bad


def main():
    bad = sum(check(d) for d in sys.argv[1:])
    if bad:
        sys.exit(1)
    print(f"layers: every include points at its own or a lower level ({', '.join(sys.argv[1:])})")


if __name__ == "__main__":
    main()
