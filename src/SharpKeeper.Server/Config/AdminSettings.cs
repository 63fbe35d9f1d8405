namespace SharpKeeper.Server.Config;

/// <summary>Where the AdminServer listens and what it answers, as Apache's admin.* keys say (also as zookeeper.admin.* properties).</summary>
public sealed record AdminSettings(string Address, int Port, string CommandUrl, TimeSpan IdleTimeout)
{
    /// <summary>admin.snapshot.enabled and admin.restore.enabled (3.9): the commands answer 503 when off.</summary>
    public bool SnapshotEnabled { get; init; } = true;

    public bool RestoreEnabled { get; init; } = true;

    /// <summary>admin.rateLimiterIntervalInMS (3.9): at most one snapshot and one restore per interval.</summary>
    public TimeSpan RateLimitInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// HTTPS (admin.forceHttps or admin.portUnification) with the ssl.quorum.* stores; a client
    /// certificate is required with admin.needClientAuth. Null for plain HTTP.
    /// </summary>
    public TlsSettings? Https { get; init; }

    /// <summary>admin.console.enabled (SharpKeeper's own; default on): the web console at the root of the AdminServer.</summary>
    public bool ConsoleEnabled { get; init; } = true;

    /// <summary>admin.forceHttps: HTTPS only; otherwise, with <see cref="Https"/>, both on the one port.</summary>
    public bool ForceHttps { get; init; }
}
