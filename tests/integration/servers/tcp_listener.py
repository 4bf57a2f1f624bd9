"""The listening half of the plain-socket test servers: `--host` (127.0.0.1)
and `--port` (0: any free one) from the command line, `READY <port>` on
stdout once listening, as tests/integration/harness.py ScriptServer expects."""

import argparse
import socket
import sys


def listen_from_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.host, a.port))
    ls.listen(64)
    sys.stdout.write("READY %d\n" % ls.getsockname()[1])
    sys.stdout.flush()
    return ls
