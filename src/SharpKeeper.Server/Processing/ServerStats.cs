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

    /// <summary>Latency of requests that change nothing (reads, pings) and of those that write a txn, as Apache's readlatency and updatelatency.</summary>
    public MetricSummary ReadLatency { get; } = new("readlatency");

    public MetricSummary UpdateLatency { get; } = new("updatelatency");

    /// <summary>Counters under Apache's ServerMetrics names; they count from start and are never reset.</summary>
    public MetricCounter ConnectionRequests { get; } = new("connection_request_count");

    public MetricCounter Proposals { get; } = new("proposal_count");

    public MetricCounter Commits { get; } = new("commit_count");

    public MetricCounter Diffs { get; } = new("diff_count");

    public MetricCounter Snaps { get; } = new("snap_count");

    public MetricCounter LearnerProposalsReceived { get; } = new("learner_proposal_received_count");

    public MetricCounter LearnerCommitsReceived { get; } = new("learner_commit_received_count");

    public MetricCounter Lookings { get; } = new("looking_count");

    public IEnumerable<MetricCounter> Counters =>
        [ConnectionRequests, Proposals, Commits, Diffs, Snaps, LearnerProposalsReceived, LearnerCommitsReceived, Lookings];

    /// <summary>Sizes of client replies, as Apache's BufferStats (-1 before the first reply).</summary>
    public int LastResponseSize { get; private set; } = -1;

    public int MinResponseSize { get; private set; } = -1;

    public int MaxResponseSize { get; private set; } = -1;

    /// <summary>Authentications refused (a bad SASL exchange or an auth packet that failed), as Apache's auth_failed_count.</summary>
    public MetricCounter AuthFailures { get; } = new("auth_failed_count");

    public void RecordResponseSize(int size)
    {
        LastResponseSize = size;
        MinResponseSize = MinResponseSize < 0 ? size : Math.Min(MinResponseSize, size);
        MaxResponseSize = Math.Max(MaxResponseSize, size);
    }

    public void PacketReceived() => Interlocked.Increment(ref _packetsReceived);

    public void PacketSent() => Interlocked.Increment(ref _packetsSent);

    public void FrameRejected() => Interlocked.Increment(ref _rejectedFrames);

    public void ConnectionRejected() => Interlocked.Increment(ref _rejectedConnections);

    public void RecordLatency(long ms, bool update)
    {
        (update ? UpdateLatency : ReadLatency).Record(ms);
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
        (LastResponseSize, MinResponseSize, MaxResponseSize) = (-1, -1, -1);
        TotalLatency = 0;
        LatencyCount = 0;
    }
}
