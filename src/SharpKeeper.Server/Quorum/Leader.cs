using System.Collections.Concurrent;
using System.Net;
using System.Buffers.Binary;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using SharpKeeper.Server.Persistence;
using SharpKeeper.Server.Processing;
using SharpKeeper.Server.Quorum.Sync;

namespace SharpKeeper.Server.Quorum;

/// <summary>
/// Leading, from election to loss of quorum, as a socket driver: it accepts learners on the quorum
/// port, reads their packets and hands them to the <see cref="LeaderRole"/> on the core thread,
/// where <see cref="LeaderSync"/> decides discovery and synchronization and
/// <see cref="LeaderReplication"/> broadcast; it writes the epoch files and reads the txn log for
/// a learner's DIFF off the core thread.
/// </summary>
public sealed class Leader
{
    private readonly QuorumContext _context;
    private readonly Action<long> _established;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource<string> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<PeerLink, LearnerConnection> _connections = new();
    private volatile LeaderRole? _role;

    /// <summary>Set when a committed reconfig handed leadership to another server: the peer follows it without an election.</summary>
    public long? DesignatedLeader { get; private set; }

    public Leader(QuorumContext context, Action<long> established)
    {
        _context = context;
        _established = established;
        _logger = context.LoggerFactory.CreateLogger("SharpKeeper.Server.Quorum.Leader");
    }

    private ServerCore Core => _context.Core;

    public LeaderReplication? Replication => _role?.Replication;

    /// <summary>Leads until leadership is lost (returns) or the server stops (cancelled).</summary>
    public async Task LeadAsync(CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var listener = LearnerListener.Bind(_context, a => a.QuorumPort, "quorum", _logger);
        await LeadOnAsync(listener, stop).ConfigureAwait(false);
    }

    private async Task LeadOnAsync(LearnerListener listener, CancellationTokenSource stop)
    {
        var host = new Host(this);
        // With reconfig a server not yet in the membership may join, as a follower without a vote.
        var members = _context.Reconfig.Enabled ? null : _context.Membership.AllKnownServers.Keys.ToHashSet();
        var settings = new LeaderSettings(_context.MyId, _context.Voters, members, (long)_context.InitLimit.TotalMilliseconds);
        var (role, durable) = await Core.AskAsync(new LeadingBegins(settings, _context.Epochs, host)).ConfigureAwait(false);
        _role = role;
        _ = durable.ContinueWith(_ => Core.Post(new LeaderLogDurable(role)), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        var accepting = listener.AcceptAsync((connection, remote) => HandleLearnerAsync(connection, remote, role, stop.Token), stop.Token);
        var ticking = TickAsync(role, stop.Token);
        try
        {
            var reason = await _ended.Task.WaitAsync(stop.Token).ConfigureAwait(false);
            _logger.LogWarning(role.Sync.Phase == LeaderPhase.Failed ? "Cannot lead: {Reason}" : "Stopped leading: {Reason}", reason);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            listener.Dispose();

            foreach (var connection in _connections.Values)
            {
                connection.Drop("leadership ended");
            }

            await accepting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await ticking.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await listener.HandlersAsync().ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>The handshakes' clock: each step and each learner has initLimit.</summary>
    private async Task TickAsync(LeaderRole role, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Max(1, _context.TickTimeMs / 2)));
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            Core.Post(new LeaderTicked(role));
        }
    }

