using System.Net;
using System.Buffers.Binary;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using SharpKeeper.Server.Persistence;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Quorum;

/// <summary>
/// Leading, from election to loss of quorum: accepts learners on the quorum port, runs discovery
/// (FOLLOWERINFO, LEADERINFO, ACKEPOCH) and synchronization (DIFF/TRUNC/SNAP, NEWLEADER, UPTODATE)
/// with each, then serves through <see cref="LeaderReplication"/> until a quorum stops answering.
/// </summary>
public sealed class Leader(QuorumContext context, Action<long> established)
{
    private readonly ILogger _logger = context.LoggerFactory.CreateLogger("SharpKeeper.Server.Quorum.Leader");
    private readonly TaskCompletionSource<LeaderReplication> _replication = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ServerCore Core => context.Core;

    public LeaderReplication? Replication => _replication.Task.IsCompletedSuccessfully ? _replication.Task.Result : null;

    /// <summary>Leads until leadership is lost (returns) or the server stops (cancelled).</summary>
    public async Task LeadAsync(CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var discovery = new LeaderDiscovery(context.MyId, context.Voters, context.InitLimit);
        using var listener = new Socket(SocketType.Stream, ProtocolType.Tcp);
        var endpoint = context.ListenEndPoint(context.Me.QuorumPort);
        if (endpoint.AddressFamily == AddressFamily.InterNetworkV6)
        {
            listener.DualMode = true;
        }

        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(endpoint);
        listener.Listen(64);
        var handlers = new List<Task>();
        var accepting = AcceptLoopAsync(listener, discovery, handlers, stop.Token);
        var lost = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            var lastZxid = await Core.InvokeAsync(() => Core.LastLoggedZxid).ConfigureAwait(false);
            var acceptedEpoch = context.Epochs.Read(EpochFiles.Accepted, lastZxid);
            var currentEpoch = context.Epochs.Read(EpochFiles.Current, lastZxid);
            discovery.SetLeaderState(currentEpoch, lastZxid);

            var epoch = await discovery.JoinAsync(context.MyId, acceptedEpoch).ConfigureAwait(false);
            context.Epochs.Write(EpochFiles.Accepted, epoch);
            await discovery.AckEpochAsync(context.MyId, currentEpoch, lastZxid).ConfigureAwait(false);
            context.Epochs.Write(EpochFiles.Current, epoch);

            var replication = await Core.InvokeAsync(() => new LeaderReplication(
                Core, context.Voters.Count, epoch, context.MembershipText, context.TickTimeMs, context.Config.SyncLimit,
                context.LoggerFactory.CreateLogger("SharpKeeper.Server.Quorum.Replication"))).ConfigureAwait(false);
            replication.LostQuorum += reason => lost.TrySetResult(reason);
            _replication.TrySetResult(replication);
            await (await Core.InvokeAsync(() => Core.WaitDurableAsync(lastZxid)).ConfigureAwait(false))
                .WithinAsync(context.InitLimit, $"its own log to be durable through 0x{lastZxid:x} (to acknowledge NEWLEADER itself)", stop.Token).ConfigureAwait(false);
            await discovery.AckNewLeaderAsync(context.MyId).ConfigureAwait(false);

            await Core.InvokeAsync(() =>
            {
                Core.TakeRole(replication, Zxid.Make(epoch, 1), Zxid.Make(epoch, 0));
                return true;
            }).ConfigureAwait(false);
            established(epoch);
            discovery.MarkStarted();
            _logger.LogInformation(
                "Leading epoch {Epoch} with {Learners} learners synced; serving from zxid 0x{Zxid:x}",
                epoch, discovery.Joined.Count - 1, Zxid.Make(epoch, 0));

            var reason = await lost.Task.WaitAsync(stop.Token).ConfigureAwait(false);
            _logger.LogWarning("Stopped leading: {Reason}", reason);
        }
        catch (QuorumException e)
        {
            _logger.LogWarning("Cannot lead: {Reason}", e.Message);
        }
        finally
        {
            discovery.Abandon(new QuorumException("leadership ended"));
            _replication.TrySetException(new QuorumException("leadership ended"));
            await stop.CancelAsync().ConfigureAwait(false);
            listener.Close();
            await accepting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            Task[] running;
            lock (handlers)
            {
                running = [.. handlers];
            }

            await Task.WhenAll(running).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task AcceptLoopAsync(Socket listener, LeaderDiscovery discovery, List<Task> handlers, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                return;
            }

            socket.NoDelay = true;
            lock (handlers)
            {
                // Learners reconnect over a long leadership: keep only the handlers still running.
                handlers.RemoveAll(t => t.IsCompleted);
                handlers.Add(Task.Run(() => HandleLearnerAsync(socket, discovery, cancellationToken), CancellationToken.None));
            }
        }
    }

    /// <summary>
    /// For a learner older than the history in memory: the committed txns after its last zxid from
    /// the txn log (read on this thread, not the core's), when the log holds that zxid (or it starts
    /// an epoch) and the txns take at most snapshotSizeFactor of the newest snapshot's size.
    /// </summary>
    private LoggedTxns? ReadFromLog(long peerLastZxid, long through)
    {
        var factor = context.Config.SnapshotSizeFactor;
        if (factor < 0)
        {
            return null;
        }

        var snapshotSize = context.Store.NewestSnapshotSize();
        var limit = (long)(factor * snapshotSize);
        try
        {
            var txns = context.Store.ReadTxnsAfter(peerLastZxid, through, limit, out var holdsPeer);
            if (txns is null || !(holdsPeer || Zxid.CounterOf(peerLastZxid) == 0))
            {
                return null;
            }

            return new LoggedTxns(through, txns, txns.Sum(t => (long)t.Body.Length), $"within snapshotSizeFactor {factor} of the {snapshotSize}-byte snapshot");
        }
        catch (Exception e) when (e is IOException or CorruptStoreException)
        {
            _logger.LogWarning("Cannot read the txn log to sync a learner from 0x{Zxid:x}: {Message}", peerLastZxid, e.Message);
            return null;
        }
    }

    private async Task HandleLearnerAsync(Socket socket, LeaderDiscovery discovery, CancellationToken cancellationToken)
    {
        var remote = socket.RemoteEndPoint;
        Stream connection;
        try
        {
            // TLS and SASL come before FOLLOWERINFO, within initLimit.
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(context.InitLimit);
            connection = await context.Transport.AcceptAsync(socket, "quorum", timeout.Token).ConfigureAwait(false);
            if (context.Sasl is { } sasl)
            {
                connection = await sasl.AuthenticateAsServerAsync(connection, $"{remote}", timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
            _logger.LogInformation("Connection from {Remote} on the quorum port refused: {Message}", remote, e.Message);
            socket.Dispose();
            return;
        }

        await using var stream = PacketStream.ForConnection(connection, context.MaxPacket);
        PeerLink? link = null;
        LeaderReplication? replication = null;
        var sid = -1L;
        try
        {
            var info = await stream.ReadWithinAsync(context.InitLimit, "FOLLOWERINFO", cancellationToken).ConfigureAwait(false);
            if (info.Type is not (PacketType.FollowerInfo or PacketType.ObserverInfo) || info.Data is not { Length: >= 8 } learnerInfo)
            {
                _logger.LogWarning("First packet from {Remote} is {Packet}, not FOLLOWERINFO; closing", remote, info);
                return;
            }

            sid = BinaryPrimitives.ReadInt64BigEndian(learnerInfo);
            if (!context.Config.Servers.ContainsKey(sid))
            {
                _logger.LogWarning("Server {Sid} at {Remote} is not in the configuration; closing", sid, remote);
                return;
            }

            var epoch = await discovery.JoinAsync(sid, Zxid.EpochOf(info.Zxid)).ConfigureAwait(false);
            var version = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(version, 0x10000);
            await stream.WriteAsync(new QuorumPacket(PacketType.LeaderInfo, Zxid.Make(epoch, 0), version), cancellationToken).ConfigureAwait(false);

            var ackEpoch = await stream.ReadWithinAsync(context.InitLimit, $"ACKEPOCH from server {sid}", cancellationToken).ConfigureAwait(false);
            if (ackEpoch.Type != PacketType.AckEpoch || ackEpoch.Data is not { Length: >= 4 } epochBytes)
            {
                _logger.LogWarning("Server {Sid} answered LEADERINFO with {Packet}; closing", sid, ackEpoch);
                return;
            }

            var peerLastZxid = ackEpoch.Zxid;
            await discovery.AckEpochAsync(sid, BinaryPrimitives.ReadInt32BigEndian(epochBytes), peerLastZxid).ConfigureAwait(false);
            replication = await _replication.Task.WithinAsync(context.InitLimit, "this leader to finish discovery", cancellationToken).ConfigureAwait(false);

            link = new PeerLink(sid, stream, _logger)
            {
                IsVoter = context.Voters.Contains(sid),
                LastHeardMillis = Core.Clock.MonotonicMillis,
                RemoteAddress = remote is IPEndPoint endPoint ? Admin.JavaText.SocketAddress(endPoint) : "<null>",
            };
            var learner = link;
            var historyBase = await Core.InvokeAsync(() => Core.Committed.Base).ConfigureAwait(false);
            var fromLog = peerLastZxid < historyBase ? ReadFromLog(peerLastZxid, historyBase) : null;
            var kind = await Core.InvokeAsync(() => replication.AddLearner(learner, peerLastZxid, fromLog)).ConfigureAwait(false);
            _logger.LogInformation("Synchronizing server {Sid} (last zxid 0x{Zxid:x}) by {Kind}", sid, peerLastZxid, kind);
            var sending = link.RunSendLoopAsync(cancellationToken);

            var newLeaderAck = await stream.ReadWithinAsync(context.InitLimit, $"server {sid} to acknowledge NEWLEADER", cancellationToken).ConfigureAwait(false);
            if (newLeaderAck.Type != PacketType.Ack || newLeaderAck.Zxid != Zxid.Make(replication.Epoch, 0))
            {
                _logger.LogWarning("Server {Sid} answered NEWLEADER with {Packet}; closing", sid, newLeaderAck);
                return;
            }

            await Core.InvokeAsync(() =>
            {
                learner.IsSynced = true;
                learner.LastHeardMillis = Core.Clock.MonotonicMillis;
                return true;
            }).ConfigureAwait(false);
            await discovery.AckNewLeaderAsync(sid).ConfigureAwait(false);
            await discovery.Started.WithinAsync(context.InitLimit, "this leader to start serving (before UPTODATE)", cancellationToken).ConfigureAwait(false);
            link.Send(new QuorumPacket(PacketType.UpToDate, -1));

            while (!cancellationToken.IsCancellationRequested && !link.IsClosed)
            {
                var packet = await stream.ReadWithinAsync(context.SyncLimit, $"any packet from server {sid} (syncLimit)", cancellationToken).ConfigureAwait(false);
                link.Received(packet);
                Core.Post(new LearnerPacketReceived(replication, learner, packet));
            }

            await sending.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or QuorumException or InvalidDataException or SocketException or ObjectDisposedException)
        {
            _logger.LogInformation("Connection with server {Sid} at {Remote} ended: {Message}", sid, remote, e.Message);
        }
        finally
        {
            if (link is not null && replication is not null)
            {
                Core.Post(new LearnerLeft(replication, link));
            }

            link?.Close();
        }
    }
}
