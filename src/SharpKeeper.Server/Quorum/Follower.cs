using System.Buffers.Binary;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Server.Persistence;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Quorum;

/// <summary>
/// Following a leader: registers (FOLLOWERINFO, LEADERINFO, ACKEPOCH), synchronizes (DIFF, TRUNC or
/// SNAP, then NEWLEADER and UPTODATE), then applies the leader's proposals and commits until the
/// leader goes quiet for syncLimit ticks. Everything received before NEWLEADER is durable here
/// (txns logged, a snapshot written) before NEWLEADER is acknowledged.
/// </summary>
public sealed class Follower(QuorumContext context, long leaderId, Action<long> established, bool observer = false)
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(200);
    private readonly ILogger _logger = context.LoggerFactory.CreateLogger("SharpKeeper.Server.Quorum.Follower");
    private ServerCore Core => context.Core;

    /// <summary>Follows until the connection to the leader ends (returns) or the server stops (cancelled).</summary>
    public async Task FollowAsync(CancellationToken cancellationToken)
    {
        var leaderSpec = context.Config.Servers[leaderId];
        Socket? socket = null;
        try
        {
            socket = await ConnectAsync(leaderSpec.Host, leaderSpec.QuorumPort, cancellationToken).ConfigureAwait(false);
            Stream connection;
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                // TLS and SASL come before FOLLOWERINFO, within initLimit.
                timeout.CancelAfter(context.InitLimit);
                connection = await context.Transport.OpenAsync(socket, leaderSpec.Host, timeout.Token).ConfigureAwait(false);
                socket = null;
                if (context.Sasl is { } sasl)
                {
                    try
                    {
                        await sasl.AuthenticateAsLearnerAsync(connection, $"{leaderId} at {leaderSpec.Host}:{leaderSpec.QuorumPort}", timeout.Token).ConfigureAwait(false);
                    }
                    catch
                    {
                        await connection.DisposeAsync().ConfigureAwait(false);
                        throw;
                    }
                }
            }

            await using var stream = PacketStream.ForConnection(connection, context.MaxPacket);
            await RunAsync(stream, cancellationToken).ConfigureAwait(false);
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

    private async Task<Socket> ConnectAsync(string host, int port, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + context.InitLimit;
        while (true)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                await socket.ConnectAsync(QuorumContext.EndPointOf(host, port), timeout.Token).ConfigureAwait(false);
                return socket;
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                socket.Dispose();
                if (DateTime.UtcNow > deadline)
                {
                    throw new QuorumException($"cannot connect to the leader at {host}:{port}: {e.Message}");
                }

                await Task.Delay(RetryDelay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task RunAsync(PacketStream stream, CancellationToken cancellationToken)
    {
        var lastZxid = await Core.InvokeAsync(() => Core.LastLoggedZxid).ConfigureAwait(false);
        var acceptedEpoch = context.Epochs.Read(EpochFiles.Accepted, lastZxid);
        var currentEpoch = context.Epochs.Read(EpochFiles.Current, lastZxid);

        // Discovery.
        using (var learnerInfo = new JuteWriter(32))
        {
            learnerInfo.WriteLong(context.MyId);
            learnerInfo.WriteInt(0x10000);
            learnerInfo.WriteLong(context.Config.QuorumConfigVersion);
            await stream.WriteAsync(new QuorumPacket(observer ? PacketType.ObserverInfo : PacketType.FollowerInfo, Zxid.Make(acceptedEpoch, 0), learnerInfo.ToArray()), cancellationToken).ConfigureAwait(false);
        }

        var leaderInfo = await stream.ReadWithinAsync(context.InitLimit, "LEADERINFO", cancellationToken).ConfigureAwait(false);
        if (leaderInfo.Type != PacketType.LeaderInfo)
        {
            throw new QuorumException($"expected LEADERINFO, got {leaderInfo}");
        }

        var newEpoch = Zxid.EpochOf(leaderInfo.Zxid);
        var epochAnswer = new byte[4];
        if (newEpoch > acceptedEpoch)
        {
            BinaryPrimitives.WriteInt32BigEndian(epochAnswer, (int)currentEpoch);
            context.Epochs.Write(EpochFiles.Accepted, newEpoch);
        }
        else if (newEpoch == acceptedEpoch)
        {
            // Already accepted this epoch once: the answer must not count as a second acceptance.
            BinaryPrimitives.WriteInt32BigEndian(epochAnswer, -1);
        }
        else
        {
            throw new QuorumException($"the leader's epoch {newEpoch} is older than the accepted epoch {acceptedEpoch}");
        }

        await stream.WriteAsync(new QuorumPacket(PacketType.AckEpoch, lastZxid, epochAnswer), cancellationToken).ConfigureAwait(false);

        // Synchronization.
        var link = new PeerLink(leaderId, stream, _logger);
        var replication = new FollowerReplication(Core, link);
        var sending = link.RunSendLoopAsync(cancellationToken);
        await Core.InvokeAsync(() =>
        {
            Core.SetReplication(replication);
            return true;
        }).ConfigureAwait(false);

        var first = await stream.ReadWithinAsync(context.InitLimit, "DIFF, TRUNC or SNAP", cancellationToken).ConfigureAwait(false);
        switch (first.Type)
        {
            case PacketType.Diff:
                _logger.LogInformation("Synchronizing with leader {Leader} by DIFF from 0x{Zxid:x}", leaderId, lastZxid);
                break;
            case PacketType.Snap:
                await ReceiveSnapshotAsync(stream, first.Zxid, cancellationToken).ConfigureAwait(false);
                break;
            case PacketType.Trunc:
                await TruncateAsync(first.Zxid).ConfigureAwait(false);
                break;
            default:
                throw new QuorumException($"expected DIFF, TRUNC or SNAP, got {first}");
        }

        // NEWLEADER must come within initLimit of the sync, and UPTODATE within initLimit of the
        // acknowledgement, however many PINGs or proposals arrive in between; then every packet
        // within syncLimit.
        var newLeaderZxid = 0L;
        var serving = false;
        var phaseDeadline = Environment.TickCount64 + (long)context.InitLimit.TotalMilliseconds;
        while (!cancellationToken.IsCancellationRequested)
        {
            var packet = serving
                ? await stream.ReadWithinAsync(context.SyncLimit, "any packet from the leader (syncLimit)", cancellationToken).ConfigureAwait(false)
                : await stream.ReadWithinAsync(
                    TimeSpan.FromMilliseconds(Math.Max(0, phaseDeadline - Environment.TickCount64)),
                    newLeaderZxid == 0 ? "NEWLEADER" : "UPTODATE",
                    cancellationToken).ConfigureAwait(false);
            switch (packet.Type)
            {
                case PacketType.NewLeader when !serving:
                    {
                        newLeaderZxid = packet.Zxid;

                        // Everything received so far is on disk before the leader hears this server has it.
                        var logged = await Core.InvokeAsync(() => Core.LastLoggedZxid).ConfigureAwait(false);
                        await (await Core.InvokeAsync(() => Core.WaitDurableAsync(logged)).ConfigureAwait(false))
                            .WithinAsync(context.InitLimit, $"the log to be durable through 0x{logged:x} (to acknowledge NEWLEADER)", cancellationToken).ConfigureAwait(false);
                        context.Epochs.Write(EpochFiles.Current, newEpoch);
                        link.Send(new QuorumPacket(PacketType.Ack, newLeaderZxid));
                        phaseDeadline = Environment.TickCount64 + (long)context.InitLimit.TotalMilliseconds;
                        if (!observer)
                        {
                            Core.Post(new AcksEnabled(replication));
                        }

                        break;
                    }

                case PacketType.UpToDate when !serving:
                    {
                        await Core.InvokeAsync(() =>
                        {
                            Core.TakeRole(replication, null, newLeaderZxid);
                            return true;
                        }).ConfigureAwait(false);
                        link.Send(new QuorumPacket(PacketType.Ack, Zxid.Make(newEpoch, 0)));
                        serving = true;
                        established(newEpoch);
                        _logger.LogInformation("Following leader {Leader} in epoch {Epoch}; serving clients", leaderId, newEpoch);
                        break;
                    }

                case PacketType.Proposal:
                    {
                        var data = packet.Data ?? throw new InvalidDataException("PROPOSAL without data");
                        Core.Stats.LearnerProposalsReceived.Increment();
                        var (header, txn) = TxnLogFormat.DecodeBody(data);
                        Core.Post(new ProposalReceived(replication, header, txn, data));
                        break;
                    }

                case PacketType.Inform:
                    {
                        // An observer's txn: already committed by the quorum.
                        var data = packet.Data ?? throw new InvalidDataException("INFORM without data");
                        Core.Stats.LearnerCommitsReceived.Increment();
                        var (header, txn) = TxnLogFormat.DecodeBody(data);
                        Core.Post(new InformReceived(header, txn, data));
                        break;
                    }

                case PacketType.Commit:
                    {
                        var zxid = packet.Zxid;
                        Core.Stats.LearnerCommitsReceived.Increment();
                        Core.Post(new CommitReceived(zxid));
                        break;
                    }

                case PacketType.Ping:
                    Core.Post(new LeaderPinged(replication, packet));
                    break;
                case PacketType.Revalidate when packet.Data is { Length: >= 9 } data:
                    {
                        var sessionId = BinaryPrimitives.ReadInt64BigEndian(data);
                        var valid = data[8] != 0;
                        Core.Post(new SessionRevalidated(sessionId, valid));
                        break;
                    }

                case PacketType.Sync:
                    Core.Post(SyncAnswered.Instance);
                    break;
                default:
                    _logger.LogWarning("Unexpected {Packet} from the leader", packet);
                    break;
            }

            if (link.IsClosed)
            {
                throw new QuorumException("the connection to the leader closed");
            }
        }

        await sending.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>SNAP: the leader's whole tree; written as a snapshot here before it replaces this server's.</summary>
    private async Task ReceiveSnapshotAsync(PacketStream stream, long zxid, CancellationToken cancellationToken)
    {
        var (tree, sessions) = await SnapshotTransfer.ReadAsync(stream, $"leader {leaderId}", cancellationToken).ConfigureAwait(false);
        tree.LastProcessedZxid = zxid;
        var path = Path.Combine(context.Store.SnapshotDirectory, StoreLayout.FileName(StoreLayout.SnapshotPrefix, zxid));
        SnapshotFile.Write(path, tree, sessions, context.Config.ForceSync);
        context.Log.RollLog();
        await Core.InvokeAsync(() =>
        {
            Core.ReplaceTree(tree, sessions);
            return true;
        }).ConfigureAwait(false);
        _logger.LogInformation("Synchronized with leader {Leader} by SNAP at 0x{Zxid:x}: {Nodes} znodes", leaderId, zxid, tree.NodeCount);
    }

    /// <summary>TRUNC: this server logged txns the ensemble never committed; they are cut off and the tree reloaded.</summary>
    private async Task TruncateAsync(long zxid)
    {
        _logger.LogWarning("Leader {Leader} asks to truncate this server's log to 0x{Zxid:x}", leaderId, zxid);

        // Writes already handed to the log must land before the file is cut, not after.
        var logged = await Core.InvokeAsync(() => Core.LastLoggedZxid).ConfigureAwait(false);
        await (await Core.InvokeAsync(() => Core.WaitDurableAsync(logged)).ConfigureAwait(false))
            .WithinAsync(context.InitLimit, $"the log to be durable through 0x{logged:x} (before truncating it)").ConfigureAwait(false);
        context.Log.RollLog();
        context.Store.TruncateAfter(zxid);
        var recovered = context.Store.Recover(context.Config.CommitLogCount);
        await Core.InvokeAsync(() =>
        {
            Core.ReplaceTree(recovered.Tree, recovered.Sessions);
            Core.Committed.Reset(recovered.HistoryBase, recovered.RecentTxns);
            return true;
        }).ConfigureAwait(false);
    }
}
