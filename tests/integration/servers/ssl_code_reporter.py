#!/usr/bin/python3
"""Maps the system libssl (as python's ssl module does) and, for each line
on stdin, prints the first byte of its SSL_write as this process's memory
holds it: 0xcc where a uprobe's breakpoint was put into this process,
OpenSSL's own first instruction byte otherwise. Prints "READY 0" first
(harness.ScriptServer's handshake; it listens on no port)."""

import argparse
import ctypes
import ctypes.util
import ssl  # noqa: F401  maps libssl through _ssl, as a TLS service would
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--host")
ap.add_argument("--port")
ap.parse_args()
lib = ctypes.CDLL(ctypes.util.find_library("ssl"))
addr = ctypes.cast(lib.SSL_write, ctypes.c_void_p).value
print("READY 0", flush=True)
for _ in sys.stdin:
    print("%02x" % ctypes.string_at(addr, 1)[0], flush=True)
