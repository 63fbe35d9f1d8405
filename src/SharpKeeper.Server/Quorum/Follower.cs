using SharpKeeper.Server.Config;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using SharpKeeper.Server.Persistence;
using SharpKeeper.Server.Processing;
using SharpKeeper.Server.Quorum.Reconfig;
using SharpKeeper.Server.Quorum.Sync;

namespace SharpKeeper.Server.Quorum;

/// <summary>
/// Following a leader: registers (FOLLOWERINFO, LEADERINFO, ACKEPOCH), synchronizes (DIFF, TRUNC or
/// SNAP, then NEWLEADER and UPTODATE), then applies the leader's proposals and commits until the
/// leader goes quiet for syncLimit ticks. Everything received before NEWLEADER is durable here
/// (txns logged, a snapshot written) before NEWLEADER is acknowledged.
/// </summary>
public sealed class Follower(QuorumContext context, long leaderId, Action<long> established, bool observer = false)
{
    // A leader elected a moment ago may not listen yet: retry soon, then back off.
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMilliseconds(50);
    private readonly ILogger _logger = context.LoggerFactory.CreateLogger("SharpKeeper.Server.Quorum.Follower");
    private ServerCore Core => context.Core;

    /// <summary>Set when a committed reconfig named this server's next leader: the peer follows it (or leads) without an election.</summary>
    public long? DesignatedLeader { get; private set; }

    /// <summary>Follows until the connection to the leader ends (returns) or the server stops (cancelled).</summary>
    public async Task FollowAsync(CancellationToken cancellationToken)
    {
        Socket? socket = null;
        try
        {
            (socket, var master) = await ConnectAsync(LearnerMasters(), cancellationToken).ConfigureAwait(false);
            Stream connection;
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                // TLS and SASL come before FOLLOWERINFO, within initLimit.
                timeout.CancelAfter(context.InitLimit);
                connection = await context.Transport.OpenAsync(socket, master.Host, timeout.Token).ConfigureAwait(false);
                socket = null;
                if (context.Sasl is { } sasl)
                {
                    try
                    {
                        await sasl.AuthenticateAsLearnerAsync(connection, $"{master.Sid} at {master.Host}:{master.Port}", timeout.Token).ConfigureAwait(false);
                    }
                    catch
                    {
                        await connection.DisposeAsync().ConfigureAwait(false);
                        throw;
                    }
                }
            }

            if (master.Sid != leaderId)
            {
                _logger.LogInformation("Observing leader {Leader} through follower {Master} at {Host}:{Port}", leaderId, master.Sid, master.Host, master.Port);
            }

            await using var stream = PacketStream.ForConnection(connection, context.MaxPacket);
            await RunAsync(stream, master.Sid, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or QuorumException or InvalidDataException or SocketException or ObjectDisposedException or CorruptStoreException or TimeoutException
            or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            _logger.LogWarning("Stopped following server {Leader}: {Message}", leaderId, e.Message);
        }
        finally
        {
            socket?.Dispose();
        }
    }

    /// <summary>A server to learn from and where: the leader's quorum port, or a follower's observer master port.</summary>
    private readonly record struct LearnerMaster(long Sid, string Host, int Port);

    /// <summary>
    /// Whom to connect to, in order: the leader's quorum addresses (several with multiAddress.enabled);
    /// for an observer with observerMasterPort, as Apache's, that port on each voter's quorum host in
    /// a random order (the leader, which does not serve observers there, last).
    /// </summary>
    private List<LearnerMaster> LearnerMasters()
    {
        var known = context.Membership.AllKnownServers;
        var omPort = context.Config.ObserverMasterPort;
        if (observer && omPort > 0)
        {
            var voters = context.Membership.Committed.Members.Values
                .Where(s => s.Role == ServerRole.Participant && s.Id != context.MyId)
                .OrderBy(s => s.Id == leaderId)
                .ThenBy(_ => Random.Shared.Next())
                .Select(s => new LearnerMaster(s.Id, s.Addresses[0].Host, omPort))
                .ToList();
            if (voters.Count > 0)
            {
                return voters;
            }
        }

        var leader = known.TryGetValue(leaderId, out var spec) ? spec : context.Config.Servers[leaderId];
        return [.. leader.Addresses.Select(a => new LearnerMaster(leaderId, a.Host, a.QuorumPort))];
    }

