namespace SharpKeeper.Server.Processing;

/// <summary>Per-connection counters reported by the cons and stat four-letter words.</summary>
public sealed class ConnectionStats
{
    private long _packetsReceived;
    private long _packetsSent;

    public long EstablishedWallMillis { get; init; }
    public long PacketsReceived => Interlocked.Read(ref _packetsReceived);
    public long PacketsSent => Interlocked.Read(ref _packetsSent);
    public int Outstanding;
    public long LastCxid { get; set; } = -1;
    public long LastZxid { get; set; } = -1;
    public string LastOperation { get; set; } = "NA";
    public long LastResponseWallMillis { get; set; }
    public long LastLatency { get; set; }
    public long MinLatency { get; private set; } = long.MaxValue;
    public long MaxLatency { get; private set; }
    public long TotalLatency { get; private set; }
    public long LatencyCount { get; private set; }

    public void PacketReceived() => Interlocked.Increment(ref _packetsReceived);

    public void PacketSent() => Interlocked.Increment(ref _packetsSent);

    public void RecordLatency(long ms)
    {
        LastLatency = ms;
        MinLatency = Math.Min(MinLatency, ms);
        MaxLatency = Math.Max(MaxLatency, ms);
        TotalLatency += ms;
        LatencyCount++;
    }

    public void Reset()
    {
        Interlocked.Exchange(ref _packetsReceived, 0);
        Interlocked.Exchange(ref _packetsSent, 0);
        LastCxid = -1;
        LastZxid = -1;
        LastOperation = "NA";
        LastResponseWallMillis = 0;
        LastLatency = 0;
        MinLatency = long.MaxValue;
        MaxLatency = 0;
        TotalLatency = 0;
        LatencyCount = 0;
    }
}
