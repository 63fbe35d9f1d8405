import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.zookeeper.AsyncCallback;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;

/**
 * Fills a server with COUNT znodes of PAYLOAD bytes through Apache ZooKeeper's Java client, as an
 * application would: SESSIONS sessions with at most INFLIGHT creates outstanding each. FANOUT 0 puts
 * every znode under one parent; FANOUT k creates COUNT/k parents first and then k children under each
 * (the parents count towards COUNT). Every reply's result code is checked; the first failure stops the
 * fill with exit code 1. Prints one JSON line: {"Znodes":…,"Seconds":…,"OpsPerSecond":…}.
 *
 * Usage: java -cp ... JavaFill SERVER COUNT SESSIONS INFLIGHT PAYLOAD FANOUT
 */
public final class JavaFill {
    public static void main(String[] args) throws Exception {
        String server = args[0];
        int count = Integer.parseInt(args[1]);
        int sessions = Integer.parseInt(args[2]);
        int inFlight = Integer.parseInt(args[3]);
        byte[] data = new byte[Integer.parseInt(args[4])];
        Arrays.fill(data, (byte) 'x');
        int fanout = Integer.parseInt(args[5]);
        String root = "/jfill-" + System.nanoTime();

        List<ZooKeeper> clients = BenchSessions.open(server, sessions);
        clients.get(0).create(root, new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        long started = System.nanoTime();
        int parents = fanout > 0 ? count / (fanout + 1) : 0;
        // Parents first (empty, as a directory), then the leaves under them.
        create(clients, inFlight, parents, i -> root + "/p" + i, new byte[0]);
        int leaves = count - parents;
        create(clients, inFlight, leaves, i -> fanout > 0 ? root + "/p" + (i % parents) + "/c" + (i / parents) : root + "/n" + i, data);
        double seconds = (System.nanoTime() - started) / 1e9;
        System.out.printf("{\"Znodes\":%d,\"Seconds\":%.3f,\"OpsPerSecond\":%.1f}%n", count, seconds, count / seconds);
        for (ZooKeeper zk : clients) {
            zk.close();
        }
    }

    private interface PathOf {
        String of(int index);
    }

    /** Creates paths 0..total-1, session s taking indexes s, s+SESSIONS, …; returns when all are answered. */
    private static void create(List<ZooKeeper> clients, int inFlight, int total, PathOf path, byte[] data) throws InterruptedException {
        int sessions = clients.size();
        AtomicLong failures = new AtomicLong();
        Thread[] threads = new Thread[sessions];
        for (int s = 0; s < sessions; s++) {
            final int session = s;
            threads[s] = new Thread(() -> {
                ZooKeeper zk = clients.get(session);
                Semaphore window = new Semaphore(inFlight);
                AsyncCallback.StringCallback done = (rc, p, ctx, name) -> {
                    if (rc != KeeperException.Code.OK.intValue()) {
                        failures.incrementAndGet();
                        System.err.println("create " + p + " failed: " + KeeperException.Code.get(rc));
                    }
                    window.release();
                };
                for (int i = session; i < total && failures.get() == 0; i += sessions) {
                    window.acquireUninterruptibly();
                    zk.create(path.of(i), data, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT, done, null);
                }
                window.acquireUninterruptibly(inFlight);
            });
            threads[s].start();
        }

        for (Thread thread : threads) {
            thread.join();
        }

        if (failures.get() > 0) {
            System.exit(1);
        }
    }
}
