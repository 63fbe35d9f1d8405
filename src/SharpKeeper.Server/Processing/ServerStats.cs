namespace SharpKeeper.Server.Processing;

/// <summary>Server-wide counters for srvr, stat and mntr. Written by the core thread, read by admin commands on it.</summary>
public sealed class ServerStats
{
    private long _packetsReceived;
    private long _packetsSent;
    private long _rejectedFrames;
    private long _rejectedConnections;

    public long PacketsReceived => Interlocked.Read(ref _packetsReceived);
    public long PacketsSent => Interlocked.Read(ref _packetsSent);

    /// <summary>Frames that closed their connection: malformed, too long, or of an unknown type. Never reset: every one counts.</summary>
    public long RejectedFrames => Interlocked.Read(ref _rejectedFrames);

    /// <summary>Connections refused at accept (maxClientCnxns), as Apache's connection_rejected. Never reset.</summary>
    public long RejectedConnections => Interlocked.Read(ref _rejectedConnections);
    public long MinLatency { get; private set; } = long.MaxValue;
    public long MaxLatency { get; private set; }
    public long TotalLatency { get; private set; }
    public long LatencyCount { get; private set; }
    public long OutstandingRequests { get; set; }
    public long FsyncThresholdExceeded { get; set; }

    public double AverageLatency => LatencyCount == 0 ? 0 : (double)TotalLatency / LatencyCount;

    public void PacketReceived() => Interlocked.Increment(ref _packetsReceived);

    public void PacketSent() => Interlocked.Increment(ref _packetsSent);

    public void FrameRejected() => Interlocked.Increment(ref _rejectedFrames);

    public void ConnectionRejected() => Interlocked.Increment(ref _rejectedConnections);

    public void RecordLatency(long ms)
    {
        MinLatency = Math.Min(MinLatency, ms);
        MaxLatency = Math.Max(MaxLatency, ms);
        TotalLatency += ms;
        LatencyCount++;
    }

    public void Reset()
    {
        Interlocked.Exchange(ref _packetsReceived, 0);
        Interlocked.Exchange(ref _packetsSent, 0);
        MinLatency = long.MaxValue;
        MaxLatency = 0;
        TotalLatency = 0;
        LatencyCount = 0;
    }
}
