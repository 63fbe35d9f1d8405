using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Server.Sessions;

/// <summary>A client session: identity, negotiated timeout, the bucket it expires in, and who it authenticated as.</summary>
public sealed class Session(long id, int timeoutMs)
{
    public long Id { get; } = id;
    public int TimeoutMs { get; set; } = timeoutMs;

    /// <summary>The tick (ms, monotonic) at whose bucket the session expires unless touched.</summary>
    public long ExpiresAt { get; set; }

    /// <summary>A closeSession is under way (requested or expired): no further requests are accepted.</summary>
    public bool IsClosing { get; set; }

    public List<Id> AuthInfo { get; } = [];
}
