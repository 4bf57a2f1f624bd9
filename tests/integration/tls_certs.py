"""Certificates for the TLS tests, made at test time with the openssl command
(no private key is ever committed): a CA, a server certificate for 127.0.0.1
and localhost, and a client certificate, all signed by that CA."""

import os
import subprocess

SERVER_EXT = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
CLIENT_EXT = "extendedKeyUsage=clientAuth\n"


def _run(argv, cwd):
    r = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError("%s failed: %s" % (" ".join(argv), r.stderr))


def _leaf(d, name, cn, ext):
    _run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key",
          "-subj", "/CN=" + cn, "-out", name + ".csr"], d)
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write(ext)
    _run(["openssl", "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
          "-CAcreateserial", "-days", "2", "-sha256", "-extfile", name + ".ext",
          "-out", name + ".pem"], d)


def make_certs(d):
    """Writes the files into directory d; returns their paths by role."""
    _run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
          "-subj", "/CN=kspan test CA", "-days", "2", "-out", "ca.pem"], d)
    _leaf(d, "server", "127.0.0.1", SERVER_EXT)
    _leaf(d, "client", "kspan test client", CLIENT_EXT)
    return {k: os.path.join(d, v) for k, v in {
        "ca": "ca.pem", "server_cert": "server.pem", "server_key": "server.key",
        "client_cert": "client.pem", "client_key": "client.key"}.items()}


def read(path):
    with open(path, "rb") as f:
        return f.read()
