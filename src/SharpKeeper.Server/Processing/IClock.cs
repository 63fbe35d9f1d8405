using System.Diagnostics;

namespace SharpKeeper.Server.Processing;

/// <summary>Time as the core sees it: wall time for ctime/mtime, a monotonic clock for timeouts.</summary>
public interface IClock
{
    long WallMillis { get; }
    long MonotonicMillis { get; }
}

public sealed class SystemClock : IClock
{
    public static readonly SystemClock Instance = new();

    public long WallMillis => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public long MonotonicMillis => Stopwatch.GetTimestamp() * 1000 / Stopwatch.Frequency;
}
