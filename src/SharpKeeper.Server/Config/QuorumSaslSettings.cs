namespace SharpKeeper.Server.Config;

/// <summary>
/// SASL between servers (quorum.auth.*, Apache 3.8): with quorum.auth.enableSasl this server checks
/// the DIGEST-MD5 credentials of servers that connect to it (against the users of the JAAS section
/// quorum.auth.server.saslLoginContext, default QuorumServer) and, with learnerRequireSasl, sends its
/// own (username and password of the section quorum.auth.learner.saslLoginContext, default
/// QuorumLearner) to every server it connects to. serverRequireSasl refuses a server that does not
/// authenticate; without it such a server is let in (the rolling switch).
/// </summary>
public sealed record QuorumSaslSettings
{
    public bool LearnerRequiresSasl { get; init; }

    public bool ServerRequiresSasl { get; init; }

    /// <summary>This server's own credentials, sent when it connects (learnerRequireSasl).</summary>
    public string? LearnerUser { get; init; }

    public string? LearnerPassword { get; init; }

    /// <summary>The users (name to password) a connecting server may authenticate as.</summary>
    public IReadOnlyDictionary<string, string> ServerUsers { get; init; } = new Dictionary<string, string>();
}
