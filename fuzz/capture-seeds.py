#!/usr/bin/python3
"""Captures real traffic and files for the fuzzing seed corpora.

Starts Debian's Apache ZooKeeper (standalone, in a temporary folder), puts a relay between it and
kazoo, runs a session that uses most request types, and writes:
  corpus/connect-request/*   each ConnectRequest body kazoo sent (no length prefix)
  corpus/client-request/*    each request body after the handshake (no length prefix)
  corpus/snapshot/*          Apache's snapshot files, as written
  corpus/txn-log/*           Apache's txn log, its preallocated zeros cut off
Run from the repository root: /usr/bin/python3 fuzz/capture-seeds.py (Debian's kazoo)
"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

from kazoo.client import KazooClient
from kazoo.security import make_digest_acl

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
JAR = "/usr/share/java/zookeeper.jar"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def relay(source, sink, captured):
    while True:
        try:
            data = source.recv(65536)
        except OSError:
            break
        if not data:
            break
        if captured is not None:
            captured.extend(data)
        try:
            sink.sendall(data)
        except OSError:
            break
    for s in (source, sink):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def start_relay(listen_port, server_port, streams):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", listen_port))
    listener.listen(8)

    def accept():
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", server_port))
            captured = bytearray()
            streams.append(captured)
            threading.Thread(target=relay, args=(client, server, captured), daemon=True).start()
            threading.Thread(target=relay, args=(server, client, None), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener


def frames(stream):
    offset = 0
    while offset + 4 <= len(stream):
        (length,) = struct.unpack(">i", stream[offset:offset + 4])
        if length < 0 or offset + 4 + length > len(stream):
            break
        yield bytes(stream[offset + 4:offset + 4 + length])
        offset += 4 + length


def wait_for(port):
    deadline = time.time() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.time() > deadline:
                sys.exit("Apache ZooKeeper did not start")
            time.sleep(0.2)


def write(target, name, data):
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def main():
    work = tempfile.mkdtemp(prefix="sharpkeeper-seeds-")
    port, relay_port = free_port(), free_port()
    with open(os.path.join(work, "zoo.cfg"), "w") as f:
        f.write(f"tickTime=2000\ndataDir={work}/data\nclientPort={port}\nclientPortAddress=127.0.0.1\n"
                "admin.enableServer=false\nextendedTypesEnabled=true\n")
    command = ["java", "-cp", f"/etc/zookeeper/conf_example:{JAR}:/usr/share/java/slf4j-simple.jar",
               "org.apache.zookeeper.server.ZooKeeperServerMain", os.path.join(work, "zoo.cfg")]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    streams = []
    try:
        wait_for(port)
        listener = start_relay(relay_port, port, streams)
        zk = KazooClient(hosts=f"127.0.0.1:{relay_port}", timeout=10)
        zk.start(timeout=15)
        zk.add_auth("digest", "alice:secret")
        zk.create("/seed", b"value")
        zk.create("/seed/child-", b"x" * 40, sequence=True, ephemeral=True)
        zk.create("/seed/locked", b"", acl=[make_digest_acl("alice", "secret", all=True)])
        zk.set("/seed", b"new value")
        zk.get("/seed", watch=lambda e: None)
        zk.get_children("/seed", watch=lambda e: None)
        zk.exists("/seed/none", watch=lambda e: None)
        zk.get_acls("/seed")
        zk.set_acls("/seed/locked", [make_digest_acl("alice", "secret", all=True)])
        zk.sync("/seed")
        tx = zk.transaction()
        tx.create("/seed/multi", b"m")
        tx.set_data("/seed", b"multi")
        tx.check("/seed", 2)
        tx.delete("/seed/multi")
        tx.commit()
        # The same session from a second connection (session id and password in its ConnectRequest).
        again = KazooClient(hosts=f"127.0.0.1:{relay_port}", timeout=10, client_id=zk.client_id)
        again.start(timeout=15)
        again.get("/seed", watch=lambda e: None)
        again.stop()
        again.close()
        zk.stop()
        zk.close()
        listener.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    # Started again on the same dataDir, Apache replays the log and writes a snapshot of the whole tree.
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(port)
    finally:
        server.terminate()
        server.wait(timeout=30)

    connects = requests = 0
    for stream in streams:
        for index, frame in enumerate(frames(stream)):
            if index == 0:
                write("connect-request", f"kazoo-{connects:02d}", frame)
                connects += 1
            else:
                write("client-request", f"kazoo-{requests:03d}", frame)
                requests += 1
    data = os.path.join(work, "data", "version-2")
    for name in sorted(os.listdir(data)):
        with open(os.path.join(data, name), "rb") as f:
            content = f.read()
        if name.startswith("snapshot."):
            write("snapshot", "apache-" + name, content)
        elif name.startswith("log."):
            write("txn-log", "apache-" + name, content.rstrip(b"\0") + b"\0" * 32)
    shutil.rmtree(work, ignore_errors=True)
    print(f"captured {connects} connect requests, {requests} requests, and the snapshot and log files")


if __name__ == "__main__":
    main()
