import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.transaction.CuratorOp;
import org.apache.curator.framework.api.transaction.CuratorTransactionResult;
import org.apache.curator.framework.api.transaction.OperationType;
import org.apache.curator.framework.recipes.atomic.AtomicValue;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;

/**
 * Apache Curator (framework and recipes) against a ZooKeeper-compatible server.
 * Usage: CuratorCompat --server HOST:PORT. Prints PASS/FAIL per check and "N passed, M failed";
 * exits 1 when anything failed. Every check runs under a deadline below a unique root znode.
 */
public final class CuratorCompat {
    private static final long CHECK_SECONDS = 60;
    private static final long WAIT_SECONDS = 15;

    private static int passed;
    private static int failed;
    private static String server;
    private static String root;
    private static final List<CuratorFramework> opened = Collections.synchronizedList(new ArrayList<>());

    interface Check {
        void run(String base) throws Exception;
    }

    public static void main(String[] args) throws Exception {
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals("--server")) {
                server = args[i + 1];
            }
        }
        if (server == null) {
            System.err.println("usage: CuratorCompat --server HOST:PORT");
            System.exit(2);
        }
        root = "/curator-compat-" + UUID.randomUUID().toString().substring(0, 12);

        // Fail fast when there is no server, instead of every check waiting for a connection.
        check("connect", base -> client().getZookeeperClient().getZooKeeper().getSessionId());
        if (failed > 0) {
            System.out.println(passed + " passed, " + failed + " failed");
            System.exit(1);
        }
        check("framework-crud", CuratorCompat::crud);
        check("transaction", CuratorCompat::transaction);
        check("ttl-and-container-nodes", CuratorCompat::ttlAndContainer);
        check("interprocess-mutex", CuratorCompat::mutex);
        check("leader-latch", CuratorCompat::leaderLatch);
        check("curator-cache", CuratorCompat::cache);
        check("distributed-atomic-long", CuratorCompat::atomicLong);

        try (CuratorFramework client = client()) {
            if (client.checkExists().forPath(root) != null) {
                client.delete().deletingChildrenIfNeeded().forPath(root);
            }
        } catch (Exception e) {
            System.err.println("note: could not remove " + root + ": " + e);
        }
        System.out.println(passed + " passed, " + failed + " failed");
        System.out.flush();
        System.exit(failed == 0 && passed > 0 ? 0 : 1);
    }

    private static boolean serverGone;

    /** Runs one check on its own thread with a deadline; closes the clients it opened. */
    private static void check(String name, Check check) {
        if (serverGone) {
            failed++;
            System.out.println("FAIL " + name + ": not run, the server stopped answering");
            return;
        }
        ExecutorService runner = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "check-" + name);
            t.setDaemon(true);
            return t;
        });
        Future<?> outcome = runner.submit((Callable<Void>) () -> {
            check.run(root + "/" + name);
            return null;
        });
        String failure = null;
        try {
            outcome.get(CHECK_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            outcome.cancel(true);
            failure = "did not finish within " + CHECK_SECONDS + "s";
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable cause = e.getCause();
            failure = cause instanceof CheckFailed ? cause.getMessage() : cause.toString();
        } catch (InterruptedException e) {
            failure = "interrupted";
        } finally {
            runner.shutdownNow();
            synchronized (opened) {
                for (CuratorFramework client : opened) {
                    try {
                        client.close();
                    } catch (RuntimeException ignored) {
                        // best effort
                    }
                }
                opened.clear();
            }
        }
        if (failure != null && !name.equals("connect")) {
            serverGone = !serverAnswers();
        }
        if (failure == null) {
            passed++;
            System.out.println("PASS " + name);
        } else {
            failed++;
            System.out.println("FAIL " + name + ": " + failure.replace('\n', ' '));
        }
        System.out.flush();
    }

    /** After a failure: can a new session still read? If not, the remaining checks cannot run. */
    private static boolean serverAnswers() {
        try (CuratorFramework probe = CuratorFrameworkFactory.newClient(server, 15000, 10000, new RetryNTimes(0, 0))) {
            probe.start();
            if (!probe.blockUntilConnected((int) WAIT_SECONDS, TimeUnit.SECONDS)) {
                return false;
            }
            probe.checkExists().forPath("/");
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    static final class CheckFailed extends Exception {
        CheckFailed(String message) {
            super(message);
        }
    }

    private static void expect(boolean condition, String message) throws CheckFailed {
        if (!condition) {
            throw new CheckFailed(message);
        }
    }

    private static CuratorFramework client() throws Exception {
        CuratorFramework client = CuratorFrameworkFactory.builder()
            .connectString(server)
            .sessionTimeoutMs(15000)
            .connectionTimeoutMs(10000)
            .retryPolicy(new ExponentialBackoffRetry(100, 3))
            .build();
        opened.add(client);
        client.start();
        if (!client.blockUntilConnected((int) WAIT_SECONDS, TimeUnit.SECONDS)) {
            throw new CheckFailed("not connected to " + server + " within " + WAIT_SECONDS + "s");
        }
        return client;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String string(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }

    // --- framework ---------------------------------------------------------------------------

    private static void crud(String base) throws Exception {
        CuratorFramework client = client();
        String path = client.create().creatingParentContainersIfNeeded().forPath(base + "/a/b", bytes("one"));
        expect(path.equals(base + "/a/b"), "create returned " + path);
        Stat stat = new Stat();
        expect("one".equals(string(client.getData().storingStatIn(stat).forPath(path))), "data");
        expect(stat.getVersion() == 0 && stat.getDataLength() == 3, "stat " + stat);
        Stat after = client.setData().withVersion(0).forPath(path, bytes("two!"));
        expect(after.getVersion() == 1 && after.getDataLength() == 4 && after.getMzxid() > stat.getMzxid(), "after set " + after);
        try {
            client.setData().withVersion(0).forPath(path, bytes("stale"));
            throw new CheckFailed("stale version accepted");
        } catch (KeeperException.BadVersionException expected) {
            // the version check works
        }
        String seq = client.create().withMode(CreateMode.EPHEMERAL_SEQUENTIAL).forPath(base + "/a/s-");
        expect(seq.equals(base + "/a/s-0000000001"), "sequential " + seq);
        expect(client.getChildren().forPath(base + "/a").equals(List.of("b", "s-0000000001"))
            || client.getChildren().forPath(base + "/a").equals(List.of("s-0000000001", "b")), "children");
        Stat created = new Stat();
        client.create().storingStatIn(created).forPath(base + "/c2", bytes("xyz"));
        expect(created.getDataLength() == 3 && created.getCzxid() == created.getMzxid(), "create2 stat " + created);
        try {
            client.delete().forPath(base + "/a");
            throw new CheckFailed("deleted a non-empty node");
        } catch (KeeperException.NotEmptyException expected) {
            // not empty
        }
        client.delete().deletingChildrenIfNeeded().forPath(base + "/a");
        expect(client.checkExists().forPath(base + "/a") == null, "recursive delete left the node");
    }

    private static void transaction(String base) throws Exception {
        CuratorFramework client = client();
        client.create().creatingParentsIfNeeded().forPath(base + "/t", bytes("0"));
        CuratorOp create = client.transactionOp().create().forPath(base + "/t/x", bytes("x"));
        CuratorOp set = client.transactionOp().setData().withVersion(0).forPath(base + "/t", bytes("1"));
        CuratorOp check = client.transactionOp().check().withVersion(0).forPath(base + "/t/x");
        List<CuratorTransactionResult> results = client.transaction().forOperations(create, set, check);
        expect(results.size() == 3, "results " + results.size());
        expect(results.get(0).getType() == OperationType.CREATE && results.get(0).getResultPath().equals(base + "/t/x"),
            "create result " + results.get(0).getResultPath());
        expect(results.get(1).getType() == OperationType.SET_DATA && results.get(1).getResultStat().getVersion() == 1,
            "set result " + results.get(1).getResultStat());
        expect(results.get(2).getType() == OperationType.CHECK && results.get(2).getError() == 0, "check result");

        CuratorOp create2 = client.transactionOp().create().forPath(base + "/t/y");
        CuratorOp stale = client.transactionOp().setData().withVersion(0).forPath(base + "/t", bytes("2"));
        try {
            client.transaction().forOperations(create2, stale);
            throw new CheckFailed("a transaction with a stale version committed");
        } catch (KeeperException.BadVersionException expected) {
            List<org.apache.zookeeper.OpResult> per = expected.getResults();
            expect(per != null && per.size() == 2, "per-op results " + per);
        }
        expect(client.checkExists().forPath(base + "/t/y") == null, "rolled-back create is visible");
        expect("1".equals(string(client.getData().forPath(base + "/t"))), "rolled-back set is visible");
    }

    private static void ttlAndContainer(String base) throws Exception {
        CuratorFramework client = client();
        client.create().creatingParentsIfNeeded().forPath(base);
        String ttl = client.create().withTtl(60_000).withMode(CreateMode.PERSISTENT_WITH_TTL).forPath(base + "/ttl", bytes("t"));
        expect(ttl.equals(base + "/ttl") && client.checkExists().forPath(ttl) != null, "TTL node not created");
        String container = client.create().withMode(CreateMode.CONTAINER).forPath(base + "/container");
        client.create().forPath(container + "/kid");
        expect(client.getChildren().forPath(container).equals(List.of("kid")), "container child");
        Stat stat = client.checkExists().forPath(container);
        expect(stat.getEphemeralOwner() == 0, "container ephemeralOwner " + stat.getEphemeralOwner());
    }

    // --- recipes -----------------------------------------------------------------------------

    private static void mutex(String base) throws Exception {
        String path = base + "/mutex";
        CuratorFramework a = client();
        CuratorFramework b = client();
        InterProcessMutex first = new InterProcessMutex(a, path);
        InterProcessMutex second = new InterProcessMutex(b, path);
        expect(first.acquire(WAIT_SECONDS, TimeUnit.SECONDS), "first could not take a free mutex");
        expect(first.acquire(WAIT_SECONDS, TimeUnit.SECONDS), "the mutex is not re-entrant");
        expect(!second.acquire(300, TimeUnit.MILLISECONDS), "second took a held mutex");
        first.release();
        expect(!second.acquire(300, TimeUnit.MILLISECONDS), "second took a mutex still held once");
        first.release();
        expect(second.acquire(WAIT_SECONDS, TimeUnit.SECONDS), "second could not take the released mutex");
        second.release();

        int rounds = 5;
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        AtomicInteger acquisitions = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        List<Future<?>> workers = new ArrayList<>();
        for (CuratorFramework client : List.of(a, b)) {
            workers.add(pool.submit((Callable<Void>) () -> {
                InterProcessMutex lock = new InterProcessMutex(client, path);
                for (int r = 0; r < rounds; r++) {
                    if (!lock.acquire(WAIT_SECONDS, TimeUnit.SECONDS)) {
                        throw new CheckFailed("mutex not acquired within " + WAIT_SECONDS + "s");
                    }
                    try {
                        most.accumulateAndGet(inside.incrementAndGet(), Math::max);
                        acquisitions.incrementAndGet();
                        Thread.sleep(10);
                        inside.decrementAndGet();
                    } finally {
                        lock.release();
                    }
                }
                return null;
            }));
        }
        pool.shutdown();
        try {
            for (Future<?> worker : workers) {
                worker.get(CHECK_SECONDS / 2, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        expect(most.get() == 1, most.get() + " holders at once");
        expect(acquisitions.get() == 2 * rounds, acquisitions.get() + " acquisitions");
        expect(a.getChildren().forPath(path).isEmpty(), "lock nodes left: " + a.getChildren().forPath(path));
    }

    private static void leaderLatch(String base) throws Exception {
        String path = base + "/latch";
        CuratorFramework a = client();
        CuratorFramework b = client();
        LeaderLatch first = new LeaderLatch(a, path, "first");
        LeaderLatch second = new LeaderLatch(b, path, "second");
        try {
            first.start();
            expect(first.await(WAIT_SECONDS, TimeUnit.SECONDS), "first never became leader");
            second.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
            while (second.getParticipants().size() < 2) {
                expect(System.nanoTime() < deadline, "second never joined: " + second.getParticipants());
                Thread.sleep(20);
            }
            expect(!second.await(300, TimeUnit.MILLISECONDS), "two leaders at once");
            expect(first.hasLeadership() && !second.hasLeadership(), "leadership flags");
            expect(second.getLeader().getId().equals("first"), "second sees leader " + second.getLeader().getId());
            first.close();
            expect(second.await(WAIT_SECONDS, TimeUnit.SECONDS), "second did not take over");
            expect(second.getLeader().getId().equals("second"), "leader after failover " + second.getLeader().getId());
            expect(second.getParticipants().size() == 1, "participants after failover " + second.getParticipants());
        } finally {
            for (LeaderLatch latch : List.of(first, second)) {
                if (latch.getState() == LeaderLatch.State.STARTED) {
                    latch.close();
                }
            }
        }
    }

    private static void cache(String base) throws Exception {
        CuratorFramework client = client();
        CuratorFramework writer = client();
        client.create().creatingParentsIfNeeded().forPath(base + "/tree", bytes("root"));
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        CountDownLatch initialized = new CountDownLatch(1);
        try (CuratorCache cache = CuratorCache.build(client, base + "/tree")) {
            cache.listenable().addListener(CuratorCacheListener.builder()
                .forCreates(node -> events.add("create " + node.getPath() + " " + string(node.getData())))
                .forChanges((before, after) -> events.add("change " + after.getPath() + " " + string(after.getData())))
                .forDeletes(node -> events.add("delete " + node.getPath()))
                .forInitialized(initialized::countDown)
                .build());
            cache.start();
            expect(initialized.await(WAIT_SECONDS, TimeUnit.SECONDS), "cache never initialized");
            expectEvent(events, "create " + base + "/tree root");
            // One step at a time, so no two changes are coalesced into one event.
            writer.create().forPath(base + "/tree/x", bytes("1"));
            expectEvent(events, "create " + base + "/tree/x 1");
            writer.setData().forPath(base + "/tree/x", bytes("2"));
            expectEvent(events, "change " + base + "/tree/x 2");
            writer.create().forPath(base + "/tree/x/deep", bytes("d"));
            expectEvent(events, "create " + base + "/tree/x/deep d");
            writer.delete().deletingChildrenIfNeeded().forPath(base + "/tree/x");
            expectEvent(events, "delete " + base + "/tree/x/deep");
            expectEvent(events, "delete " + base + "/tree/x");
            expect(cache.get(base + "/tree/x").isEmpty(), "deleted node still cached");
            expect(cache.size() == 1, "cache size " + cache.size());
        }
    }

    private static void expectEvent(BlockingQueue<String> events, String wanted) throws Exception {
        String got = events.poll(WAIT_SECONDS, TimeUnit.SECONDS);
        if (got == null) {
            throw new CheckFailed("no event within " + WAIT_SECONDS + "s, wanted '" + wanted + "'");
        }
        if (!got.equals(wanted)) {
            throw new CheckFailed("event '" + got + "', wanted '" + wanted + "'");
        }
    }

    private static void atomicLong(String base) throws Exception {
        String path = base + "/counter";
        List<CuratorFramework> clients = List.of(client(), client());
        int perClient = 20;
        ExecutorService pool = Executors.newFixedThreadPool(clients.size());
        List<Future<?>> workers = new ArrayList<>();
        for (CuratorFramework client : clients) {
            workers.add(pool.submit((Callable<Void>) () -> {
                DistributedAtomicLong counter = new DistributedAtomicLong(client, path, new RetryNTimes(100, 10));
                for (int i = 0; i < perClient; i++) {
                    AtomicValue<Long> result = counter.increment();
                    if (!result.succeeded()) {
                        throw new CheckFailed("increment did not succeed");
                    }
                }
                return null;
            }));
        }
        pool.shutdown();
        try {
            for (Future<?> worker : workers) {
                worker.get(CHECK_SECONDS / 2, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        long value = new DistributedAtomicLong(clients.get(0), path, new RetryNTimes(3, 10)).get().postValue();
        expect(value == (long) perClient * clients.size(), "counter is " + value);
    }
}
