using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Quorum;

/// <summary>
/// A follower serving observers (observerMasterPort, as Apache's ObserverMaster), as a socket
/// driver: while this server follows, it listens on that port of its quorum address, runs each
/// observer's handshake (OBSERVERINFO, LEADERINFO, ACKEPOCH, the sync, NEWLEADER, UPTODATE) and
/// hands the observer's packets to the <see cref="ObserverRelay"/> on the core thread.
/// </summary>
public sealed class ObserverMaster(QuorumContext context, FollowerReplication follower, ILogger logger)
{
    private ServerCore Core => context.Core;

    /// <summary>Serves observers until <paramref name="cancellationToken"/> ends the following.</summary>
    public async Task ServeAsync(CancellationToken cancellationToken)
    {
        var relay = await Core.AskAsync(new ObserverRelayBegins(follower, context.Membership, context.TickTimeMs, logger)).ConfigureAwait(false);
        if (relay is null)
        {
            return;
        }

        LearnerListener? listener = null;
        try
        {
            listener = await BindAsync(cancellationToken).ConfigureAwait(false);
            logger.LogInformation("Serving observers on port {Port}", context.Config.ObserverMasterPort);
            await listener.AcceptAsync((connection, remote) => HandleObserverAsync(connection, remote, relay, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            listener?.Dispose();
            Core.Post(new ObserverRelayEnds(relay));
            if (listener is not null)
            {
                await listener.HandlersAsync().ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>
    /// Binds the observer master port; while the port is taken (a server that just stopped leading
    /// on this host may still hold it) it tries again each tick rather than give up following.
    /// </summary>
    private async Task<LearnerListener> BindAsync(CancellationToken cancellationToken)
    {
        var warned = false;
        while (true)
        {
            try
            {
                return LearnerListener.Bind(context, _ => context.Config.ObserverMasterPort, "observer master", logger);
            }
            catch (SocketException e)
            {
                if (!warned)
                {
                    logger.LogWarning("Cannot listen for observers on port {Port} yet: {Message}", context.Config.ObserverMasterPort, e.Message);
                    warned = true;
                }

                await Task.Delay(context.TickTimeMs, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task HandleObserverAsync(Stream connection, EndPoint? remote, ObserverRelay relay, CancellationToken cancellationToken)
    {
        await using var stream = PacketStream.ForConnection(connection, context.MaxPacket);
        PeerLink? link = null;
        var sid = -1L;
        try
        {
            var packet = await stream.ReadWithinAsync(context.InitLimit, "OBSERVERINFO", cancellationToken).ConfigureAwait(false);
            if (packet.Type != PacketType.ObserverInfo || LearnerInfo.Parse(packet) is not { } info)
            {
                // As Apache: only observers may sync with a follower.
                logger.LogWarning("First packet from {Remote} on the observer master port is {Packet}, not OBSERVERINFO; closing", remote, packet);
                return;
            }

            sid = info.Sid;
            if (info.AheadOf(context.Membership.LastSeen.Version) is { } ahead)
            {
                logger.LogWarning("Refusing observer {Sid}: {Reason}", sid, ahead);
                return;
            }

            link = new PeerLink(sid, stream, logger)
            {
                IsFollower = false,
                LastHeardMillis = Core.Clock.MonotonicMillis,
                RemoteAddress = remote is IPEndPoint endPoint ? Admin.JavaText.SocketAddress(endPoint) : "<null>",
            };
            var sending = link.RunSendLoopAsync(cancellationToken);

            // The epoch is the leader's: the observer joins it as a learner of this follower.
            var version = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(version, 0x10000);
            link.Send(new QuorumPacket(PacketType.LeaderInfo, Zxid.Make(relay.Epoch, 0), version));
            var ackEpoch = await stream.ReadWithinAsync(context.InitLimit, $"ACKEPOCH from observer {sid}", cancellationToken).ConfigureAwait(false);
            if (ackEpoch.Type != PacketType.AckEpoch)
            {
                throw new QuorumException($"observer {sid} sent {ackEpoch}, not ACKEPOCH");
            }

            var peerLastZxid = ackEpoch.Zxid;
            var historyBase = await Core.AskAsync(new HistoryBaseRequested()).ConfigureAwait(false);
            var fromLog = peerLastZxid < historyBase ? context.ReadCommittedFromLog(peerLastZxid, historyBase, logger) : null;
            var kind = await Core.AskAsync(new ObserverSyncRequested(relay, link, peerLastZxid, fromLog)).ConfigureAwait(false);
            logger.LogInformation("Synchronizing observer {Sid} (last zxid 0x{Zxid:x}) by {Kind}", sid, peerLastZxid, kind);

            var newLeaderAck = await stream.ReadWithinAsync(context.InitLimit, $"observer {sid} to acknowledge NEWLEADER", cancellationToken).ConfigureAwait(false);
            if (newLeaderAck.Type != PacketType.Ack)
            {
                throw new QuorumException($"observer {sid} sent {newLeaderAck}, not the ACK of NEWLEADER");
            }

            link.Send(new QuorumPacket(PacketType.UpToDate, -1));
            while (!cancellationToken.IsCancellationRequested && !link.IsClosed)
            {
                var received = await stream.ReadWithinAsync(context.SyncLimit, $"any packet from observer {sid} (syncLimit)", cancellationToken).ConfigureAwait(false);
                link.Received(received);
                link.LastHeardMillis = Core.Clock.MonotonicMillis;
                Core.Post(new ObserverPacketReceived(relay, link, received));
            }

            await sending.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or QuorumException or InvalidDataException or SocketException or ObjectDisposedException)
        {
            logger.LogInformation("Connection with observer {Sid} at {Remote} ended: {Message}", sid, remote, e.Message);
        }
        finally
        {
            if (link is not null)
            {
                Core.Post(new ObserverDisconnected(relay, link));
                link.Close();
            }
        }
    }
}
