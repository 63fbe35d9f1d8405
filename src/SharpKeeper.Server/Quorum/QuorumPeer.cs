using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using SharpKeeper.Server.Admin;
using SharpKeeper.Server.Config;
using SharpKeeper.Server.Quorum.Election;

namespace SharpKeeper.Server.Quorum;

/// <summary>
/// An ensemble member's life: look for a leader, then lead or follow until that ends, then look
/// again. It is also what the four-letter words report as this server's mode.
/// </summary>
public sealed class QuorumPeer : IServerModeInfo, IAsyncDisposable
{
    private readonly QuorumContext _context;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private ElectionChannel? _channel;
    private ElectionService? _election;
    private Task? _electionLoop;
    private Task? _roleLoop;
    private volatile Leader? _leader;
    private volatile string _mode = "looking";
    private long _leaderId = -1;
    private volatile bool _readOnly;

    public QuorumPeer(QuorumContext context)
    {
        _context = context;
        _logger = context.LoggerFactory.CreateLogger("SharpKeeper.Server.Quorum");
    }

    public PeerState State { get; private set; } = PeerState.Looking;

    public long Epoch { get; private set; }

    public IPEndPoint? ElectionEndPoint => _channel?.LocalEndPoint;

    public string Mode => _mode;

    public bool IsServing => _context.Core.IsServing;

    public bool IsReadOnly => _readOnly;

    public long ServerId => _context.MyId;

    public IEnumerable<string> StatLines =>
        State == PeerState.Leading && _leader?.Replication is { } replication
            ? [$"Proposal sizes last/min/max: {replication.LastProposalSize}/{replication.MinProposalSize}/{replication.MaxProposalSize}"]
            : [];

    public IEnumerable<(string Key, string Value)> MonitorValues
    {
        get
        {
            var state = State switch
            {
                PeerState.Leading => "leading - broadcast",
                PeerState.Following => "following - broadcast",
                PeerState.Observing => "observing - broadcast",
                _ => "looking - election",
            };
            yield return ("peer_state", state);
            yield return ("quorum_size", _context.Voters.Count.ToString(CultureInfo.InvariantCulture));
            if (_leader?.Replication is { } replication && State == PeerState.Leading)
            {
                // Read on the core thread, as the words run there.
                var learners = replication.Learners.Count(l => !l.IsClosed);
                yield return ("learners", learners.ToString(CultureInfo.InvariantCulture));
                yield return ("synced_followers", replication.SyncedVoters.ToString(CultureInfo.InvariantCulture));
                yield return ("synced_non_voting_followers", replication.SyncedNonVotingFollowers.ToString(CultureInfo.InvariantCulture));
                yield return ("synced_observers", replication.SyncedObservers.ToString(CultureInfo.InvariantCulture));
                yield return ("pending_syncs", replication.PendingSyncs.ToString(CultureInfo.InvariantCulture));
                yield return ("leader_uptime", (Environment.TickCount64 - replication.StartedMillis).ToString(CultureInfo.InvariantCulture));
                yield return ("last_proposal_size", replication.LastProposalSize.ToString(CultureInfo.InvariantCulture));
                yield return ("max_proposal_size", replication.MaxProposalSize.ToString(CultureInfo.InvariantCulture));
                yield return ("min_proposal_size", replication.MinProposalSize.ToString(CultureInfo.InvariantCulture));
            }
            else if (ServedObservers is { } relay)
            {
                // As Apache: a follower reports the observers it serves (observerMasterPort).
                yield return ("synced_observers", relay.Observers.Count.ToString(CultureInfo.InvariantCulture));
            }
        }
    }

    /// <summary>On a follower with observerMasterPort: the observers it serves; read on the core thread.</summary>
    private ObserverRelay? ServedObservers =>
        State == PeerState.Following && _context.Core.Replication is FollowerReplication { Relay: { IsClosed: false } relay } ? relay : null;

