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

    public bool IsVoter { get; init; } = true;

    public void Send(QuorumPacket packet) => _queue.Writer.TryWrite(packet);

    public void SendRaw(byte[] bytes) => _queue.Writer.TryWrite(bytes);

    /// <summary>Takes the next queued item (a <see cref="QuorumPacket"/> or raw bytes) without a send loop.</summary>
    public bool TryTake(out object item) => _queue.Reader.TryRead(out item!);

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
                    if (item is QuorumPacket packet)
                    {
                        await stream.WriteAsync(packet, cancellationToken, flush: false).ConfigureAwait(false);
                    }
                    else
                    {
                        await stream.WriteRawAsync((byte[])item, cancellationToken).ConfigureAwait(false);
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
