#!/usr/bin/python3
"""python3-kazoo over TLS with a client certificate, against a secure client port.

Usage: kazoo_tls.py --server HOST:PORT --ca CA.pem --cert CLIENT.crt --key CLIENT.key --subject DN

Checks CRUD over TLS and an ACL on the certificate's x509 identity (DN as the server names it).
Prints `PASS name` / `FAIL name: reason` and `N passed, M failed`; exits non-zero on any failure.
"""
import argparse
import uuid

from checks import Checks
from kazoo.client import KazooClient
from kazoo.security import ACL, Id, Permissions

parser = argparse.ArgumentParser()
for option in ("--server", "--ca", "--cert", "--key", "--subject"):
    parser.add_argument(option, required=True)
args = parser.parse_args()

checks = Checks()


client = KazooClient(hosts=args.server, use_ssl=True, verify_certs=True, ca=args.ca,
                     certfile=args.cert, keyfile=args.key, timeout=10.0)
root = f"/kazoo-tls-{uuid.uuid4().hex[:8]}"


def connect():
    client.start(timeout=15)


def crud():
    client.create(root, b"v1")
    assert client.get(root)[0] == b"v1"
    client.set(root, b"v2")
    assert client.get(root)[0] == b"v2"
    client.create(root + "/child", b"")
    assert client.get_children(root) == ["child"]


def x509_acl():
    acl = [ACL(Permissions.ALL, Id("x509", args.subject))]
    client.create(root + "/mine", b"secret", acl=acl)
    assert client.get(root + "/mine")[0] == b"secret"
    assert client.get_acls(root + "/mine")[0][0].id.id == args.subject


def cleanup():
    client.delete(root, recursive=True)
    assert client.exists(root) is None


if checks.run("tls-connect", connect):
    checks.run("tls-crud", crud)
    checks.run("tls-x509-acl", x509_acl)
    checks.run("tls-cleanup", cleanup)
    client.stop()
    client.close()
checks.finish()
