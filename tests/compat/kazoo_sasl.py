#!/usr/bin/python3
"""python3-kazoo with SASL DIGEST-MD5 (puresasl) against a server with a JAAS Server section.

Usage: kazoo_sasl.py --server HOST:PORT --user NAME --password SECRET

Checks that the right password authenticates (an ACL on sasl:NAME admits the session), and that a
wrong one is refused. Prints `PASS name` / `FAIL name: reason` and `N passed, M failed`.
"""
import argparse
import uuid

from checks import Checks
from kazoo.client import KazooClient
from kazoo.exceptions import AuthFailedError
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.security import ACL, Id, Permissions

parser = argparse.ArgumentParser()
for option in ("--server", "--user", "--password"):
    parser.add_argument(option, required=True)
args = parser.parse_args()

checks = Checks()


def client(password):
    return KazooClient(hosts=args.server, timeout=10.0,
                       sasl_options={"mechanism": "DIGEST-MD5", "username": args.user, "password": password})


def sasl_acl():
    zk = client(args.password)
    zk.start(timeout=15)
    try:
        path = f"/kazoo-sasl-{uuid.uuid4().hex[:8]}"
        zk.create(path, b"secret", acl=[ACL(Permissions.ALL, Id("sasl", args.user))])
        assert zk.get(path)[0] == b"secret"
        assert zk.get_acls(path)[0][0].id.id == args.user
        zk.delete(path)
    finally:
        zk.stop()
        zk.close()


def wrong_password_refused():
    # The session is opened before SASL runs; the server's AUTHFAILED then fails the client's requests,
    # or, when it comes first, keeps start() from ever seeing the client connected.
    zk = client(args.password + "-wrong")
    try:
        try:
            zk.start(timeout=8)
        except (AuthFailedError, KazooTimeoutError):
            return
        try:
            zk.exists("/")
        except AuthFailedError:
            return
        raise AssertionError("a wrong password was accepted")
    finally:
        zk.stop()
        zk.close()


checks.run("sasl-digest-acl", sasl_acl)
checks.run("sasl-wrong-password-refused", wrong_password_refused)
checks.finish()