    /// <summary>
    /// Connects to the first of <paramref name="masters"/> that answers, trying each in turn, round
    /// after round, for connectToLearnerMasterLimit ticks (initLimit when that is 0).
    /// </summary>
    private async Task<(Socket Socket, LearnerMaster Master)> ConnectAsync(List<LearnerMaster> masters, CancellationToken cancellationToken)
    {
        var limit = context.Config.ConnectToLearnerMasterLimit > 0
            ? TimeSpan.FromMilliseconds((long)context.TickTimeMs * context.Config.ConnectToLearnerMasterLimit)
            : context.InitLimit;
        var deadline = DateTime.UtcNow + limit;
        var retryDelay = FirstRetryDelay;
        while (true)
        {
            Exception? last = null;
            foreach (var master in masters)
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    timeout.CancelAfter(TimeSpan.FromSeconds(5));
                    await socket.ConnectAsync(QuorumContext.EndPointOf(master.Host, master.Port), timeout.Token).ConfigureAwait(false);
                    return (socket, master);
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    socket.Dispose();
                    last = e;
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                var tried = string.Join(", ", masters.Select(m => $"{m.Host}:{m.Port}"));
                throw new QuorumException($"cannot connect to {(observer && masters[0].Sid != leaderId ? "an observer master" : "the leader")} at {tried}: {last?.Message}");
            }

            await Task.Delay(retryDelay, cancellationToken).ConfigureAwait(false);
            retryDelay = TimeSpan.FromTicks(Math.Min(retryDelay.Ticks * 2, MaxRetryDelay.Ticks));
        }
    }

    private async Task RunAsync(PacketStream stream, long masterId, CancellationToken cancellationToken)
    {
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var link = new PeerLink(masterId, stream, _logger);
        var host = new Host(context.Epochs, established, _logger, masterId, link, abandon);
        var membership = context.Reconfig.Enabled
            ? new LearnerMembership(context.Membership, context.MyId, observer, leaderId, context.Config.MultiAddressEnabled)
            : null;
        var settings = new LearnerSettings(
            context.MyId, observer, context.Membership.Committed.Version, (long)context.InitLimit.TotalMilliseconds, (long)context.SyncLimit.TotalMilliseconds, membership);
        var (replication, progress) = await Core.AskAsync(new LearningBegins(settings, context.Epochs, link, host)).ConfigureAwait(false);
        var sending = link.RunSendLoopAsync(cancellationToken);
        using var following = CancellationTokenSource.CreateLinkedTokenSource(abandon.Token);
        var servingObservers = !observer && context.Config.ObserverMasterPort > 0
            ? ServeObserversAsync(replication, host, following.Token)
            : Task.CompletedTask;
        try
        {
            await ReceiveAsync(stream, replication, progress, host, abandon.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (host.Failure is { } reason && !cancellationToken.IsCancellationRequested)
        {
            throw new QuorumException(reason);
        }
        finally
        {
            DesignatedLeader = host.DesignatedLeader;
            await following.CancelAsync().ConfigureAwait(false);
            // Observers are let go before this server steps down (the core hears of it first).
            await servingObservers.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            link.Close();
            await sending.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>With observerMasterPort: once this follower serves clients, it serves observers too, until it stops following.</summary>
    private async Task ServeObserversAsync(FollowerReplication replication, Host host, CancellationToken cancellationToken)
    {
        await host.Started.Task.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (!cancellationToken.IsCancellationRequested)
        {
            await new ObserverMaster(context, replication, _logger).ServeAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reads the leader's packets and hands each to the learner's state machine on the core thread:
    /// during sync one at a time (a SNAP's snapshot follows on this stream, a TRUNC cuts the disk
    /// before the next packet counts), once serving without waiting for the core.
    /// </summary>
    private async Task ReceiveAsync(PacketStream stream, FollowerReplication replication, LearnerProgress progress, Host host, CancellationToken cancellationToken)
    {
        while (true)
        {
            var packet = host.Serving
                ? await stream.ReadWithinAsync(context.SyncLimit, "any packet from the leader (syncLimit)", cancellationToken).ConfigureAwait(false)
                : await stream.ReadWithinAsync(TimeSpan.FromMilliseconds(Math.Max(0, progress.Deadline - Core.Clock.MonotonicMillis)), progress.Awaiting, cancellationToken).ConfigureAwait(false);
            if (packet.Type == PacketType.Proposal)
            {
                Core.Stats.LearnerProposalsReceived.Increment();
            }
            else if (packet.Type is PacketType.Commit or PacketType.Inform or PacketType.CommitAndActivate or PacketType.InformAndActivate)
            {
                Core.Stats.LearnerCommitsReceived.Increment();
            }

            var txn = DecodedTxn.Of(packet);
            if (host.Serving)
            {
                // Proposals and commits arrive packet by packet: batched by the pool's thread (one log
                // flush and one ack round for all that came in meanwhile), not run one at a time here.
                Core.PostInBackground(new LeaderPacketReceived(replication, packet, txn));
                continue;
            }

            progress = await Core.AskAsync(new SyncPacketReceived(replication, packet, txn)).ConfigureAwait(false);
            if (packet.Type == PacketType.Diff)
            {
                _logger.LogInformation("Synchronizing with leader {Leader} by DIFF from 0x{Zxid:x}", leaderId, progress.LastLogged);
            }

            if (host.TakeSnapshotToReceive() is { } snapZxid)
            {
                progress = await ReceiveSnapshotAsync(stream, replication, snapZxid, cancellationToken).ConfigureAwait(false);
            }
            else if (host.TakeTruncation() is { } truncateTo)
            {
                progress = await TruncateAsync(replication, truncateTo).ConfigureAwait(false);
            }

            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>SNAP: the leader's whole tree; written as a snapshot here before it replaces this server's.</summary>
    private async Task<LearnerProgress> ReceiveSnapshotAsync(PacketStream stream, FollowerReplication replication, long zxid, CancellationToken cancellationToken)
    {
        var (tree, sessions) = await SnapshotTransfer.ReadAsync(stream, $"leader {leaderId}", cancellationToken).ConfigureAwait(false);
        tree.LastProcessedZxid = zxid;
        var path = Path.Combine(context.Store.SnapshotDirectory, StoreLayout.FileName(StoreLayout.SnapshotPrefix, zxid));
        SnapshotFile.Write(path, tree, sessions, context.Config.ForceSync);
        context.Log.RollLog();
        var progress = await Core.AskAsync(new LeaderSnapshotInstalled(replication, tree, sessions, zxid)).ConfigureAwait(false);
        _logger.LogInformation("Synchronized with leader {Leader} by SNAP at 0x{Zxid:x}: {Nodes} znodes", leaderId, zxid, tree.NodeCount);
        return progress;
    }

    /// <summary>TRUNC: this server logged txns the ensemble never committed; they are cut off and the tree reloaded.</summary>
    private async Task<LearnerProgress> TruncateAsync(FollowerReplication replication, long zxid)
    {
        _logger.LogWarning("Leader {Leader} asks to truncate this server's log to 0x{Zxid:x}", leaderId, zxid);

        // Writes already handed to the log must land before the file is cut, not after.
        await (await Core.AskAsync(new LogDrainRequested()).ConfigureAwait(false))
            .WithinAsync(context.InitLimit, "the log to be durable through its last txn (before truncating it)").ConfigureAwait(false);
        context.Log.RollLog();
        context.Store.TruncateAfter(zxid);
        var recovered = context.Store.Recover(context.Config.CommitLogCount);
        return await Core.AskAsync(new LearnerLogTruncated(replication, recovered)).ConfigureAwait(false);
    }

    /// <summary>The learner's effects that reach files, the connection and the peer's role; called on the core thread.</summary>
    private sealed class Host(EpochFiles epochs, Action<long> established, ILogger logger, long leaderId, PeerLink link, CancellationTokenSource abandon) : ILearnerHost
    {
        private long? _snapshotZxid;
        private long? _truncateTo;
        private volatile bool _serving;

        public bool Serving => _serving;

        /// <summary>Completes when the learner starts serving (after UPTODATE).</summary>
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string? Failure { get; private set; }

        // Set on the core thread while the reader awaits the answer to the packet that asked for them.
        public long? TakeSnapshotToReceive()
        {
            var zxid = _snapshotZxid;
            _snapshotZxid = null;
            return zxid;
        }

        public long? TakeTruncation()
        {
            var zxid = _truncateTo;
            _truncateTo = null;
            return zxid;
        }

        public void PersistEpoch(string file, long epoch) => epochs.Write(file, epoch);

        public void ReceiveSnapshot(long zxid) => _snapshotZxid = zxid;

        public void TruncateLog(long zxid) => _truncateTo = zxid;

        public void StartedFollowing(long epoch)
        {
            _serving = true;
            established(epoch);
            Started.TrySetResult();
            logger.LogInformation("Following leader {Leader} in epoch {Epoch}; serving clients", leaderId, epoch);
        }

        public void Abandon(string reason)
        {
            Failure = reason;
            link.Close();
            abandon.Cancel();
        }

        public void Warn(string text) => logger.LogWarning("{Warning}", text);

        /// <summary>Whom to follow next without an election, after a reconfig named the leader.</summary>
        public long? DesignatedLeader { get; private set; }

        public void Reconfigured(string reason, long? designatedLeader)
        {
            DesignatedLeader = designatedLeader;
            logger.LogInformation("Leaving leader {Leader}: {Reason}", leaderId, reason);
            Abandon(reason);
        }
    }
}