    /// <summary>leader, zabstate and voting_view as Apache's AdminServer answers them on a serving ensemble member.</summary>
    public List<KeyValuePair<string, object?>>? EnsembleFields(string command, string? clientAddress)
    {
        static KeyValuePair<string, object?> F(string key, object? value) => new(key, value);
        var leaderId = Interlocked.Read(ref _leaderId);
        var me = _context.Me;
        switch (command)
        {
            case "leader":
                return
                [
                    F("is_leader", State == PeerState.Leading),
                    F("leader_id", leaderId),
                    F("leader_ip", _context.Membership.AllKnownServers.TryGetValue(leaderId, out var leader) ? leader.Host : ""),
                ];
            case "zabstate":
                {
                    var zxid = _context.Core.Tree.LastProcessedZxid;
                    return
                    [
                        F("myid", _context.MyId),
                        F("is_leader", State == PeerState.Leading),
                        F("quorum_address", AddressFields(me.Host, me.QuorumPort)),
                        F("election_address", AddressFields(me.Host, me.ElectionPort)),
                        F("client_address", clientAddress ?? ""),
                        F("voting", me.Role == ServerRole.Participant),
                        F("last_zxid", "0x" + zxid.ToString("x", CultureInfo.InvariantCulture)),
                        F("zab_epoch", Zxid.EpochOf(zxid)),
                        F("zab_counter", Zxid.CounterOf(zxid)),
                        F("zabstate", "broadcast"),
                    ];
                }

            case "voting_view":
                {
                    var view = _context.Membership.Committed.Members.Values.Where(s => s.Role == ServerRole.Participant).OrderBy(s => s.Id)
                        .Select(s => F(s.Id.ToString(CultureInfo.InvariantCulture), new List<KeyValuePair<string, object?>>
                        {
                            F("server_addresses", s.Addresses.Select(a => (object)$"{a.Host}:{a.QuorumPort}").ToList()),
                            F("election_addresses", s.Addresses.Select(a => (object)$"{a.Host}:{a.ElectionPort}").ToList()),

                            // As Apache: this server's own client address, and the others' as their server lines give them.
                            F("client_address", s.Id == _context.MyId ? clientAddress ?? "" : s.ClientPort is { } port ? $"{s.ClientAddress ?? "0.0.0.0"}:{port}" : ""),
                            F("learner_type", "participant"),
                        }))
                        .ToList();
                    return [F("current_config", view)];
                }

            case "observers" when State == PeerState.Leading && _leader?.Replication is not null || ServedObservers is not null:
                {
                    // As Apache: every observer connection the leader holds, synced or not; a follower's, those it serves.
                    var observers = ServedObservers is { } relay
                        ? [.. relay.Observers.Where(o => !o.IsClosed)]
                        : _leader!.Replication!.Learners.Where(l => !l.IsFollower && !l.IsClosed).ToList();
                    return
                    [
                        F("synced_observers", (long)observers.Count),
                        F("observers", observers.Select(o => (object)new List<KeyValuePair<string, object?>>
                        {
                            F("remote_socket_address", o.RemoteAddress),
                            F("sid", o.Sid),
                            F("established", o.EstablishedWallMillis),
                            F("queued_packets", o.QueuedPackets),
                            F("queued_packets_size", o.QueuedBytes),
                            F("packets_received", o.PacketsReceived),
                            F("packets_sent", o.PacketsSent),
                            F("requests", o.Requests),
                            F("last_zxid", o.LastZxid),
                        }).ToList()),
                    ];
                }

            case "observer_connection_stat_reset" when State == PeerState.Leading && _leader?.Replication is { } replication:
                foreach (var observer in replication.Learners.Where(l => !l.IsFollower))
                {
                    observer.ResetStats();
                }

                return [];

            default:
                return null;
        }
    }

    /// <summary>An address as Apache's MultipleAddresses serializes to JSON (one address here).</summary>
    private static List<KeyValuePair<string, object?>> AddressFields(string host, int port)
    {
        var address = $"{host}:{port}";
        return
        [
            new("empty", false),
            new("all_addresses", new List<object> { address }),
            new("all_reachable_addresses", new List<object> { address }),
            new("one", address),
            new("reachable_address", address),
            new("wildcard_addresses", new List<object> { $"0.0.0.0:{port}" }),
            new("all_ports", new List<object> { (long)port }),
            new("all_host_strings", new List<object> { host }),
            new("all_reachable_addresses_or_all", new List<object> { address }),
            new("reachable_or_one", address),
        ];
    }

    public void AppendConf(StringBuilder text)
    {
        var config = _context.Config;
        var me = _context.Me;
        text.Append(CultureInfo.InvariantCulture, $"initLimit={config.InitLimit}\n");
        text.Append(CultureInfo.InvariantCulture, $"syncLimit={config.SyncLimit}\n");
        text.Append("electionAlg=3\n");
        text.Append(CultureInfo.InvariantCulture, $"electionPort={me.ElectionPort}\n");
        text.Append(CultureInfo.InvariantCulture, $"quorumPort={me.QuorumPort}\n");
        text.Append(CultureInfo.InvariantCulture, $"peerType={(me.Role == ServerRole.Observer ? 1 : 0)}\n");
        text.Append("membership: \n").Append(_context.MembershipText).Append('\n');
    }

