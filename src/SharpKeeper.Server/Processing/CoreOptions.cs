namespace SharpKeeper.Server.Processing;

/// <summary>The settings the request core needs, taken from the server configuration.</summary>
public sealed record CoreOptions
{
    public int TickTimeMs { get; init; } = 2000;
    public int MinSessionTimeoutMs { get; init; } = 4000;
    public int MaxSessionTimeoutMs { get; init; } = 40000;
    public bool ExtendedTypesEnabled { get; init; }

    /// <summary>globalOutstandingLimit: unanswered requests at which connections stop reading (Apache's default 1000).</summary>
    public int GlobalOutstandingLimit { get; init; } = 1000;

    /// <summary>skipACL=yes: no ACL check anywhere (Apache's checkACL returns at once); a warning says so at start.</summary>
    public bool SkipAcl { get; init; }

    /// <summary>reconfigEnabled: a leader accepts reconfig requests (otherwise ReconfigDisabled, as Apache).</summary>
    public bool ReconfigEnabled { get; init; }

    public long ServerId { get; init; } = 1;

    /// <summary>"super:base64digest": an addAuth digest that produces it authenticates as super.</summary>
    public string? SuperDigest { get; init; }

    /// <summary>Snapshots are taken after about this many txns (randomised between half and all of it, as ZooKeeper does).</summary>
    public int SnapCount { get; init; } = 100000;

    /// <summary>Nodes serialized per batch while a snapshot is taken: small enough that a slice costs a few milliseconds.</summary>
    public int SnapshotSliceNodes { get; init; } = 4096;

    /// <summary>How often empty containers and expired TTL nodes are looked for (znode.container.checkIntervalMs).</summary>
    public int ContainerCheckIntervalMs { get; init; } = 60000;

    /// <summary>ACL schemes beyond world, digest and ip: x509 and sasl, when their providers are configured (authProvider.N).</summary>
    public IReadOnlySet<string> ProviderSchemes { get; init; } = new HashSet<string> { Auth.AuthProviders.X509, Auth.AuthProviders.Sasl };

    /// <summary>Schemes a client must have authenticated with before any request but auth and sasl; null: not enforced.</summary>
    public IReadOnlySet<string>? EnforcedAuthSchemes { get; init; }

    /// <summary>A client whose SASL authentication failed stays connected (allowSaslFailedClients), unless SASL is enforced.</summary>
    public bool AllowSaslFailedClients { get; init; }

    /// <summary>SASL DIGEST-MD5 users and their passwords; null when SASL is not configured.</summary>
    public IReadOnlyDictionary<string, string>? SaslUsers { get; init; }

    /// <summary>The SASL user that is super (zookeeper.superUser).</summary>
    public string? SaslSuperUser { get; init; }

    /// <summary>Committed txns kept for syncing learners by DIFF (commitLogCount); 0 on a standalone server, which has none.</summary>
    public int CommitLogCount { get; init; }

    /// <summary>At most this many container/TTL deletions per minute (znode.container.maxPerMinute).</summary>
    public int ContainerMaxPerMinute { get; init; } = 10000;

    /// <summary>znode.container.maxNeverUsedIntervalMs: a container that never had a child is removed once this old (0: never).</summary>
    public long ContainerMaxNeverUsedIntervalMs { get; init; }

    /// <summary>
    /// localSessionsEnabled on an ensemble member: a new session lives on the server it connected to
    /// only (no txn, not seen by the others), until it creates an ephemeral node. Standalone servers
    /// have global sessions only, as Apache's.
    /// </summary>
    public bool LocalSessionsEnabled { get; init; }

    /// <summary>localSessionsUpgradingEnabled: a local session's first ephemeral create makes it global (else EphemeralOnLocalSession).</summary>
    public bool LocalSessionsUpgradingEnabled { get; init; }
}
