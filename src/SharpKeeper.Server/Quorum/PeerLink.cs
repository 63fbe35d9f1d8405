using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace SharpKeeper.Server.Quorum;

/// <summary>
/// The sending half of a quorum connection: packets (and the raw bytes of a snapshot transfer) are
/// queued from the core thread without blocking and written in order by one send loop.
/// </summary>
public sealed class PeerLink
{
    private readonly Channel<object> _queue = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
    private readonly PacketStream? _stream;
    private readonly ILogger _logger;

    /// <summary>A link whose queue is drained by its owner with <see cref="TryTake"/> (a simulated network) rather than written to a socket.</summary>
    public PeerLink(long sid, ILogger logger)
        : this(sid, null, logger)
    {
    }

    public PeerLink(long sid, PacketStream? stream, ILogger logger)
    {
        Sid = sid;
        _stream = stream;
        _logger = logger;
    }

    public long Sid { get; }

    public bool IsClosed { get; private set; }

    /// <summary>Monotonic time of the last packet received from the peer (leader side: liveness).</summary>
    public long LastHeardMillis { get; set; }

    /// <summary>Leader side: the highest zxid this learner has acknowledged as logged.</summary>
    public long AckedZxid { get; set; }

    /// <summary>Leader side: true once the learner acknowledged NEWLEADER (it counts towards commits).</summary>
    public bool IsSynced { get; set; }

    /// <summary>
    /// Leader side: a follower (it sent FOLLOWERINFO) gets proposals and acknowledges them, whether or
    /// not it votes in the membership; an observer (OBSERVERINFO) hears of committed txns by INFORM.
    /// </summary>
    public bool IsFollower { get; init; } = true;

    /// <summary>The peer's socket address as Java prints it ("/ip:port"), for the observers command.</summary>
    public string RemoteAddress { get; init; } = "<null>";

    /// <summary>Wall time the connection was established, in Unix milliseconds.</summary>
    public long EstablishedWallMillis { get; init; } = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private long _packetsSent;
    private long _packetsReceived;
    private long _requests;
    private long _lastZxid = -1;
    private long _queuedBytes;
    private long _queuedPackets;

    public long PacketsSent => Interlocked.Read(ref _packetsSent);

    public long PacketsReceived => Interlocked.Read(ref _packetsReceived);

    /// <summary>Client requests the learner forwarded.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>The newest zxid queued to the peer (-1 before any, or since a reset).</summary>
    public long LastZxid => Interlocked.Read(ref _lastZxid);

    public long QueuedPackets => Interlocked.Read(ref _queuedPackets);

    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    public void Send(QuorumPacket packet)
    {
        Interlocked.Add(ref _queuedBytes, packet.Data?.Length ?? 0);
        if (packet.Zxid > Interlocked.Read(ref _lastZxid))
        {
            Interlocked.Exchange(ref _lastZxid, packet.Zxid);
        }

        Interlocked.Increment(ref _queuedPackets);
        _queue.Writer.TryWrite(packet);
    }

    public void SendRaw(byte[] bytes)
    {
        Interlocked.Add(ref _queuedBytes, bytes.Length);
        Interlocked.Increment(ref _queuedPackets);
        _queue.Writer.TryWrite(bytes);
    }

    /// <summary>Counts a packet read from the peer.</summary>
    public void Received(QuorumPacket packet)
    {
        Interlocked.Increment(ref _packetsReceived);
        if (packet.Type == PacketType.Request)
        {
            Interlocked.Increment(ref _requests);
        }
    }

    /// <summary>As Apache's observer connection reset: the traffic counters and the last zxid, not the queue or the start time.</summary>
    public void ResetStats()
    {
        Interlocked.Exchange(ref _packetsSent, 0);
        Interlocked.Exchange(ref _packetsReceived, 0);
        Interlocked.Exchange(ref _requests, 0);
        Interlocked.Exchange(ref _lastZxid, -1);
    }

    /// <summary>Takes the next queued item (a <see cref="QuorumPacket"/> or raw bytes) without a send loop.</summary>
    public bool TryTake(out object item)
    {
        if (!_queue.Reader.TryRead(out item!))
        {
            return false;
        }

        Interlocked.Decrement(ref _queuedPackets);
        return true;
    }

    public async Task RunSendLoopAsync(CancellationToken cancellationToken)
    {
        var stream = _stream ?? throw new InvalidOperationException("this link has no stream: drain it with TryTake");
        try
        {
            var reader = _queue.Reader;
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (reader.TryRead(out var item))
                {
                    Interlocked.Decrement(ref _queuedPackets);
                    if (item is QuorumPacket packet)
                    {
                        Interlocked.Add(ref _queuedBytes, -(packet.Data?.Length ?? 0));
                        await stream.WriteAsync(packet, cancellationToken, flush: false).ConfigureAwait(false);
                        Interlocked.Increment(ref _packetsSent);
                    }
                    else
                    {
                        var bytes = (byte[])item;
                        Interlocked.Add(ref _queuedBytes, -bytes.Length);
                        await stream.WriteRawAsync(bytes, cancellationToken).ConfigureAwait(false);
                    }
                }

                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            _logger.LogDebug("Quorum connection with server {Sid} stopped sending: {Message}", Sid, e.Message);
        }
        finally
        {
            Close();
        }
    }

    public void Close()
    {
        IsClosed = true;
        _queue.Writer.TryComplete();
    }
}
