import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.zookeeper.AsyncCallback;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;

/**
 * The same loads as SharpKeeper.Bench, driven by Apache ZooKeeper's own Java client (its async API),
 * so a comparison does not rest on SharpKeeper's client alone. Prints one JSON line in the same
 * shape as SharpKeeper.Bench. Every reply's result code is checked; failures are counted.
 *
 * Usage: java -cp ... JavaClientBench SERVER LABEL WORKLOAD SESSIONS INFLIGHT PAYLOAD SECONDS
 * Workloads: create, get, set.
 */
public final class JavaClientBench {
    public static void main(String[] args) throws Exception {
        String server = args[0];
        String label = args[1];
        String workload = args[2];
        int sessions = Integer.parseInt(args[3]);
        int inFlight = Integer.parseInt(args[4]);
        int payload = Integer.parseInt(args[5]);
        int seconds = Integer.parseInt(args[6]);
        byte[] data = new byte[payload];
        Arrays.fill(data, (byte) 'x');
        String root = "/jbench-" + workload + "-" + System.nanoTime();

        List<ZooKeeper> clients = BenchSessions.open(server, sessions);

        ZooKeeper first = clients.get(0);
        first.create(root, new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        for (int i = 0; i < sessions; i++) {
            first.create(root + "/k" + i, data, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        }

        AtomicLong ops = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        long[][] latencies = new long[sessions][];
        int[] counts = new int[sessions];
        // A warm-up second first (the client's JIT, for either server alike): replies before
        // `measured` are neither counted nor timed.
        long measured = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        long deadline = measured + TimeUnit.SECONDS.toNanos(seconds);
        long cpuAtStart = processCpuNanos();
        List<Thread> threads = new ArrayList<>();
        for (int s = 0; s < sessions; s++) {
            final int session = s;
            final ZooKeeper zk = clients.get(s);
            latencies[s] = new long[2_000_000];
            Thread thread = new Thread(() -> {
                Semaphore window = new Semaphore(inFlight);
                // One callback of each kind per session; the send time travels as the context.
                AsyncCallback.StringCallback onCreate = (rc, path, ctx, name) -> done(rc, (Long) ctx, measured, session, window, ops, errors, latencies, counts);
                AsyncCallback.DataCallback onGet = (rc, path, ctx, bytes, stat) -> done(rc, (Long) ctx, measured, session, window, ops, errors, latencies, counts);
                AsyncCallback.StatCallback onSet = (rc, path, ctx, stat) -> done(rc, (Long) ctx, measured, session, window, ops, errors, latencies, counts);
                long sequence = 0;
                String key = root + "/k" + session;
                while (System.nanoTime() < deadline) {
                    window.acquireUninterruptibly();
                    Long sent = System.nanoTime();
                    switch (workload) {
                        case "create":
                            zk.create(root + "/c" + session + "-" + sequence++, data, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT, onCreate, sent);
                            break;
                        case "get":
                            zk.getData(key, false, onGet, sent);
                            break;
                        case "set":
                            zk.setData(key, data, -1, onSet, sent);
                            break;
                        default:
                            throw new IllegalArgumentException("unknown workload " + workload);
                    }
                }
                window.acquireUninterruptibly(inFlight);
            });
            threads.add(thread);
            thread.start();
        }

        for (Thread thread : threads) {
            thread.join();
        }

        double elapsed = (System.nanoTime() - measured) / 1e9;
        // The client's CPU over every reply it handled, warm-up included.
        double clientCpuUsPerOp = (processCpuNanos() - cpuAtStart) / 1e3 / Math.max(1, ops.get() + errors.get() + WARMUP_REPLIES.get());
        int total = 0;
        for (int c : counts) {
            total += c;
        }

        long[] all = new long[total];
        int at = 0;
        for (int s = 0; s < sessions; s++) {
            System.arraycopy(latencies[s], 0, all, at, counts[s]);
            at += counts[s];
        }

        Arrays.sort(all);
        for (ZooKeeper zk : clients) {
            zk.close();
        }

        System.out.printf(java.util.Locale.ROOT,
            "{\"Label\":\"%s\",\"Workload\":\"%s\",\"Sessions\":%d,\"InFlight\":%d,\"Payload\":%d,\"Ops\":%d,\"Errors\":%d,\"Seconds\":%.3f,"
                + "\"OpsPerSecond\":%.1f,\"P50Ms\":%.3f,\"P99Ms\":%.3f,\"P999Ms\":%.3f,\"MaxMs\":%.3f,\"ClientCpuUsPerOp\":%.1f}%n",
            label, workload, sessions, inFlight, payload, ops.get(), errors.get(), elapsed, ops.get() / elapsed,
            percentile(all, 0.50), percentile(all, 0.99), percentile(all, 0.999), all.length == 0 ? 0 : all[all.length - 1] / 1e6,
            clientCpuUsPerOp);
    }

    private static final AtomicLong WARMUP_REPLIES = new AtomicLong();

    /** CPU time of this whole process (every thread of the client library and of this driver). */
    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static void done(int rc, long sent, long measured, int session, Semaphore window, AtomicLong ops, AtomicLong errors, long[][] latencies, int[] counts) {
        // Callbacks of one session run on that session's event thread, one at a time.
        if (sent < measured) {
            WARMUP_REPLIES.incrementAndGet();
            window.release();
            return;
        }

        if (rc == KeeperException.Code.OK.intValue()) {
            ops.incrementAndGet();
        } else {
            errors.incrementAndGet();
        }

        if (counts[session] < latencies[session].length) {
            latencies[session][counts[session]++] = System.nanoTime() - sent;
        }

        window.release();
    }

    private static double percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }

        return sorted[Math.min(sorted.length - 1, (int) (sorted.length * p))] / 1e6;
    }
}
