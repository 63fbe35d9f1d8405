namespace SharpKeeper.Server.Config;

/// <summary>Where the AdminServer listens and what it answers, as Apache's admin.* keys say (also as zookeeper.admin.* properties).</summary>
public sealed record AdminSettings(string Address, int Port, string CommandUrl, TimeSpan IdleTimeout);