    /// <summary>Opens the election port and starts looking for a leader. Fails loudly if another server runs with this id.</summary>
    public void Start()
    {
        var me = _context.Me;
        RefuseDuplicateId(me);
        var peers = ElectionPeers();
        var channelLogger = _context.LoggerFactory.CreateLogger("SharpKeeper.Server.Quorum.Election");
        _channel = new ElectionChannel(
            _context.MyId, _context.ListenEndPoints(a => a.ElectionPort), me.ElectionAddressText(), peers, channelLogger, _context.Transport, _context.Sasl,
            multiAddress: _context.Config.MultiAddressEnabled);
        try
        {
            _channel.Start();
        }
        catch (SocketException e)
        {
            throw new ConfigException(
                MyIdFile, 0, "",
                $"cannot listen on the election port {me.Host}:{me.ElectionPort} of server.{_context.MyId}: {e.Message}"
                + " (is another server already running with myid " + _context.MyId + "?)");
        }

        _election = new ElectionService(_context.MyId, _context.Voters, _context.MembershipText, _channel, _context.Core.Clock, channelLogger);
        _context.Membership.Changed += OnMembershipChanged;
        OnMembershipChanged();
        if (_context.Reconfig.Enabled)
        {
            _election.MembershipHeard += OnMembershipHeard;
        }

        _electionLoop = _election.RunAsync(_stop.Token);
        _roleLoop = Task.Run(() => RunAsync(_stop.Token));
    }

    private Dictionary<long, IReadOnlyList<EndPoint>> ElectionPeers() =>
        _context.Membership.AllKnownServers.Values
            .Where(s => s.Id != _context.MyId)
            .ToDictionary(s => s.Id, s => QuorumContext.EndPointsOf(s, a => a.ElectionPort));

    private ServerSpec? _clientAddress;

    /// <summary>A committed reconfig gave this server another client address (as Apache, the client port moves there).</summary>
    public event Action<ServerSpec>? ClientAddressChanged;

    /// <summary>
    /// A reconfig changed a membership: /zookeeper/config shows the committed one (as Apache's
    /// initConfigInZKDatabase), elections count its voters, and the servers of both can be dialled.
    /// </summary>
    private void OnMembershipChanged()
    {
        var committed = _context.Membership.Committed;
        if (committed.Members.TryGetValue(_context.MyId, out var me) && me.ClientPort is not null
            && _clientAddress is { } previous && (previous.ClientPort != me.ClientPort || previous.ClientAddress != me.ClientAddress))
        {
            ClientAddressChanged?.Invoke(me);
        }

        _clientAddress = me ?? _clientAddress;
        _context.Core.Post(new Processing.QuorumConfigMessage(committed.Text, committed.Version));
        _channel?.UpdatePeers(ElectionPeers());
        _election?.UpdateView(committed.Voters, committed.Text, _context.Membership.NextVoters);
    }

    /// <summary>
    /// As Apache's election with reconfigEnabled: a looking server that hears of a newer committed
    /// membership takes it (it missed the reconfig while it was away).
    /// </summary>
    private void OnMembershipHeard(string text)
    {
        if (State != PeerState.Looking)
        {
            return;
        }

        if (_context.Membership.AdoptIfNewer(text, _context.Config.MultiAddressEnabled))
        {
            _logger.LogInformation("An election notification carried membership version 0x{Version:x}: taking it", _context.Membership.Committed.Version);
        }
    }

    /// <summary>
    /// The ZooKeeper documentation promises that a second server started with a myid already in use
    /// fails: if something answers on this server's own election address, that is such a server.
    /// </summary>
    private void RefuseDuplicateId(ServerSpec me)
    {
        using var probe = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            var connect = probe.ConnectAsync(QuorumContext.EndPointOf(me.Host, me.ElectionPort));
            if (!connect.Wait(TimeSpan.FromSeconds(2)))
            {
                return;
            }
        }
        catch (AggregateException)
        {
            // Nothing listens there: good.
            return;
        }

