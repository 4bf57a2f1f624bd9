#!/usr/bin/python3
"""Maps the system libssl (as python's ssl module does) and, for each line
on stdin, prints one byte of its code as this process's memory holds it:
0xcc where a uprobe's breakpoint was put into this process, OpenSSL's own
instruction byte otherwise. A line "?" asks for SSL_write's first byte, a
line with a hex number for the byte at that offset of the libssl file (where
kspan probes an internal function: its log names the offset). Prints
"READY 0" first (harness.ScriptServer's handshake; it listens on no port)."""

import argparse
import ctypes
import ctypes.util
import ssl
import sys

# Importing ssl maps libssl through _ssl, as a TLS service would.
OPENSSL_VERSION = ssl.OPENSSL_VERSION

ap = argparse.ArgumentParser()
ap.add_argument("--host")
ap.add_argument("--port")
ap.parse_args()
lib = ctypes.CDLL(ctypes.util.find_library("ssl"))
addr = ctypes.cast(lib.SSL_write, ctypes.c_void_p).value
print("READY 0", flush=True)


def address_of_file_offset(offset):
    """Where this process maps byte `offset` of the libssl file that holds
    SSL_write (/proc/self/maps: start-end perms offset dev inode path)."""
    with open("/proc/self/maps") as f:
        lines = [ln.split() for ln in f]
    path = next(ln[5] for ln in lines if len(ln) > 5
                and int(ln[0].split("-")[0], 16) <= addr < int(ln[0].split("-")[1], 16))
    for ln in lines:
        start, end = (int(x, 16) for x in ln[0].split("-"))
        if len(ln) > 5 and ln[5] == path and \
                int(ln[2], 16) <= offset < int(ln[2], 16) + end - start:
            return start + offset - int(ln[2], 16)
    raise SystemExit("offset 0x%x is not mapped" % offset)


for line in sys.stdin:
    line = line.strip()
    at = addr if line == "?" else address_of_file_offset(int(line, 16))
    print("%02x" % ctypes.string_at(at, 1)[0], flush=True)
