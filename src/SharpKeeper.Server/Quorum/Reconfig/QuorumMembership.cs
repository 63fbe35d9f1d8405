namespace SharpKeeper.Server.Quorum.Reconfig;

/// <summary>
/// The two memberships an ensemble member knows, as Apache's QuorumPeer keeps them: the committed
/// one, which decides elections and commits, and the last one seen (a reconfig proposed but not yet
/// committed, or the same). While they differ a reconfig is in progress, and every proposal needs a
/// quorum of both. With reconfigEnabled each change is written to the dynamic configuration files.
/// Read from any thread; changed by the quorum code.
/// </summary>
public sealed class QuorumMembership
{
    private readonly Lock _lock = new();
    private readonly DynamicConfigFiles? _files;
    private QuorumVerifier _committed;
    private QuorumVerifier _lastSeen;

    public QuorumMembership(QuorumVerifier committed, QuorumVerifier? lastSeen = null, DynamicConfigFiles? files = null)
    {
        _committed = committed;
        _lastSeen = lastSeen is not null && lastSeen.Version > committed.Version ? lastSeen : committed;
        _files = files;
    }

    /// <summary>Voters with made-up addresses, for simulations and tests that need only the ids.</summary>
    public static QuorumMembership ForVoters(IEnumerable<long> voters) =>
        new(new QuorumVerifier(voters.Select(id => new Config.ServerSpec(id, "127.0.0.1", 20000 + (int)id * 2, 20001 + (int)id * 2, Config.ServerRole.Participant, null, 30000 + (int)id)), 0));

    /// <summary>Raised (outside the lock) when either membership changed: peers may have to be dialled or dropped.</summary>
    public event Action? Changed;

    // Read on every proposal: a reference read needs no lock (changes are made under it).
    public QuorumVerifier Committed => Volatile.Read(ref _committed);

    public QuorumVerifier LastSeen => Volatile.Read(ref _lastSeen);

    /// <summary>A reconfig was proposed and is not yet committed: Apache's ReconfigInProgress.</summary>
    public bool IsReconfigPending => LastSeen.Version != Committed.Version;

    /// <summary>The voters of the membership proposed and not yet committed; null when none is.</summary>
    public IReadOnlySet<long>? NextVoters => LastSeen is var next && next.Version > Committed.Version ? next.Voters : null;

    /// <summary>The servers that vote in either membership: election notifications go to all of them.</summary>
    public IReadOnlyDictionary<long, Config.ServerSpec> AllKnownServers
    {
        get
        {
            lock (_lock)
            {
                var all = new Dictionary<long, Config.ServerSpec>(_committed.Members);
                foreach (var (id, spec) in _lastSeen.Members)
                {
                    all[id] = spec;
                }

                return all;
            }
        }
    }

    /// <summary>
    /// As Apache's election with reconfigEnabled: a membership text heard from a peer (its committed
    /// one) becomes the committed one here when newer. Returns whether it did; a text that is no
    /// membership is ignored.
    /// </summary>
    public bool AdoptIfNewer(string text, bool multiAddressEnabled)
    {
        if (text.Length == 0)
        {
            return false;
        }

        QuorumVerifier heard;
        try
        {
            heard = QuorumVerifier.Parse(text, "election notification", multiAddressEnabled);
        }
        catch (Config.ConfigException)
        {
            return false;
        }

        return heard.Version > Committed.Version && Activate(heard) is not null;
    }

    /// <summary>A reconfig was proposed (PROPOSAL, NEWLEADER): it becomes the last seen membership. False when not newer.</summary>
    public bool SetLastSeen(QuorumVerifier proposed)
    {
        lock (_lock)
        {
            if (proposed.Version <= _lastSeen.Version)
            {
                return false;
            }

            _files?.WriteNext(proposed);
            Volatile.Write(ref _lastSeen, proposed);
        }

        Changed?.Invoke();
        return true;
    }

    /// <summary>
    /// A membership committed (COMMITANDACTIVATE, UPTODATE, an election notification): it becomes the
    /// committed one, and the last seen too if newer. Returns the previous committed membership, or
    /// null when <paramref name="committed"/> is not newer.
    /// </summary>
    public QuorumVerifier? Activate(QuorumVerifier committed)
    {
        QuorumVerifier previous;
        lock (_lock)
        {
            if (committed.Version <= _committed.Version)
            {
                return null;
            }

            previous = _committed;
            var lastSeen = committed.Version >= _lastSeen.Version ? committed : _lastSeen;
            _files?.WriteActive(committed, removeNext: committed.Version == lastSeen.Version);
            Volatile.Write(ref _committed, committed);
            Volatile.Write(ref _lastSeen, lastSeen);
        }

        Changed?.Invoke();
        return previous;
    }
}