        throw new ConfigException(
            MyIdFile, 0, "",
            $"another server is already running as server.{_context.MyId} (something answers on its election address {me.Host}:{me.ElectionPort}): "
            + "two servers must not share one myid");
    }

    private string MyIdFile => Path.Combine(_context.Config.DataDir, "myid");

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var core = _context.Core;
        long? designated = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                State = PeerState.Looking;
                core.Stats.Lookings.Increment();
                _mode = "looking";
                _leader = null;
                _election!.SetState(PeerState.Looking);
                var lastZxid = await core.AskAsync(new StepDownRequested()).ConfigureAwait(false);
                var currentEpoch = _context.Epochs.Read(EpochFiles.Current, lastZxid);
                Vote vote;
                if (designated is { } next)
                {
                    // As Apache after a reconfig named the leader: no election, straight to the new role.
                    designated = null;
                    vote = new Vote(next, lastZxid, 0, currentEpoch);
                    _election.Settle(next, lastZxid, currentEpoch, next == _context.MyId ? PeerState.Leading : _context.IsObserver ? PeerState.Observing : PeerState.Following);
                    _logger.LogInformation("A reconfig named server {Leader} the leader: taking the role without an election", next);
                }
                else
                {
                    vote = await ElectAsync(lastZxid, currentEpoch, cancellationToken).ConfigureAwait(false);
                }

                Interlocked.Exchange(ref _leaderId, vote.Leader);
                if (vote.Leader == _context.MyId)
                {
                    State = PeerState.Leading;
                    _election.SetState(PeerState.Leading);
                    var leader = new Leader(_context, Established("leader"));
                    _leader = leader;
                    try
                    {
                        await leader.LeadAsync(cancellationToken).ConfigureAwait(false);
                    }
                    finally
                    {
                        designated = leader.DesignatedLeader;
                    }
                }
                else
                {
                    var observer = _context.IsObserver;
                    State = observer ? PeerState.Observing : PeerState.Following;
                    _election.SetState(State);
                    var follower = new Follower(_context, vote.Leader, Established(observer ? "observer" : "follower"), observer);
                    try
                    {
                        await follower.FollowAsync(cancellationToken).ConfigureAwait(false);
                    }
                    finally
                    {
                        designated = follower.DesignatedLeader;
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is IOException or QuorumException or SocketException or InvalidDataException or TimeoutException)
            {
                _logger.LogWarning("Leaving the current role: {Message}", e.Message);
            }
        }
    }

    /// <summary>An election round; with readonlymode.enabled, read-only clients are served while it lasts.</summary>
    private async Task<Vote> ElectAsync(long lastZxid, long currentEpoch, CancellationToken cancellationToken)
    {
        using var looking = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var readOnly = _context.Config.ReadOnlyModeEnabled ? ServeReadOnlyWhileLookingAsync(looking.Token) : Task.FromResult(false);
        try
        {
            return await _election!.LookForLeaderAsync(lastZxid, currentEpoch).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await looking.CancelAsync().ConfigureAwait(false);
            if (await readOnly.ConfigureAwait(false))
            {
                // As Apache: the read-only server's clients are disconnected before the role starts.
                _readOnly = false;
                _mode = "looking";
                await _context.Core.AskAsync(new StepDownRequested()).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// As Apache's QuorumPeer with readonlymode.enabled: still looking for a leader after a grace
    /// period (tickTime, at least 2 s), the server serves read-only clients until the election ends.
    /// True when it did.
    /// </summary>
    private async Task<bool> ServeReadOnlyWhileLookingAsync(CancellationToken stillLooking)
    {
        try
        {
            await Task.Delay(Math.Max(2000, _context.Config.TickTime), stillLooking).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }

        if (!await _context.Core.AskAsync(new ReadOnlyServingRequested()).ConfigureAwait(false))
        {
            return false;
        }

        _logger.LogInformation("No leader after {Grace} ms: serving read-only clients until one is elected", Math.Max(2000, _context.Config.TickTime));
        _readOnly = true;
        _mode = "read-only";
        return true;
    }

    private Action<long> Established(string mode) => epoch =>
    {
        Epoch = epoch;
        _election!.UpdatePeerEpoch(epoch);
        _mode = mode;
    };

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_roleLoop is not null)
        {
            await _roleLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (_electionLoop is not null)
        {
            await _electionLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (_channel is not null)
        {
            await _channel.DisposeAsync().ConfigureAwait(false);
        }

        _stop.Dispose();
    }
}
