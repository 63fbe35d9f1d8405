#!/usr/bin/python3
"""python3-kazoo against a server that serves read-only clients because it is cut off from its quorum.

Usage: kazoo_readonly.py --server HOST:PORT --path PATH --data DATA

Connects with read_only=True and checks what kazoo's own read-only test checks: the client reaches
CONNECTED_RO, reads work (PATH holds DATA), a write raises NotReadOnlyCallError; a client that did
not ask for read-only is refused. Prints `PASS name` / `FAIL name: reason` and `N passed, M failed`.
"""
import argparse
import threading

from checks import Checks
from kazoo.client import KazooClient
from kazoo.exceptions import NotReadOnlyCallError
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.protocol.states import KeeperState

parser = argparse.ArgumentParser()
for option in ("--server", "--path", "--data"):
    parser.add_argument(option, required=True)
args = parser.parse_args()

checks = Checks()
client = KazooClient(hosts=args.server, read_only=True, timeout=10.0)
connected_ro = threading.Event()


def listen(state):
    if client.client_state == KeeperState.CONNECTED_RO:
        connected_ro.set()


def connect_read_only():
    client.add_listener(listen)
    client.start(timeout=15)
    assert connected_ro.wait(10) and client.client_state == KeeperState.CONNECTED_RO, client.client_state


def read():
    assert client.get(args.path)[0] == args.data.encode(), client.get(args.path)
    assert client.exists("/zookeeper") is not None


def write_refused():
    try:
        client.create(args.path + "-new", b"")
    except NotReadOnlyCallError:
        return
    raise AssertionError("a write on a read-only server succeeded")


def read_write_client_refused():
    other = KazooClient(hosts=args.server, timeout=3.0, connection_retry={"max_tries": 1})
    try:
        other.start(timeout=4)
    except KazooTimeoutError:
        return
    finally:
        other.stop()
        other.close()
    raise AssertionError("a client that did not ask for read-only got a session")


if checks.run("connect read-only", connect_read_only):
    checks.run("read", read)
    checks.run("write refused", write_refused)
checks.run("read-write client refused", read_write_client_refused)
client.stop()
client.close()
checks.finish()
