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
 * Usage: java -cp ... JavaClientBench SERVER LABEL WORKLOAD SESSIONS INFLIGHT PAYLOAD SECONDS [RATE [SERVER_PIDS]]
 * Workloads: create, get, set, mix (90 % getData, 10 % setData).
 * RATE (requests/s in all, 0 or absent: closed loop) paces every session at RATE/SESSIONS on a fixed
 * schedule, at most INFLIGHT outstanding each; latency is then timed from each request's scheduled
 * send, so a server that falls behind shows its backlog instead of slowing the load down.
 * SERVER_PIDS (comma-separated: every server of an ensemble) adds the servers' CPU time per request
 * over the measured window alone (warm-up, connects and JIT before it excluded), from /proc.
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
        double rate = args.length > 7 ? Double.parseDouble(args[7]) : 0;
        // Each session's gap between scheduled sends, when paced.
        long intervalNanos = rate > 0 ? (long) (1e9 * sessions / rate) : 0;
        String[] serverPids = args.length > 8 && !args[8].isEmpty() ? args[8].split(",") : new String[0];
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
        // The servers' CPU is read when the measured window opens, on a thread of its own.
        long[] serverTicks = new long[2];
        Thread serverCpuAtStart = new Thread(() -> {
            long wait = measured - System.nanoTime();
            if (wait > 0) {
                java.util.concurrent.locks.LockSupport.parkNanos(wait);
            }
            serverTicks[0] = serverCpuTicks(serverPids);
        });
        serverCpuAtStart.start();
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
                // Sessions start their schedules spread over one interval, not all at once.
                long next = System.nanoTime() + intervalNanos * session / sessions;
                while (System.nanoTime() < deadline) {
                    Long sent;
                    if (intervalNanos > 0) {
                        long wait = next - System.nanoTime();
                        if (wait > 0) {
                            java.util.concurrent.locks.LockSupport.parkNanos(wait);
                            continue;
                        }

                        window.acquireUninterruptibly();
                        sent = next;
                        next += intervalNanos;
                    } else {
                        window.acquireUninterruptibly();
                        sent = System.nanoTime();
                    }

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
                        case "mix":
                            // Every tenth request of a session writes, the others read: 90/10.
                            if (sequence++ % 10 == 9) {
                                zk.setData(key, data, -1, onSet, sent);
                            } else {
                                zk.getData(key, false, onGet, sent);
                            }
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

        serverCpuAtStart.join();
        serverTicks[1] = serverCpuTicks(serverPids);

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

        String serverCpu = serverPids.length == 0 ? ""
            : String.format(java.util.Locale.ROOT, ",\"ServerCpuUsPerOp\":%.1f", (serverTicks[1] - serverTicks[0]) * 1e6 / clockTicksPerSecond() / Math.max(1, ops.get()));
        System.out.printf(java.util.Locale.ROOT,
            "{\"Label\":\"%s\",\"Workload\":\"%s\",\"Sessions\":%d,\"InFlight\":%d,\"Payload\":%d,\"Ops\":%d,\"Errors\":%d,\"Seconds\":%.3f,"
                + "\"OpsPerSecond\":%.1f,\"P50Ms\":%.3f,\"P99Ms\":%.3f,\"P999Ms\":%.3f,\"MaxMs\":%.3f,\"ClientCpuUsPerOp\":%.1f,\"OfferedRate\":%.0f%s}%n",
            label, workload, sessions, inFlight, payload, ops.get(), errors.get(), elapsed, ops.get() / elapsed,
            percentile(all, 0.50), percentile(all, 0.99), percentile(all, 0.999), all.length == 0 ? 0 : all[all.length - 1] / 1e6,
            clientCpuUsPerOp, rate, serverCpu);
    }

    private static final AtomicLong WARMUP_REPLIES = new AtomicLong();

    /** User + system CPU ticks of these processes so far (fields 14 and 15 of /proc/PID/stat). */
    private static long serverCpuTicks(String[] pids) {
        long ticks = 0;
        for (String pid : pids) {
            try {
                String stat = new String(java.nio.file.Files.readAllBytes(java.nio.file.Paths.get("/proc", pid, "stat")), StandardCharsets.US_ASCII);
                // The command name (field 2) is in parentheses and may hold spaces: count from after it.
                String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                ticks += Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
            } catch (java.io.IOException e) {
                throw new IllegalStateException("cannot read the CPU time of server process " + pid, e);
            }
        }

        return ticks;
    }

    private static long clockTicksPerSecond() throws Exception {
        Process getconf = new ProcessBuilder("getconf", "CLK_TCK").start();
        try (java.io.InputStream out = getconf.getInputStream()) {
            return Long.parseLong(new String(out.readAllBytes(), StandardCharsets.US_ASCII).trim());
        }
    }

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
