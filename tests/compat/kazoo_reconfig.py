#!/usr/bin/python3
"""python3-kazoo reconfiguring an ensemble (reconfigEnabled=true, a superDigest for super's password).

Usage: kazoo_reconfig.py --server HOST:PORT [--super-password PASSWORD]

Checks what kazoo's own TestReconfig checks: a client without super is refused (NoAuthError); the
super client adds an observer server.100 (at 0.0.0.0, on ports nothing listens on) and the reply
lists it; removes it again; a reconfig from a future config version is BadVersionError even for a
client without super; a joiner that is no server line is BadArgumentsError. Then /zookeeper/config shows the
membership the last reconfig committed. Prints `PASS name` / `FAIL name: reason` and `N passed, M failed`.
"""
import argparse
import socket

from checks import Checks
from kazoo.client import KazooClient
from kazoo.exceptions import BadArgumentsError, BadVersionError, NoAuthError

parser = argparse.ArgumentParser()
parser.add_argument("--server", required=True)
parser.add_argument("--super-password", default="test")
args = parser.parse_args()

checks = Checks()
plain = KazooClient(hosts=args.server, timeout=10.0)
plain.start(timeout=15)
admin = KazooClient(hosts=args.server, timeout=10.0, auth_data=[("digest", "super:" + args.super_password)])
admin.start(timeout=15)
state = {}


def free_port():
    # Bound and never listening: a connection to it is refused at once.
    held = socket.socket()
    held.bind(("", 0))
    state.setdefault("held", []).append(held)
    return held.getsockname()[1]


def joiner():
    if "joining" not in state:
        state["joining"] = "server.100=0.0.0.0:%d:%d:observer;0.0.0.0:%d" % (free_port(), free_port(), free_port())
    return state["joining"]


def expect(error, call):
    try:
        call()
    except error:
        return
    raise AssertionError(f"expected {error.__name__}")


def no_super_auth():
    expect(NoAuthError, lambda: plain.reconfig(joining=joiner(), leaving=None, new_members=None))


def add_observer():
    data, _ = admin.reconfig(joining=joiner(), leaving=None, new_members=None)
    assert joiner().encode() in data, data


def remove_observer():
    data, stat = admin.reconfig(joining=None, leaving="100", new_members=None)
    assert joiner().encode() not in data, data
    state["version"] = int(data.decode().split("\n")[-1].split("=")[1], base=16)
    assert stat.mzxid == state["version"], (stat.mzxid, state["version"])


def future_version():
    expect(BadVersionError, lambda: plain.reconfig(joining=joiner(), leaving=None, new_members=None, from_config=state["version"] + 1))


def bad_input():
    expect(BadArgumentsError, lambda: plain.reconfig(joining="some thing", leaving=None, new_members=None))


def get_config():
    # Debian's kazoo has no get_config: it is a getData of /zookeeper/config.
    plain.sync("/zookeeper/config")
    data, stat = plain.get("/zookeeper/config")
    assert data.decode().endswith("version=%x" % state["version"]), data
    assert stat.version == -1, stat


checks.run("reconfig without super is NoAuth", no_super_auth)
if checks.run("add an observer", add_observer) and checks.run("remove it", remove_observer):
    checks.run("a future config version is BadVersion", future_version)
    checks.run("/zookeeper/config shows the last reconfig", get_config)
checks.run("a joiner that is no server line is BadArguments", bad_input)
for client in (plain, admin):
    client.stop()
    client.close()
checks.finish()