    private async Task HandleLearnerAsync(Stream connection, EndPoint? remote, LeaderRole role, CancellationToken cancellationToken)
    {
        await using var stream = PacketStream.ForConnection(connection, _context.MaxPacket);
        LearnerConnection? learner = null;
        var sid = -1L;
        try
        {
            var info = await stream.ReadWithinAsync(_context.InitLimit, "FOLLOWERINFO", cancellationToken).ConfigureAwait(false);
            if (info.Type is not (PacketType.FollowerInfo or PacketType.ObserverInfo) || info.Data is not { Length: >= 8 } learnerInfo)
            {
                _logger.LogWarning("First packet from {Remote} is {Packet}, not FOLLOWERINFO; closing", remote, info);
                return;
            }

            sid = BinaryPrimitives.ReadInt64BigEndian(learnerInfo);
            var link = new PeerLink(sid, stream, _logger)
            {
                IsFollower = info.Type == PacketType.FollowerInfo,
                LastHeardMillis = Core.Clock.MonotonicMillis,
                RemoteAddress = remote is IPEndPoint endPoint ? Admin.JavaText.SocketAddress(endPoint) : "<null>",
            };
            learner = new LearnerConnection(link, CancellationTokenSource.CreateLinkedTokenSource(cancellationToken));
            _connections[link] = learner;
            var token = learner.Cancellation.Token;
            var sending = link.RunSendLoopAsync(token);
            Core.Post(new LearnerInfoReceived(role, link, info));

            // LEADERINFO goes out once a quorum has joined (initLimit), then ACKEPOCH is due within initLimit.
            var ackEpoch = await stream.ReadWithinAsync(2 * _context.InitLimit, $"ACKEPOCH from server {sid}", token).ConfigureAwait(false);
            Core.Post(new LearnerEpochAcked(role, link, ackEpoch));

            // Synchronized once a quorum acknowledged the epoch (the role says when).
            var peerLastZxid = await learner.SyncRequested.Task.WithinAsync(2 * _context.InitLimit, $"a quorum to acknowledge the epoch before syncing server {sid}", token).ConfigureAwait(false);
            var historyBase = await Core.AskAsync(new HistoryBaseRequested()).ConfigureAwait(false);
            var fromLog = peerLastZxid < historyBase ? _context.ReadCommittedFromLog(peerLastZxid, historyBase, _logger) : null;
            var kind = await Core.AskAsync(new LearnerSyncRequested(role, link, peerLastZxid, fromLog)).ConfigureAwait(false);
            _logger.LogInformation("Synchronizing server {Sid} (last zxid 0x{Zxid:x}) by {Kind}", sid, peerLastZxid, kind);

            var newLeaderAck = await stream.ReadWithinAsync(_context.InitLimit, $"server {sid} to acknowledge NEWLEADER", token).ConfigureAwait(false);
            Core.Post(new LearnerNewLeaderAcked(role, link, newLeaderAck));

            var replication = role.Replication!;
            while (!token.IsCancellationRequested && !link.IsClosed)
            {
                var packet = await stream.ReadWithinAsync(_context.SyncLimit, $"any packet from server {sid} (syncLimit)", token).ConfigureAwait(false);
                link.Received(packet);
                // Acks from every learner arrive packet by packet: the pool's thread takes all that came
                // in meanwhile as one batch (one commit round, one flush per link), as a core thread did.
                Core.PostInBackground(new LearnerPacketReceived(replication, link, packet));
            }

            await sending.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or QuorumException or InvalidDataException or SocketException or ObjectDisposedException)
        {
            var reason = learner?.DropReason ?? e.Message;
            _logger.LogInformation("Connection with server {Sid} at {Remote} ended: {Message}", sid, remote, reason);
        }
        finally
        {
            if (learner is not null)
            {
                _connections.TryRemove(learner.Link, out _);
                Core.Post(new LearnerDisconnected(role, learner.Link));
                learner.Link.Close();
                learner.Cancellation.Dispose();
            }
        }
    }

    /// <summary>One learner's connection: its link, what ends it, and the sync the role asked for.</summary>
    private sealed class LearnerConnection(PeerLink link, CancellationTokenSource cancellation)
    {
        public PeerLink Link { get; } = link;
        public CancellationTokenSource Cancellation { get; } = cancellation;
        public TaskCompletionSource<long> SyncRequested { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public string? DropReason { get; private set; }

        public void Drop(string reason)
        {
            DropReason ??= reason;
            Link.Close();
            try
            {
                Cancellation.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The handler already finished.
            }
        }
    }

    /// <summary>The leader's effects on files, connections and the peer's role; called on the core thread.</summary>
    private sealed class Host(Leader leader) : ILeaderHost
    {
        public void PersistEpoch(string file, long epoch) => leader._context.Epochs.Write(file, epoch);

        public LeaderReplication CreateReplication(long epoch)
        {
            var context = leader._context;
            var replication = new LeaderReplication(
                context.Core, context.MyId, context.Membership, context.Reconfig, epoch, context.TickTimeMs, context.Config.SyncLimit,
                context.LoggerFactory.CreateLogger("SharpKeeper.Server.Quorum.Replication"));
            replication.LostQuorum += reason => leader._ended.TrySetResult(reason);
            // As Apache: a leader that handed off commits nothing more and leads on until its followers
            // have left for the new leader (it loses its quorum), then follows that leader.
            replication.HandedOff += designated => leader.DesignatedLeader = designated;
            return replication;
        }

        public void SynchronizeLearner(PeerLink learner, long peerLastZxid)
        {
            if (leader._connections.TryGetValue(learner, out var connection))
            {
                connection.SyncRequested.TrySetResult(peerLastZxid);
            }
        }

        public void StartedLeading(long epoch)
        {
            leader._established(epoch);
            leader._logger.LogInformation(
                "Leading epoch {Epoch}; serving from zxid 0x{Zxid:x}", epoch, Zxid.Make(epoch, 0));
        }

        public void DropLearner(PeerLink learner, string reason)
        {
            leader._logger.LogInformation("Dropping server {Sid}: {Reason}", learner.Sid, reason);
            if (leader._connections.TryGetValue(learner, out var connection))
            {
                connection.Drop(reason);
            }
            else
            {
                learner.Close();
            }
        }

        public void Abandon(string reason) => leader._ended.TrySetResult(reason);
    }
}
