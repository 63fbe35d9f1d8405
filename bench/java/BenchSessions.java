import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooKeeper;

/** Opens the benchmarks' sessions through Apache ZooKeeper's Java client. */
final class BenchSessions {
    private BenchSessions() {
    }

    /** COUNT sessions (30 s timeout) to SERVER, each connected before the next opens. */
    static List<ZooKeeper> open(String server, int count) throws Exception {
        List<ZooKeeper> clients = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            CountDownLatch connected = new CountDownLatch(1);
            ZooKeeper zk = new ZooKeeper(server, 30000, event -> {
                if (event.getState() == Watcher.Event.KeeperState.SyncConnected) {
                    connected.countDown();
                }
            });
            if (!connected.await(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("cannot connect to " + server);
            }
            clients.add(zk);
        }

        return clients;
    }
}
