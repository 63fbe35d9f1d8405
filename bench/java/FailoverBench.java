import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;

/**
 * What an ensemble's clients see when its leader fails, through Apache ZooKeeper's own Java client:
 * SESSIONS sessions write (setData, async) at RATE writes/s in total; after WARMUP seconds this
 * program runs FAULT (e.g. "kill -9 1234"), then keeps writing for AFTER seconds. Prints one JSON
 * line: the longest gap between two successful writes of any session (the ensemble wrote nothing),
 * the time from the fault until every session wrote again, and the failed writes.
 *
 * Usage: java -cp ... FailoverBench SERVER LABEL SESSIONS RATE WARMUP AFTER FAULT...
 */
public final class FailoverBench {
    public static void main(String[] args) throws Exception {
        String server = args[0];
        String label = args[1];
        int sessions = Integer.parseInt(args[2]);
        int rate = Integer.parseInt(args[3]);
        double warmup = Double.parseDouble(args[4]);
        double after = Double.parseDouble(args[5]);
        String[] fault = Arrays.copyOfRange(args, 6, args.length);
        byte[] data = new byte[100];
        Arrays.fill(data, (byte) 'x');
        String root = "/failover-" + System.nanoTime();

        List<ZooKeeper> clients = BenchSessions.open(server, sessions);

        clients.get(0).create(root, new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        for (int i = 0; i < sessions; i++) {
            clients.get(0).create(root + "/k" + i, data, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        }

        // Successful writes as (nanoTime, session); failures counted.
        ConcurrentLinkedQueue<long[]> successes = new ConcurrentLinkedQueue<>();
        AtomicLong failures = new AtomicLong();
        long start = System.nanoTime();
        long faultAt = start + (long) (warmup * 1e9);
        long end = faultAt + (long) (after * 1e9);
        long interval = 1_000_000_000L / rate;
        boolean faulted = false;
        long faultNanos = 0;
        long next = start;
        int session = 0;
        while (System.nanoTime() < end) {
            long now = System.nanoTime();
            if (!faulted && now >= faultAt) {
                faultNanos = System.nanoTime();
                new ProcessBuilder(fault).inheritIO().start().waitFor();
                faulted = true;
            }

            if (now < next) {
                long sleep = next - now;
                Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
                continue;
            }

            next += interval;
            final int s = session;
            session = (session + 1) % sessions;
            clients.get(s).setData(root + "/k" + s, data, -1, (rc, path, ctx, stat) -> {
                if (rc == KeeperException.Code.OK.intValue()) {
                    successes.add(new long[] {System.nanoTime(), s});
                } else {
                    failures.incrementAndGet();
                }
            }, null);
        }

        Thread.sleep(500);
        long[][] ordered = successes.toArray(new long[0][]);
        Arrays.sort(ordered, (a, b) -> Long.compare(a[0], b[0]));
        long longestGap = 0;
        for (int i = 1; i < ordered.length; i++) {
            if (ordered[i - 1][0] >= start + (long) (0.5e9)) {
                longestGap = Math.max(longestGap, ordered[i][0] - ordered[i - 1][0]);
            }
        }

        // Each session's first success after the fault; the last of those is when all wrote again.
        long[] firstAfter = new long[sessions];
        Arrays.fill(firstAfter, -1);
        for (long[] success : ordered) {
            int s = (int) success[1];
            if (success[0] > faultNanos && firstAfter[s] < 0) {
                firstAfter[s] = success[0];
            }
        }

        long allAgain = 0;
        int recovered = 0;
        for (long t : firstAfter) {
            if (t >= 0) {
                recovered++;
                allAgain = Math.max(allAgain, t - faultNanos);
            }
        }

        System.out.printf(
            "{\"Label\":\"%s\",\"Sessions\":%d,\"Rate\":%d,\"LongestGapMs\":%.1f,\"AllSessionsAgainMs\":%.1f,\"SessionsRecovered\":%d,\"Writes\":%d,\"Failures\":%d}%n",
            label, sessions, rate, longestGap / 1e6, recovered == sessions ? allAgain / 1e6 : -1.0, recovered, ordered.length, failures.get());
        for (ZooKeeper zk : clients) {
            zk.close(1000);
        }
    }
}
