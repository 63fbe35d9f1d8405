namespace SharpKeeper.Server.Config;

/// <summary>Where the AdminServer listens and what it answers, as Apache's admin.* keys say (also as zookeeper.admin.* properties).</summary>
public sealed record AdminSettings(string Address, int Port, string CommandUrl, TimeSpan IdleTimeout)
{
    /// <summary>admin.snapshot.enabled and admin.restore.enabled (3.9): the commands answer 503 when off.</summary>
    public bool SnapshotEnabled { get; init; } = true;

    public bool RestoreEnabled { get; init; } = true;

    /// <summary>admin.rateLimiterIntervalInMS (3.9): at most one snapshot and one restore per interval.</summary>
    public TimeSpan RateLimitInterval { get; init; } = TimeSpan.FromMinutes(5);
}
