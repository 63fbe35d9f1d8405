#!/usr/bin/python3
"""Checks a ZooKeeper-compatible server with python3-kazoo: CRUD, watches, transactions, ACLs,
Lock and Election recipes, session expiry. Prints PASS/FAIL per check and 'N passed, M failed'."""
import argparse
import sys
import threading
import time
import uuid

from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, NoAuthError, NodeExistsError, NoNodeError, NotEmptyError
from kazoo.protocol.states import EventType, KazooState
from kazoo.security import make_digest_acl

TIMEOUT = 15.0
results = []


def check(name):
    def wrap(fn):
        def run(server, root):
            try:
                fn(server, root)
                results.append((name, None))
                print(f"PASS {name}", flush=True)
            except Exception as e:  # noqa: BLE001 - any failure is reported
                results.append((name, e))
                print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
        run.name = name
        return run
    return wrap


def client(server, **kwargs):
    zk = KazooClient(hosts=server, timeout=10.0, **kwargs)
    zk.start(timeout=TIMEOUT)
    return zk


def wait_for(predicate, what, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


@check("crud-and-stat")
def crud(server, root):
    zk = client(server)
    try:
        path = zk.create(f"{root}/crud", b"v0", makepath=True)
        data, stat = zk.get(path)
        expect(data == b"v0" and stat.version == 0 and stat.dataLength == 2, f"get: {data} {stat}")
        stat2 = zk.set(path, b"value-1")
        expect(stat2.version == 1 and stat2.dataLength == 7 and stat2.mzxid > stat.mzxid, f"set: {stat2}")
        try:
            zk.set(path, b"x", version=0)
            raise AssertionError("set with a stale version succeeded")
        except BadVersionError:
            pass
        zk.create(f"{path}/a")
        zk.create(f"{path}/b")
        parent = zk.exists(path)
        expect(parent.numChildren == 2 and parent.cversion == 2, f"parent stat {parent}")
        expect(sorted(zk.get_children(path)) == ["a", "b"], "children")
        try:
            zk.delete(path)
            raise AssertionError("delete of a non-empty node succeeded")
        except NotEmptyError:
            pass
        try:
            zk.create(f"{path}/a")
            raise AssertionError("duplicate create succeeded")
        except NodeExistsError:
            pass
        zk.delete(path, recursive=True)
        expect(zk.exists(path) is None, "deleted node still exists")
        try:
            zk.get(path)
            raise AssertionError("get of a deleted node succeeded")
        except NoNodeError:
            pass
    finally:
        zk.stop()
        zk.close()


@check("sequential-and-ephemeral")
def sequential(server, root):
    zk = client(server)
    other = client(server)
    try:
        base = zk.create(f"{root}/seq", makepath=True)
        names = [zk.create(f"{base}/n-", sequence=True) for _ in range(3)]
        expect(names == [f"{base}/n-{i:010d}" for i in range(3)], f"sequence names {names}")
        eph = other.create(f"{base}/eph", ephemeral=True)
        expect(zk.exists(eph).ephemeralOwner == other.client_id[0], "ephemeral owner")
        other.stop()
        other.close()
        wait_for(lambda: zk.exists(eph) is None, "ephemeral removal after close")
    finally:
        zk.stop()
        zk.close()


@check("one-shot-watches")
def watches(server, root):
    zk = client(server)
    writer = client(server)
    try:
        path = zk.create(f"{root}/watched", b"0", makepath=True)
        events = []
        zk.get(path, watch=lambda e: events.append(e))
        zk.get_children(path, watch=lambda e: events.append(e))
        zk.exists(f"{path}/later", watch=lambda e: events.append(e))
        writer.set(path, b"1")
        writer.set(path, b"2")
        writer.create(f"{path}/later")
        wait_for(lambda: len(events) >= 3, "three watch events")
        time.sleep(0.2)
        types = sorted(e.type for e in events)
        expect(types == sorted([EventType.CHANGED, EventType.CHILD, EventType.CREATED]), f"events {events}")
    finally:
        zk.stop(); zk.close(); writer.stop(); writer.close()


@check("data-and-children-watch-recipes")
def watch_recipes(server, root):
    zk = client(server)
    try:
        path = zk.create(f"{root}/recipes", b"a", makepath=True)
        seen_data, seen_children = [], []
        zk.DataWatch(path, lambda data, stat: seen_data.append(data))
        zk.ChildrenWatch(path, lambda children: seen_children.append(sorted(children)))
        zk.set(path, b"b")
        zk.create(f"{path}/kid")
        wait_for(lambda: b"b" in seen_data and ["kid"] in seen_children, "DataWatch and ChildrenWatch callbacks")
    finally:
        zk.stop(); zk.close()


@check("transactions")
def transactions(server, root):
    zk = client(server)
    try:
        base = zk.create(f"{root}/txn", b"", makepath=True)
        t = zk.transaction()
        t.create(f"{base}/a", b"1")
        t.create(f"{base}/b", b"2")
        t.set_data(base, b"x")
        ok = t.commit()
        expect(ok[0] == f"{base}/a" and ok[1] == f"{base}/b", f"commit results {ok}")
        t = zk.transaction()
        t.create(f"{base}/c")
        t.check(base, 99)
        t.create(f"{base}/d")
        failed = t.commit()
        names = [type(r).__name__ for r in failed]
        expect(names == ["RolledBackError", "BadVersionError", "RuntimeInconsistency"], f"failed results {names}")
        expect(zk.exists(f"{base}/c") is None, "rolled-back create is visible")
    finally:
        zk.stop(); zk.close()


@check("digest-acl")
def acl(server, root):
    owner = client(server, auth_data=[("digest", "alice:secret")])
    stranger = client(server)
    try:
        path = owner.create(f"{root}/private", b"s3cret", makepath=True, acl=[make_digest_acl("alice", "secret", all=True)])
        expect(owner.get(path)[0] == b"s3cret", "owner cannot read")
        try:
            stranger.get(path)
            raise AssertionError("read without auth succeeded")
        except NoAuthError:
            pass
        stranger.add_auth("digest", "alice:secret")
        expect(stranger.get(path)[0] == b"s3cret", "read after add_auth failed")
    finally:
        owner.stop(); owner.close(); stranger.stop(); stranger.close()


@check("lock-recipe")
def lock(server, root):
    clients = [client(server) for _ in range(3)]
    holders, max_holders, lock_ = [0], [0], threading.Lock()

    def worker(zk):
        for _ in range(5):
            with zk.Lock(f"{root}/lock", "w"):
                with lock_:
                    holders[0] += 1
                    max_holders[0] = max(max_holders[0], holders[0])
                time.sleep(0.005)
                with lock_:
                    holders[0] -= 1

    try:
        threads = [threading.Thread(target=worker, args=(zk,)) for zk in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        expect(all(not t.is_alive() for t in threads), "lock workers did not finish")
        expect(max_holders[0] == 1, f"{max_holders[0]} holders at once")
    finally:
        for zk in clients:
            zk.stop(); zk.close()


@check("election-recipe")
def election(server, root):
    first, second = client(server), client(server)
    leaders = []
    try:
        won = threading.Event()

        def lead(name):
            leaders.append(name)
            won.set()
            if name == "first":
                release.wait(TIMEOUT)

        release = threading.Event()
        e1 = first.Election(f"{root}/election", "first")
        threading.Thread(target=e1.run, args=(lead, "first"), daemon=True).start()
        expect(won.wait(TIMEOUT), "no leader elected")
        won.clear()
        e2 = second.Election(f"{root}/election", "second")
        threading.Thread(target=e2.run, args=(lead, "second"), daemon=True).start()
        time.sleep(0.3)
        expect(leaders == ["first"], f"leaders while first leads: {leaders}")
        expect(sorted(e2.contenders()) == ["first", "second"], f"contenders {e2.contenders()}")
        release.set()
        expect(won.wait(TIMEOUT), "second never became leader")
        expect(leaders == ["first", "second"], f"leaders {leaders}")
    finally:
        first.stop(); first.close(); second.stop(); second.close()


@check("session-expiry")
def expiry(server, root):
    zk = client(server)
    watcher = client(server)
    states = []
    try:
        zk.add_listener(lambda s: states.append(s))
        path = zk.create(f"{root}/expiring", ephemeral=True, makepath=True)
        session_id, password = zk.client_id
        # A second client on the same session that closes it ends the session for both.
        twin = KazooClient(hosts=server, client_id=(session_id, password), timeout=10.0)
        twin.start(timeout=TIMEOUT)
        twin.stop()
        twin.close()
        wait_for(lambda: watcher.exists(path) is None, "ephemeral removal after the session ended")
        wait_for(lambda: KazooState.LOST in states, "LOST state on the original client")
    finally:
        zk.stop(); zk.close(); watcher.stop(); watcher.close()


@check("persistent-recursive-watch")
def persistent(server, root):
    zk = client(server)
    if not hasattr(zk, "add_watch"):
        zk.stop(); zk.close()
        print("     (kazoo has no add_watch: checked by the differential tests instead)")
        return
    try:
        base = zk.create(f"{root}/tree", makepath=True)
        events = []
        zk.add_watch(base, lambda e: events.append(e), 1)
        zk.create(f"{base}/a/b", makepath=True)
        wait_for(lambda: len(events) >= 2, "recursive events")
    finally:
        zk.stop(); zk.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    args = parser.parse_args()
    root = f"/kazoo-compat-{uuid.uuid4().hex[:8]}"
    for test in [crud, sequential, watches, watch_recipes, transactions, acl, lock, election, expiry, persistent]:
        test(args.server, root)
    cleanup = client(args.server, auth_data=[("digest", "alice:secret")])
    try:
        cleanup.delete(root, recursive=True)
    except NoNodeError:
        pass
    finally:
        cleanup.stop(); cleanup.close()
    failed = sum(1 for _, e in results if e is not None)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
