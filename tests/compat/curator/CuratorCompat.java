import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.ExponentialBackoffRetry;

/** Apache Curator recipes against a ZooKeeper-compatible server: prints PASS/FAIL lines and a summary. */
public final class CuratorCompat {
    private static int passed;
    private static int failed;

    interface Check {
        void run() throws Exception;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2 || !args[0].equals("--server")) {
            System.err.println("usage: CuratorCompat --server HOST:PORT");
            System.exit(2);
        }
        String server = args[1];
        String root = "/curator-compat-" + UUID.randomUUID().toString().substring(0, 8);

        check("interprocess-mutex", () -> mutex(server, root));
        check("leader-latch", () -> leaderLatch(server, root));
        check("curator-cache", () -> cache(server, root));

        try (CuratorFramework client = client(server)) {
            if (client.checkExists().forPath(root) != null) {
                client.delete().deletingChildrenIfNeeded().forPath(root);
            }
        }
        System.out.println(passed + " passed, " + failed + " failed");
        System.exit(failed == 0 ? 0 : 1);
    }

    private static void check(String name, Check check) {
        try {
            check.run();
            passed++;
            System.out.println("PASS " + name);
        } catch (Throwable e) {
            failed++;
            System.out.println("FAIL " + name + ": " + e);
        }
    }

    private static CuratorFramework client(String server) throws InterruptedException {
        CuratorFramework client = CuratorFrameworkFactory.newClient(server, 15000, 10000, new ExponentialBackoffRetry(200, 3));
        client.start();
        if (!client.blockUntilConnected(15, TimeUnit.SECONDS)) {
            throw new IllegalStateException("not connected to " + server);
        }
        return client;
    }

    private static void mutex(String server, String root) throws Exception {
        int workers = 3;
        int rounds = 5;
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger maxInside = new AtomicInteger();
        AtomicInteger acquired = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(workers);
        List<CuratorFramework> clients = new ArrayList<>();
        try {
            for (int i = 0; i < workers; i++) {
                CuratorFramework client = client(server);
                clients.add(client);
                pool.submit(() -> {
                    InterProcessMutex lock = new InterProcessMutex(client, root + "/mutex");
                    for (int r = 0; r < rounds; r++) {
                        if (!lock.acquire(20, TimeUnit.SECONDS)) {
                            throw new IllegalStateException("lock not acquired in time");
                        }
                        try {
                            int now = inside.incrementAndGet();
                            maxInside.accumulateAndGet(now, Math::max);
                            acquired.incrementAndGet();
                            Thread.sleep(5);
                            inside.decrementAndGet();
                        } finally {
                            lock.release();
                        }
                    }
                    return null;
                });
            }
            pool.shutdown();
            if (!pool.awaitTermination(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("mutex workers did not finish");
            }
        } finally {
            pool.shutdownNow();
            for (CuratorFramework client : clients) {
                client.close();
            }
        }
        if (maxInside.get() != 1 || acquired.get() != workers * rounds) {
            throw new IllegalStateException("max holders " + maxInside.get() + ", acquisitions " + acquired.get());
        }
    }

    private static void leaderLatch(String server, String root) throws Exception {
        try (CuratorFramework a = client(server); CuratorFramework b = client(server)) {
            LeaderLatch first = new LeaderLatch(a, root + "/latch", "first");
            LeaderLatch second = new LeaderLatch(b, root + "/latch", "second");
            first.start();
            if (!first.await(15, TimeUnit.SECONDS)) {
                throw new IllegalStateException("first never became leader");
            }
            second.start();
            if (second.await(500, TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException("two leaders at once");
            }
            if (!second.getLeader().getId().equals("first")) {
                throw new IllegalStateException("second sees leader " + second.getLeader().getId());
            }
            first.close();
            if (!second.await(15, TimeUnit.SECONDS)) {
                throw new IllegalStateException("second did not take over");
            }
            second.close();
        }
    }

    private static void awaitEvent(List<String> events, String event) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!events.contains(event)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no '" + event + "'; saw " + events);
            }
            Thread.sleep(10);
        }
    }

    private static void cache(String server, String root) throws Exception {
        try (CuratorFramework client = client(server)) {
            String base = root + "/cache";
            client.create().creatingParentsIfNeeded().forPath(base);
            List<String> events = Collections.synchronizedList(new ArrayList<>());
            CountDownLatch deleted = new CountDownLatch(1);
            try (CuratorCache cache = CuratorCache.build(client, base)) {
                cache.listenable().addListener(CuratorCacheListener.builder()
                    .forCreates(node -> events.add("create " + node.getPath()))
                    .forChanges((before, after) -> events.add("change " + after.getPath() + " " + new String(after.getData())))
                    .forDeletes(node -> {
                        events.add("delete " + node.getPath());
                        deleted.countDown();
                    })
                    .build());
                cache.start();
                // Each step waits for the cache to see the previous one, so no event is coalesced.
                client.create().forPath(base + "/x", "1".getBytes());
                awaitEvent(events, "create " + base + "/x");
                client.setData().forPath(base + "/x", "2".getBytes());
                awaitEvent(events, "change " + base + "/x 2");
                client.delete().forPath(base + "/x");
                if (!deleted.await(15, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("no delete event; saw " + events);
                }
            }
            if (!events.contains("create " + base + "/x") || !events.contains("change " + base + "/x 2")) {
                throw new IllegalStateException("events " + events);
            }
        }
    }
}
