using System.Buffers.Binary;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Data;
using SharpKeeper.Server.Persistence;
using SharpKeeper.Server.Processing;
using SharpKeeper.Server.Quorum;
using SharpKeeper.Server.Quorum.Reconfig;
using SharpKeeper.Server.Quorum.Election;
using SharpKeeper.Server.Quorum.Sync;
using SharpKeeper.Server.Tests.Core;
using Notification = SharpKeeper.Server.Quorum.Election.Notification;

namespace SharpKeeper.Server.Tests.Simulation;

/// <summary>
/// A seeded, single-threaded simulation of whole ensemble members running the production code:
/// the election participant, the request core, and the ZAB state machines — <see cref="LeaderSync"/>
/// and <see cref="LearnerSync"/> for discovery and sync, <see cref="LeaderReplication"/> for the
/// DIFF/TRUNC/SNAP choice and broadcast — through the same <see cref="LeaderRole"/> and
/// <see cref="FollowerReplication"/> adapters the socket drivers use, over simulated links and
/// disks. Nothing of the protocol is mirrored here: the simulator only carries out effects
/// (packets, epoch files, snapshots, truncation). A crash loses every log write not yet synced.
/// Clients write through any serving server; with quiet spells they also fall silent for seconds
/// at a time, so that whole epochs commit nothing. Checked: every acknowledged write survives;
/// after healing a write commits within a bound and all replicas hold the same tree. Besides the
/// seeded random schedule (<see cref="Run"/>), tests can script one exact sequence (<see cref="Start"/>).
/// </summary>
public sealed class ZabSimulator
{
    public const long InitLimitMs = 5000;
    private const long SyncLimitMs = 2500;
    private const int TickMs = 500;

    /// <summary>The committed history a leader holds in memory for DIFFs (the txn log is not simulated): short, so SNAPs happen too.</summary>
    private const int CommitLogCount = 20;

    /// <summary>A disk write takes at most 30 ms here: a durability wait this long is a stall.</summary>
    private const long DurabilityStallMs = 250;

    /// <summary>
    /// After healing, a write sent then commits within this (at most 1.5 s over 600 seeds, 6.3 s
    /// over 1,000 with quiet spells): a leader short of a quorum, or a follower of a stale leader,
    /// may first wait out initLimit, then an election and a sync follow. A handshake that stalls
    /// until initLimit round after round never gets there.
    /// </summary>
    public const long LivenessBoundMs = 2 * InitLimitMs;

    private readonly Random _random;
    private readonly EventQueue _time = new();
    private readonly Node[] _nodes;
    private readonly HashSet<long> _voters;
    private readonly Dictionary<string, long> _acknowledged = new(StringComparer.Ordinal);
    private readonly List<SimClient> _clients = [];
    private readonly bool _quietSpells;
    private readonly bool _reconfigs;
    private readonly Dictionary<long, long> _epochLeaders = [];
    private HashSet<long>? _partition;
    private int _nextPath;
    private int _nextValue;
    private long _quietUntil;
    private long? _healedAt;

    /// <summary>The client histories of the two registers, checked for linearizability at the end.</summary>
    public List<RegisterOp>[] Registers { get; } = [[], []];

    /// <param name="quietSpells">
    /// Faults include spells of 5 to 15 s in which no client sends anything (no session either),
    /// so elections can finish with nothing to commit. Off, a seed runs as it always has.
    /// </param>
    /// <param name="reconfigs">
    /// Clients also send reconfigs (reconfigEnabled, skipACL): a voter leaves, or a server that left
    /// comes back, while the faults go on. Each server keeps its memberships across crashes, as its
    /// dynamic configuration files would.
    /// </param>
    public ZabSimulator(int seed, int size, bool quietSpells = false, bool reconfigs = false)
    {
        _random = new Random(seed);
        _quietSpells = quietSpells;
        _reconfigs = reconfigs;
        _voters = [.. Enumerable.Range(1, size).Select(i => (long)i)];
        _nodes = [.. _voters.Select(id => new Node(id, this))];
        foreach (var node in _nodes)
        {
            node.Membership.Changed += () =>
            {
                var committed = node.Membership.Committed;
                node.Election?.UpdateView(committed.Voters, committed.Text, node.Membership.NextVoters);
            };
        }
    }

    private static readonly ReconfigSettings Reconfiguring = new(Enabled: true, StandaloneEnabled: true, MultiAddressEnabled: false);

    /// <summary>Reconfigs acknowledged to clients, and those refused (by error code).</summary>
    public int ReconfigsCommitted { get; private set; }

    public Dictionary<ErrorCode, int> ReconfigRefusals { get; } = [];

    /// <summary>Leaders that handed off to the server a reconfig named, without an election.</summary>
    public int HandOffs { get; private set; }

    public long Now => _time.Now;

    public int FaultEvents { get; private set; }

    public int AcknowledgedWrites => _acknowledged.Count;

    public int Syncs { get; private set; }

    /// <summary>Epochs whose leader stopped (crashed or stepped down) without having logged a single txn in them.</summary>
    public int EmptyEpochs { get; private set; }

    /// <summary>How long after healing the first write sent after it was acknowledged.</summary>
    public long? FirstWriteAfterHealMs { get; private set; }

    public List<string> Trace { get; } = [];

    private int Quorum => _voters.Count / 2 + 1;

    private Node Get(long id) => _nodes[id - 1];

    public void Run(long faultPhaseMs = 20_000, long settlePhaseMs = 30_000)
    {
        foreach (var node in _nodes)
        {
            Boot(node);
        }

        for (var i = 0; i < 3; i++)
        {
            _clients.Add(new SimClient(i));
        }

        for (var t = _random.Next(500, 1500); t < faultPhaseMs; t += _random.Next(500, 2000))
        {
            At(t, InjectFault);
        }

        for (long t = TickMs; t < faultPhaseMs + settlePhaseMs; t += TickMs)
        {
            At(t, Tick);
        }

        for (long t = 50; t < faultPhaseMs + settlePhaseMs - 5000; t += 50)
        {
            At(t, ClientStep);
        }

        At(faultPhaseMs, Heal);
        RunUntil(faultPhaseMs + settlePhaseMs);
        Check();
    }

    // ---- scripted control: one exact sequence instead of Run's random schedule ----

    /// <summary>Boots every server and starts the ticks; nothing else happens unless the test does it.</summary>
    public void Start()
    {
        foreach (var node in _nodes)
        {
            Boot(node);
        }

        At(TickMs, TickForever);
    }

    /// <summary>Runs simulated time until <paramref name="done"/> holds or <paramref name="withinMs"/> has passed; returns whether it holds.</summary>
    public bool RunUntil(Func<bool> done, long withinMs) => _time.RunUntil(Now + withinMs, done);

    public void Crash(long id) => Crash(Get(id));

    public void Restart(long id)
    {
        Log($"server {id} restarts");
        Boot(Get(id));
    }

    /// <summary>The one server that leads and serves, if there is exactly one.</summary>
    public long? ServingLeader
    {
        get
        {
            var leaders = _nodes.Where(n => n.Up && n.Role == PeerState.Leading && n.Serving).ToList();
            return leaders.Count == 1 ? leaders[0].Id : null;
        }
    }

    /// <summary>The epoch a serving leader leads.</summary>
    public long EpochOf(long leader) => Get(leader).Epoch;

    public bool IsLooking(long id) => Get(id) is { Up: true, Role: PeerState.Looking };

    /// <summary>True when <paramref name="follower"/> completed its sync with <paramref name="leader"/> (UPTODATE received, NEWLEADER acknowledged) and serves.</summary>
    public bool Follows(long follower, long leader) =>
        Get(follower) is { Up: true, Follower: { Replication.Sync.IsServing: true, Link: { Broken: false } link } } && link.Leader.Id == leader && link.ToFollower.IsSynced;

    /// <summary>The zxid the server's tree counts as processed (an epoch's start counts once it takes a role in it).</summary>
    public long LastProcessedZxid(long id) => Get(id).Core!.Tree.LastProcessedZxid;

    /// <summary>The last txn on the server's (simulated) disk.</summary>
    public long LastZxidOnDisk(long id) => Get(id).Disk.LastZxid;

    /// <summary>
    /// A client connects to the serving leader (a new session), creates <paramref name="path"/> and
    /// closes its session, so nothing of it is left for a later epoch to commit (not even an
    /// expiry). Returns the create's zxid, or null if that did not all happen within <paramref name="withinMs"/>.
    /// </summary>
    public long? Write(string path, long withinMs)
    {
        var end = Now + withinMs;
        var client = new SimClient(_clients.Count);
        _clients.Add(client);
        try
        {
            if (!_time.RunUntil(end, () => ServingLeader is not null))
            {
                return null;
            }

            var node = Get(ServingLeader!.Value);
            var connection = new FakeConnection();
            (client.Node, client.Incarnation, client.Connection) = (node, node.Incarnation, connection);
            node.Core!.Handle(new ConnectMessage(connection, new ConnectRequest(0, 0, 4000, 0, new byte[16], false)));
            Finish(node, null);
            if (!_time.RunUntil(end, () => connection.Handshake is { SessionId: not 0 } || connection.IsClosed) || connection.IsClosed)
            {
                return null;
            }

            var create = ++client.Xid;
            client.Pending[create] = (path, Now);
            node.Core.Handle(new RequestMessage(new ClientRequest
            {
                Connection = connection,
                Xid = create,
                Type = OpCode.Create,
                Body = new CreateRequest(path, Encoding.UTF8.GetBytes(path), [.. Acl.OpenAclUnsafe], 0),
                ReceivedMonotonicMillis = Now,
            }));
            Finish(node, null);
            if (!_time.RunUntil(end, () => connection.HasReplyTo(create) || connection.IsClosed) || !_acknowledged.TryGetValue(path, out var zxid))
            {
                return null;
            }

            var close = ++client.Xid;
            node.Core.Handle(new RequestMessage(new ClientRequest { Connection = connection, Xid = close, Type = OpCode.CloseSession, ReceivedMonotonicMillis = Now }));
            Finish(node, null);
            return _time.RunUntil(end, () => connection.HasReplyTo(close) && connection.IsClosed) ? zxid : null;
        }
        finally
        {
            _clients.Remove(client);
        }
    }

    /// <summary>Where a server is in its sync with its leader (null when it is not a learner).</summary>
    public LearnerPhase? LearnerPhaseOf(long id) => Get(id) is { Up: true, Follower: { } state } ? state.Replication.Sync.Phase : null;

    /// <summary>The last zxid a learner has handed to its log.</summary>
    public long LearnerLastLogged(long id) => Get(id).Follower!.Replication.Sync.LastLogged;

    /// <summary>The currentEpoch on the server's (simulated) disk.</summary>
    public long CurrentEpochOnDisk(long id) => Get(id).Disk.CurrentEpoch;

    /// <summary>How many times a leader dropped a learner during its handshake.</summary>
    public int DroppedLearners { get; private set; }

    /// <summary>Every log write of the server takes <paramref name="delayMs"/> from now on (a slow disk), and its durability waits are not stalls.</summary>
    public void SetDiskDelay(long id, int delayMs) => Get(id).DiskDelayMs = delayMs;

    /// <summary>Servers in <paramref name="side"/> can talk only among themselves; links across are broken.</summary>
    public void Partition(params long[] side)
    {
        _partition = [.. side];
        Log($"partition: {{{string.Join(",", side)}}} | rest");
        foreach (var link in _nodes.SelectMany(n => n.Links).Distinct().ToList())
        {
            if (!CanTalk(link.Leader, link.Follower))
            {
                Break(link);
            }
        }
    }

    public void HealPartition()
    {
        _partition = null;
        Log("partition healed");
    }

    /// <summary>A client session on server <paramref name="id"/>; null if the handshake did not finish within <paramref name="withinMs"/>.</summary>
    public object? OpenSession(long id, long withinMs)
    {
        var node = Get(id);
        var client = new SimClient(_clients.Count);
        var connection = new FakeConnection();
        (client.Node, client.Incarnation, client.Connection) = (node, node.Incarnation, connection);
        node.Core!.Handle(new ConnectMessage(connection, new ConnectRequest(0, 0, 30_000, 0, new byte[16], false)));
        Finish(node, null);
        return _time.RunUntil(Now + withinMs, () => connection.Handshake is { SessionId: not 0 } || connection.IsClosed) && !connection.IsClosed
            ? client
            : null;
    }

    /// <summary>The server line a reconfig names server <paramref name="id"/> by (the addresses every simulated server has).</summary>
    public static string ServerLine(long id) => $"server.{id}=127.0.0.1:{20000 + (id * 2)}:{20001 + (id * 2)};{30000 + id}";

    /// <summary>Sends a reconfig to a whole new membership of <paramref name="members"/> on the session, without waiting for its answer.</summary>
    public void SendReconfig(object session, params long[] members)
    {
        var client = (SimClient)session;
        if (!_clients.Contains(client))
        {
            _clients.Add(client);
        }

        Send(client, new ReconfigRequest(null, null, string.Join(",", members.Select(ServerLine)), -1));
        Finish(client.Node!, null);
    }

    /// <summary>Whether the session's create of <paramref name="path"/> was acknowledged.</summary>
    public bool IsAcknowledged(string path) => _acknowledged.ContainsKey(path);

    /// <summary>The voters of the membership server <paramref name="id"/> has committed.</summary>
    public IReadOnlySet<long> VotersOf(long id) => Get(id).Membership.Committed.Voters;

    /// <summary>Sends a create of <paramref name="path"/> on the session without waiting for its answer.</summary>
    public void SendCreate(object session, string path)
    {
        var client = (SimClient)session;
        var xid = ++client.Xid;
        client.Pending[xid] = (path, Now);
        if (!_clients.Contains(client))
        {
            _clients.Add(client);
        }

        client.Node!.Core!.Handle(new RequestMessage(new ClientRequest
        {
            Connection = client.Connection,
            Xid = xid,
            Type = OpCode.Create,
            Body = new CreateRequest(path, Encoding.UTF8.GetBytes(path), [.. Acl.OpenAclUnsafe], 0),
            ReceivedMonotonicMillis = Now,
        }));
        Finish(client.Node, null);
    }

    /// <summary>The zxid of an acknowledged create, or null.</summary>
    public long? Acknowledged(string path) => _acknowledged.TryGetValue(path, out var zxid) ? zxid : null;

    /// <summary>Whether the server's tree holds <paramref name="path"/>.</summary>
    public bool Holds(long id, string path) => Get(id).Core!.Tree.GetNode(path) is not null;

    /// <summary>The end-of-run checks: one serving leader, every server serving the same tree, every acknowledged write present.</summary>
    public void CheckConverged() => Check();

    private void TickForever()
    {
        Tick();
        At(Now + TickMs, TickForever);
    }

    private void At(long time, Action action) => _time.At(time, action);

    private void RunUntil(long end) => _time.RunUntil(end);

    private void Log(string text)
    {
        Trace.Add($"{Now,7} {text}");
        if (Trace.Count > 500)
        {
            Trace.RemoveAt(0);
        }
    }

    // ---- lifecycle ----

    private void Boot(Node node)
    {
        node.Up = true;
        node.Incarnation++;
        var (tree, sessions) = node.Disk.Recover();
        node.Log = new SimLog(this, node, node.Incarnation);
        node.Core = new ServerCore(
            CoreHarness.DefaultOptions with
            {
                TickTimeMs = TickMs,
                MinSessionTimeoutMs = 2 * TickMs,
                ServerId = node.Id,
                CommitLogCount = CommitLogCount,
                ReconfigEnabled = _reconfigs,
                SkipAcl = _reconfigs,
            },
            node.Clock, node.Log, NullLogger.Instance, tree);
        node.Core.RestoreSessions(sessions);
        node.Disk.SeedHistory(node.Core, CommitLogCount);
        var membership = node.Membership.Committed;
        node.Election = _reconfigs ? new ElectionParticipant(node.Id, membership.Voters, membership.Text) : new ElectionParticipant(node.Id, _voters, "");
        if (_reconfigs)
        {
            node.Election.UpdateView(membership.Voters, membership.Text, node.Membership.NextVoters);
        }

        StartLooking(node);
    }

    private void StartLooking(Node node)
    {
        NoteEpochEnd(node);
        BreakLinks(node);
        node.Role = PeerState.Looking;
        node.Leader = 0;
        node.Leading = null;
        node.Follower = null;
        node.StallSince = null;
        var last = node.Core!.StepDown();
        node.Core.EndBatch();
        node.Election!.SetState(PeerState.Looking);
        SendVotes(node, node.Election.StartLooking(last, node.Disk.CurrentEpoch, Now));
        ScheduleElectionTimer(node);
    }

    private void Crash(Node node)
    {
        NoteEpochEnd(node);
        BreakLinks(node);
        node.Up = false;
        node.Incarnation++;
        node.Core = null;
        node.Leading = null;
        node.Follower = null;
        node.StallSince = null;
        Log($"server {node.Id} crashed; disk holds through 0x{node.Disk.LastZxid:x}");
    }

    /// <summary>
    /// Liveness, checked every tick: the leader's wait for its own log before it serves, and a
    /// follower's before it acknowledges NEWLEADER, end within a disk write or two. One still open
    /// a tick later stalls the handshake until initLimit ends the round.
    /// </summary>
    private void CheckNoDurabilityStall(Node node)
    {
        var stalled = node switch
        {
            { Leading.Sync: { Phase: LeaderPhase.Synchronizing, OwnLogDurable: false } } => true,
            { Follower.Replication.Sync.Phase: LearnerPhase.AwaitingDurable } => true,
            _ => false,
        };
        if (!stalled || node.DiskDelayMs is not null)
        {
            node.StallSince = null;
            return;
        }

        node.StallSince ??= Now;
        if (Now - node.StallSince > DurabilityStallMs + TickMs)
        {
            throw new InvalidOperationException(
                $"server {node.Id} ({node.Role}) has waited {Now - node.StallSince} ms for its log to be durable; "
                + $"its disk holds through 0x{node.Disk.LastZxid:x}, its core counts 0x{node.Core!.LastDurableZxid:x} durable, 0x{node.Core.LastLoggedZxid:x} logged");
        }
    }

    private void LeaderStops(Node node, LeaderRole? role, string reason)
    {
        Log($"leader {node.Id} stopped: {reason}");
        At(Now, () =>
        {
            if (node.Up && node.Leading == role && role is not null)
            {
                if (node.DesignatedLeader is { } designated)
                {
                    TakeDesignatedRole(node, designated);
                }
                else
                {
                    StartLooking(node);
                }
            }
        });
    }

    /// <summary>As the peer after a reconfig named the leader: straight to leading or following it, without an election.</summary>
    private void TakeDesignatedRole(Node node, long designated)
    {
        NoteEpochEnd(node);
        BreakLinks(node);
        node.Leading = null;
        node.Follower = null;
        node.StallSince = null;
        node.DesignatedLeader = null;
        var last = node.Core!.StepDown();
        node.Core.EndBatch();
        var state = designated == node.Id ? PeerState.Leading : PeerState.Following;
        node.Election!.Settle(designated, last, node.Disk.CurrentEpoch, state);
        Log($"server {node.Id} takes its role under server {designated} without an election");
        OnDecided(node, new Vote(designated, last, node.Election.LogicalClock, node.Disk.CurrentEpoch, state));
    }

    private void NoteEpochEnd(Node node)
    {
        if (node.Up && node.Serving && node.Role == PeerState.Leading && node.Core!.LastLoggedZxid == Zxid.Make(node.Epoch, 0))
        {
            EmptyEpochs++;
        }
    }

    // ---- election ----

    private void SendVotes(Node from, List<(long To, Notification Message)> outgoing)
    {
        foreach (var (to, message) in outgoing)
        {
            var target = Get(to);
            if (to != from.Id && (!target.Up || !CanTalk(from, target)))
            {
                continue;
            }

            var incarnation = target.Incarnation;
            At(Now + (to == from.Id ? 0 : 1 + _random.Next(30)), () =>
            {
                if (target.Up && target.Incarnation == incarnation && (to == from.Id || CanTalk(from, target)))
                {
                    if (_reconfigs && target.Election!.IsLooking && target.Membership.AdoptIfNewer(message.Config, multiAddressEnabled: false))
                    {
                        Log($"server {target.Id} takes membership 0x{target.Membership.Committed.Version:x} from server {from.Id}'s notification");
                    }

                    ElectionStep(target, target.Election!.OnNotification(from.Id, message, Now));
                }
            });
        }
    }

    private void ElectionStep(Node node, List<(long To, Notification Message)> outgoing)
    {
        SendVotes(node, outgoing);
        if (node.Election!.TakeDecision() is { } decision)
        {
            OnDecided(node, decision);
        }

        ScheduleElectionTimer(node);
    }

    private void ScheduleElectionTimer(Node node)
    {
        if (!node.Election!.IsLooking)
        {
            return;
        }

        var incarnation = node.Incarnation;
        At(Math.Max(Now + 1, node.Election.NextDeadline), () =>
        {
            if (node.Up && node.Incarnation == incarnation && node.Election.IsLooking)
            {
                ElectionStep(node, node.Election.OnTimer(Now));
            }
        });
    }

    /// <summary>
    /// A decision starts the production role: a leader's <see cref="LeaderRole"/> (discovery, sync,
    /// broadcast), or a learner that connects to its leader and runs <see cref="FollowerReplication"/>.
    /// </summary>
    private void OnDecided(Node node, Vote decision)
    {
        node.Leader = decision.Leader;

        // A server a reconfig removed decides as a non-voter; as QuorumPeer, it follows all the same
        // (no server here is configured as an observer).
        node.Role = decision.State == PeerState.Observing ? PeerState.Following : decision.State;
        var round = ++node.Rounds;
        Log($"server {node.Id} decided: {decision.Leader} leads");
        if (node.Role == PeerState.Leading)
        {
            var core = node.Core!;
            var last = core.LastLoggedZxid;
            var sync = new LeaderSync(new LeaderSyncStart(
                node.Id, _reconfigs ? node.Membership.Committed.Voters : _voters, _reconfigs ? null : _voters, InitLimitMs,
                node.Disk.AcceptedEpoch, node.Disk.CurrentEpoch, last, core.DurableThroughZxid));
            node.Leading = new LeaderRole(core, sync, new LeaderHost(this, node));
            node.Leading.Start();
            Finish(node, null);
        }
        else
        {
            // As Follower: a leader that cannot be reached within initLimit is given up on.
            At(Now + InitLimitMs, () =>
            {
                if (node.Up && node.Rounds == round && node.Follower is null && node.Role == PeerState.Following)
                {
                    Log($"server {node.Id} gave up on leader {node.Leader}");
                    StartLooking(node);
                }
            });
        }

        TryConnect();
    }

    // ---- learners connect to their leader ----

    private void TryConnect()
    {
        foreach (var follower in _nodes.Where(n => n.Up && n.Role == PeerState.Following && n.Follower is null).ToList())
        {
            var leader = Get(follower.Leader);
            if (leader is { Up: true, Role: PeerState.Leading, Leading: not null } && CanTalk(follower, leader))
            {
                Connect(leader, follower);
            }
        }
    }

    private void Connect(Node leader, Node follower)
    {
        var link = new SimLink(this, leader, follower);
        leader.Links.Add(link);
        follower.Links.Add(link);
        var core = follower.Core!;
        var last = core.LastLoggedZxid;
        var sync = new LearnerSync(new LearnerSyncStart(
            follower.Id, false, _reconfigs ? follower.Membership.Committed.Version : 0, InitLimitMs, SyncLimitMs,
            follower.Disk.AcceptedEpoch, follower.Disk.CurrentEpoch, last, core.DurableThroughZxid));
        var host = new LearnerHost(this, follower, link);
        var membership = _reconfigs ? new LearnerMembership(follower.Membership, follower.Id, observer: false, leader.Id, multiAddressEnabled: false) : null;
        follower.Follower = new FollowerState(link, new FollowerReplication(core, link.ToLeader, sync, host, membership), host);
        core.SetReplication(follower.Follower.Replication);
        link.ToFollower.LastHeardMillis = leader.Clock.MonotonicMillis;
        follower.Follower.Replication.Start();
        Finish(follower, link);
    }

    // ---- links ----

    private void Pump(SimLink link)
    {
        while (link.ToFollower.TryTake(out var item))
        {
            Deliver(link, item, toFollower: true);
        }

        while (link.ToLeader.TryTake(out var item))
        {
            Deliver(link, item, toFollower: false);
        }
    }

    private void Deliver(SimLink link, object item, bool toFollower)
    {
        // FIFO per direction, as over TCP.
        var at = Math.Max(Now + 1 + _random.Next(20), toFollower ? link.LastToFollower : link.LastToLeader);
        if (toFollower)
        {
            link.LastToFollower = at;
        }
        else
        {
            link.LastToLeader = at;
        }

        At(at, () =>
        {
            if (link.Broken)
            {
                return;
            }

            if (toFollower)
            {
                FollowerReceives(link, item);
            }
            else
            {
                LeaderReceives(link, (QuorumPacket)item);
            }
        });
    }

    private void BreakLinks(Node node)
    {
        foreach (var link in node.Links.ToList())
        {
            Break(link);
        }
    }

    private void Break(SimLink link)
    {
        if (link.Broken)
        {
            return;
        }

        link.Broken = true;
        link.Leader.Links.Remove(link);
        link.Follower.Links.Remove(link);
        if (link.Leader.Up && link.Leader.Leading is { } role)
        {
            role.LearnerLeft(link.ToFollower);
        }

        link.ToFollower.Close();
        if (link.Follower.Up && link.Follower.Follower?.Link == link)
        {
            At(Now, () =>
            {
                if (link.Follower.Up && link.Follower.Follower?.Link == link)
                {
                    Log($"server {link.Follower.Id} lost its connection to leader {link.Leader.Id}");
                    StartLooking(link.Follower);
                }
            });
        }
    }

    // ---- follower side: the production state machine, over a simulated link and disk ----

    private void FollowerReceives(SimLink link, object item)
    {
        var node = link.Follower;
        if (node.Follower is not { } state || state.Link != link)
        {
            return;
        }

        if (item is byte[] snapshot)
        {
            var zxid = state.Host.TakeSnapshotZxid() ?? throw new InvalidOperationException($"server {node.Id} got snapshot bytes it did not expect");
            var (tree, sessions) = SnapshotFile.DecodeBody(new SnapshotInput(new MemoryStream(snapshot, writable: false), "leader"));
            tree.LastProcessedZxid = zxid;
            node.Log!.Drain();
            node.Disk.InstallSnapshot(snapshot, zxid);
            node.Core!.ReplaceTree(tree, sessions);
            state.Replication.SnapshotInstalled(zxid);
        }
        else
        {
            var packet = (QuorumPacket)item;
            state.Replication.Receive(packet, DecodedTxn.Of(packet));
        }

        Finish(node, link);
    }

    // ---- leader side: the production state machine ----

    private void LeaderReceives(SimLink link, QuorumPacket packet)
    {
        var leader = link.Leader;
        if (leader.Leading is not { } role)
        {
            return;
        }

        role.Receive(link.ToFollower, packet);
        Finish(leader, link);
    }

    private void Finish(Node node, SimLink? link)
    {
        node.Core?.EndBatch();
        DeliverClientReplies();
        foreach (var each in node.Links.ToList())
        {
            Pump(each);
        }

        if (link is not null && !link.Broken)
        {
            Pump(link);
        }
    }

    // ---- disk ----

    private void OnDurable(Node node, int incarnation, long zxid)
    {
        if (!node.Up || node.Incarnation != incarnation)
        {
            return;
        }

        node.Core!.Handle(new LogSyncedMessage(zxid));
        if (node.Leading is { Sync.Phase: not LeaderPhase.Serving } role)
        {
            role.Durable(node.Core.DurableThroughZxid);
        }

        Finish(node, null);
        DeliverClientReplies();
    }

    // ---- ticks, clients, faults ----

    private void Tick()
    {
        foreach (var node in _nodes.Where(n => n.Up))
        {
            CheckNoDurabilityStall(node);
            node.Core!.Handle(TickMessage.Instance);
            node.Leading?.Tick();
            if (node.Up)
            {
                Finish(node, null);
            }
        }

        TryConnect();
        DeliverClientReplies();
    }

    private void ClientStep()
    {
        if (Now < _quietUntil)
        {
            return;
        }

        foreach (var client in _clients)
        {
            if (client.Connection is null || client.Connection.IsClosed || client.Node is not { Up: true } || client.Incarnation != client.Node.Incarnation)
            {
                var serving = _nodes.Where(n => n.Up && n.Core!.IsServing).ToList();
                if (serving.Count == 0)
                {
                    continue;
                }

                client.Node = serving[_random.Next(serving.Count)];
                client.Incarnation = client.Node.Incarnation;
                client.Connection = new FakeConnection();
                client.Pending.Clear();
                client.SeenReplies = 0;
                client.RegisterOps.Clear();
                client.Reconfigs.Clear();
                client.Node.Core!.Handle(new ConnectMessage(client.Connection, new ConnectRequest(0, 0, 4000, 0, new byte[16], false)));
                Finish(client.Node, null);
                continue;
            }

            if (client.Connection.Handshake is not { SessionId: not 0 } || client.Pending.Count + client.RegisterOps.Count >= 4)
            {
                continue;
            }

            // Reconfigs stop 10 s after healing: a hand-off to a leader that then fails costs its
            // followers initLimit before they look again, and the ensemble must be settled at the end.
            if (_reconfigs && client.Reconfigs.Count == 0 && (_healedAt is not { } healed || Now < healed + 10_000) && _random.Next(25) == 0)
            {
                SendReconfig(client);
                Finish(client.Node, null);
                continue;
            }

            if (client.RegisterOps.Count == 0 && _random.Next(4) == 0)
            {
                StartRegisterOp(client);
                Finish(client.Node, null);
                continue;
            }

            var path = $"/n{_nextPath++}";
            var xid = ++client.Xid;
            client.Pending[xid] = (path, Now);
            client.Node.Core!.Handle(new RequestMessage(new ClientRequest
            {
                Connection = client.Connection,
                Xid = xid,
                Type = OpCode.Create,
                Body = new CreateRequest(path, Encoding.UTF8.GetBytes(path), [.. Acl.OpenAclUnsafe], 0),
                ReceivedMonotonicMillis = Now,
            }));
            Finish(client.Node, null);
        }

        DeliverClientReplies();
    }

    /// <summary>
    /// A reconfig as an operator would send it, from what the client's server last saw: a whole new
    /// membership (several servers join and leave at once), a voter leaves (while more than two
    /// vote), or a server that left comes back.
    /// </summary>
    private void SendReconfig(SimClient client)
    {
        var seen = client.Node!.Membership.LastSeen;
        var absent = _voters.Where(id => !seen.Members.ContainsKey(id)).ToList();
        string? joining = null;
        string? leaving = null;
        string? members = null;
        if (_random.Next(3) == 0)
        {
            // A whole new membership: any two or more servers, so several join and leave at once.
            var chosen = _voters.Where(_ => _random.Next(2) == 0).ToList();
            foreach (var id in _voters.Where(id => !chosen.Contains(id)).Take(Math.Max(0, 2 - chosen.Count)))
            {
                chosen.Add(id);
            }

            members = string.Join(",", chosen.Order().Select(ServerLine));
        }
        else if (absent.Count > 0 && (seen.Voters.Count <= 2 || _random.Next(2) == 0))
        {
            var back = absent[_random.Next(absent.Count)];
            joining = ServerLine(back);
        }
        else if (seen.Voters.Count > 2)
        {
            var voters = seen.Voters.Order().ToList();
            leaving = voters[_random.Next(voters.Count)].ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        Send(client, new ReconfigRequest(joining, leaving, members, -1));
    }

    private void Send(SimClient client, ReconfigRequest request)
    {
        var xid = ++client.Xid;
        client.Reconfigs.Add(xid);
        Log($"client {client.Id} asks server {client.Node!.Id} to reconfig: +[{request.JoiningServers}] -[{request.LeavingServers}] =[{request.NewMembers}]");
        client.Node.Core!.Handle(new RequestMessage(new ClientRequest
        {
            Connection = client.Connection,
            Xid = xid,
            Type = OpCode.Reconfig,
            Reconfig = request,
            ReceivedMonotonicMillis = Now,
        }));
    }

    /// <summary>An operation on one of two registers (znodes /r0, /r1); reads are a sync then a getData.</summary>
    private void StartRegisterOp(SimClient client)
    {
        var key = _random.Next(Registers.Length);
        var path = $"/r{key}";
        var value = ++_nextValue;
        var kind = (RegisterOpKind)_random.Next(4);
        var version = client.LastSeenVersion.GetValueOrDefault(key, 0);
        var op = new RegisterOp(kind, value, version, Now);
        Registers[key].Add(op);
        var data = Encoding.UTF8.GetBytes(value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        switch (kind)
        {
            case RegisterOpKind.Create:
                Send(client, OpCode.Create, new CreateRequest(path, data, [.. Acl.OpenAclUnsafe], 0), op, key);
                break;
            case RegisterOpKind.Write:
                Send(client, OpCode.SetData, new SetDataRequest(path, data, -1), op, key);
                break;
            case RegisterOpKind.CompareAndSet:
                Send(client, OpCode.SetData, new SetDataRequest(path, data, version), op, key);
                break;
            default:
                // sync() first, so the read reflects every write that completed before it began.
                Send(client, OpCode.Sync, new PathOnlyRequest(path), null, key);
                Send(client, OpCode.GetData, new PathWatchRequest(path, false), op, key);
                break;
        }
    }

    private void Send(SimClient client, OpCode type, PathRequest body, RegisterOp? op, int key)
    {
        var xid = ++client.Xid;
        client.RegisterOps[xid] = (op, key);
        client.Node!.Core!.Handle(new RequestMessage(new ClientRequest
        {
            Connection = client.Connection,
            Xid = xid,
            Type = type,
            Body = body,
            ReceivedMonotonicMillis = Now,
        }));
    }

    private void DeliverClientReplies()
    {
        foreach (var client in _clients)
        {
            if (client.Connection is null)
            {
                continue;
            }

            var log = client.Connection.Log;
            while (client.SeenReplies < log.Count)
            {
                if (log[client.SeenReplies++] is not Reply reply)
                {
                    continue;
                }

                if (client.Reconfigs.Remove(reply.Xid))
                {
                    if (reply.Err == ErrorCode.Ok)
                    {
                        ReconfigsCommitted++;
                        Log($"client {client.Id}: reconfig committed at 0x{reply.Zxid:x}");
                    }
                    else
                    {
                        ReconfigRefusals[reply.Err] = ReconfigRefusals.GetValueOrDefault(reply.Err) + 1;
                    }
                }

                if (client.Pending.Remove(reply.Xid, out var write) && reply.Err == ErrorCode.Ok)
                {
                    _acknowledged[write.Path] = reply.Zxid;
                    if (_healedAt is { } healed && write.SentAt >= healed)
                    {
                        FirstWriteAfterHealMs ??= Now - healed;
                    }
                }

                if (client.RegisterOps.Remove(reply.Xid, out var registerOp) && registerOp.Op is { } op)
                {
                    var outcome = reply.Err switch
                    {
                        ErrorCode.Ok when reply.Body is GetDataResponse read => $"{Encoding.UTF8.GetString(read.Data ?? [])}@{read.Stat.Version}",
                        ErrorCode.Ok => "ok",
                        ErrorCode.NodeExists => "exists",
                        ErrorCode.NoNode => "nonode",
                        ErrorCode.BadVersion => "badversion",
                        var other => other.ToString(),
                    };
                    op.Complete(outcome, Now);
                    if (reply.Body is GetDataResponse seen)
                    {
                        client.LastSeenVersion[registerOp.Key] = seen.Stat.Version;
                    }
                    else if (reply.Body is StatResponse written)
                    {
                        client.LastSeenVersion[registerOp.Key] = written.Stat.Version;
                    }
                }
            }
        }
    }

    private void InjectFault()
    {
        FaultEvents++;
        var up = _nodes.Where(n => n.Up).ToList();
        var down = _nodes.Where(n => !n.Up).ToList();
        switch (_random.Next(_quietSpells ? 10 : 7))
        {
            case 0 when up.Count > 0:
                Crash(up.FirstOrDefault(n => n.Role == PeerState.Leading && n.Serving) ?? up[_random.Next(up.Count)]);
                break;
            case 6:
                // A power failure: every server at once, each losing what its disk had not synced.
                foreach (var node in up)
                {
                    Crash(node);
                }

                break;
            case 1 when up.Count > 0:
                Crash(up[_random.Next(up.Count)]);
                break;
            case 2 or 3 when down.Count > 0:
                {
                    var node = down[_random.Next(down.Count)];
                    Log($"server {node.Id} restarts");
                    Boot(node);
                    break;
                }

            case >= 7:
                // Only with quiet spells (three kinds in ten): clients idle, faults go on.
                _quietUntil = Math.Max(_quietUntil, Now + _random.Next(5000, 15_000));
                Log($"clients fall quiet until {_quietUntil}");
                break;
            case 4:
                _partition = [.. _nodes.Where(_ => _random.Next(2) == 0).Select(n => n.Id)];
                Log($"partition: {{{string.Join(",", _partition)}}} | rest");
                foreach (var link in _nodes.SelectMany(n => n.Links).Distinct().ToList())
                {
                    if (!CanTalk(link.Leader, link.Follower))
                    {
                        Break(link);
                    }
                }

                break;
            default:
                _partition = null;
                Log("partition healed");
                break;
        }
    }

    private void Heal()
    {
        _partition = null;
        _quietUntil = 0;
        _healedAt = Now;
        Log("all faults healed");
        foreach (var node in _nodes.Where(n => !n.Up))
        {
            Boot(node);
        }
    }

    private bool CanTalk(Node a, Node b) => _partition is null || _partition.Contains(a.Id) == _partition.Contains(b.Id);

    // ---- checks ----

    private void Check()
    {
        if (_healedAt is { } healed && FirstWriteAfterHealMs is not <= LivenessBoundMs)
        {
            throw new InvalidOperationException($"no write sent after healing (at {healed}) was acknowledged within {LivenessBoundMs} ms"
                + (FirstWriteAfterHealMs is { } late ? $" (the first took {late} ms)" : "") + ": "
                + string.Join("; ", _nodes.Select(n => $"{n.Id}: {n.Role} serving {n.Core?.IsServing}")));
        }

        var leaders = _nodes.Where(n => n.Up && n.Role == PeerState.Leading && n.Serving).ToList();
        if (leaders.Count != 1 || _nodes.Any(n => !n.Up || !n.Core!.IsServing))
        {
            throw new InvalidOperationException("the ensemble did not settle after healing: "
                + string.Join("; ", _nodes.Select(n => $"{n.Id}: {n.Role} serving {n.Core?.IsServing}")));
        }

        var dumps = _nodes.Select(n => Dump(n.Core!.Tree)).ToList();
        for (var i = 1; i < dumps.Count; i++)
        {
            if (dumps[i] != dumps[0])
            {
                throw new InvalidOperationException($"replicas differ after healing: server 1 and server {i + 1}");
            }
        }

        var memberships = _nodes.Select(n => n.Membership.Committed).ToList();
        if (memberships.Any(m => m.Version != memberships[0].Version || !m.HasSameMembers(memberships[0])))
        {
            throw new InvalidOperationException("servers hold different memberships after healing: "
                + string.Join("; ", _nodes.Select(n => $"{n.Id}: 0x{n.Membership.Committed.Version:x} voters {string.Join(",", n.Membership.Committed.Voters.Order())}")));
        }

        for (var key = 0; key < Registers.Length; key++)
        {
            if (!LinearizabilityChecker.IsLinearizable(Registers[key], out var why))
            {
                throw new InvalidOperationException($"the history of register /r{key} is not linearizable: {why}");
            }
        }

        foreach (var node in _nodes)
        {
            foreach (var (path, zxid) in _acknowledged)
            {
                if (node.Core!.Tree.GetNode(path) is null)
                {
                    throw new InvalidOperationException($"acknowledged write {path} (zxid 0x{zxid:x}) is missing on server {node.Id}");
                }
            }
        }
    }

    private static string Dump(DataTree tree)
    {
        var text = new StringBuilder();
        Visit("", tree.Root);
        return text.ToString();

        void Visit(string path, DataNode node)
        {
            text.Append(path).Append(' ').Append(node.ToStat()).Append(' ').Append(Convert.ToHexString(node.Data ?? [])).Append('\n');
            foreach (var name in node.ChildNames.Order(StringComparer.Ordinal))
            {
                Visit(path + "/" + name, node.GetChild(name)!);
            }
        }
    }

    // ---- model types ----

    private sealed class Node(long id, ZabSimulator simulator)
    {
        public long Id { get; } = id;
        public bool Up { get; set; }
        public int Incarnation { get; set; }
        public SimDisk Disk { get; } = new();
        public SimClock Clock { get; } = new(simulator);
        public SimLog? Log { get; set; }
        public ServerCore? Core { get; set; }
        public ElectionParticipant? Election { get; set; }
        public PeerState Role { get; set; }
        public long Leader { get; set; }
        public int Rounds { get; set; }
        public LeaderRole? Leading { get; set; }

        /// <summary>What the server's dynamic configuration files hold: it survives crashes.</summary>
        public QuorumMembership Membership { get; } = QuorumMembership.ForVoters(simulator._voters);

        /// <summary>The leader a committed reconfig named, once this server's current role ends.</summary>
        public long? DesignatedLeader { get; set; }
        public FollowerState? Follower { get; set; }
        public List<SimLink> Links { get; } = [];

        /// <summary>When a durability wait (before serving or acknowledging NEWLEADER) was first seen open.</summary>
        public long? StallSince { get; set; }

        /// <summary>A fixed latency for every log write (a slow disk), or null for the usual 1 to 30 ms.</summary>
        public int? DiskDelayMs { get; set; }

        public long Epoch => Leading?.Sync.Epoch ?? Follower?.Replication.Sync.Epoch ?? -1;

        public bool Serving => Leading?.Sync.Phase == LeaderPhase.Serving || Follower?.Replication.Sync.IsServing == true;
    }

    private sealed record FollowerState(SimLink Link, FollowerReplication Replication, LearnerHost Host);

    /// <summary>A leader's effects on the simulated disk, links and election.</summary>
    private sealed class LeaderHost(ZabSimulator simulator, Node node) : ILeaderHost
    {
        public void PersistEpoch(string file, long epoch)
        {
            if (file == EpochFiles.Accepted)
            {
                node.Disk.AcceptedEpoch = epoch;
            }
            else
            {
                node.Disk.CurrentEpoch = epoch;
            }
        }

        public LeaderReplication CreateReplication(long epoch)
        {
            var replication = simulator._reconfigs
                ? new LeaderReplication(node.Core!, node.Id, node.Membership, Reconfiguring, epoch, TickMs, (int)(SyncLimitMs / TickMs), NullLogger.Instance)
                : new LeaderReplication(node.Core!, node.Id, QuorumMembership.ForVoters(simulator._voters), ReconfigSettings.Disabled, epoch, TickMs, (int)(SyncLimitMs / TickMs), NullLogger.Instance);
            var role = node.Leading;
            replication.LostQuorum += reason => simulator.LeaderStops(node, role, reason);
            replication.HandedOff += designated =>
            {
                simulator.HandOffs++;
                simulator.Log($"leader {node.Id} hands off to server {designated}");
                node.DesignatedLeader = designated;
            };
            simulator.Log($"leader {node.Id} begins epoch {epoch}");
            return replication;
        }

        public void SynchronizeLearner(PeerLink learner, long peerLastZxid)
        {
            var kind = node.Leading!.AddLearner(learner, peerLastZxid, null);
            simulator.Syncs++;
            simulator.Log($"leader {node.Id} syncs {learner.Sid} (last 0x{peerLastZxid:x}) by {kind}");
        }

        public void StartedLeading(long epoch)
        {
            // At most one leader per epoch: two would be two quorums deciding at once.
            if (simulator._epochLeaders.TryGetValue(epoch, out var other) && other != node.Id)
            {
                throw new InvalidOperationException($"servers {other} and {node.Id} both led epoch {epoch}");
            }

            simulator._epochLeaders[epoch] = node.Id;
            node.Election!.SetState(PeerState.Leading);
            node.Election.UpdatePeerEpoch(epoch);
            simulator.Log($"leader {node.Id} serves epoch {epoch}");
        }

        public void DropLearner(PeerLink learner, string reason)
        {
            simulator.Log($"leader {node.Id} drops {learner.Sid}: {reason}");
            simulator.DroppedLearners++;
            if (reason.Contains(" answered ", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"leader {node.Id} dropped server {learner.Sid} for a protocol violation: {reason}");
            }

            if (node.Links.FirstOrDefault(l => ReferenceEquals(l.ToFollower, learner)) is { } link)
            {
                simulator.Break(link);
            }
        }

        public void Abandon(string reason) => simulator.LeaderStops(node, node.Leading, reason);
    }

    /// <summary>A learner's effects on the simulated disk, link and election.</summary>
    private sealed class LearnerHost(ZabSimulator simulator, Node node, SimLink link) : ILearnerHost
    {
        private long? _snapshotZxid;

        public long? TakeSnapshotZxid()
        {
            var zxid = _snapshotZxid;
            _snapshotZxid = null;
            return zxid;
        }

        public void PersistEpoch(string file, long epoch)
        {
            if (file == EpochFiles.Accepted)
            {
                node.Disk.AcceptedEpoch = epoch;
            }
            else
            {
                node.Disk.CurrentEpoch = epoch;
            }
        }

        public void ReceiveSnapshot(long zxid) => _snapshotZxid = zxid;

        public void TruncateLog(long zxid)
        {
            node.Log!.Drain();
            node.Disk.TruncateAfter(zxid);
            var (tree, sessions) = node.Disk.Recover();
            node.Core!.ReplaceTree(tree, sessions);
            node.Disk.SeedHistory(node.Core, CommitLogCount);
            node.Follower!.Replication.Truncated(tree.LastProcessedZxid);
        }

        public void StartedFollowing(long epoch)
        {
            node.Election!.SetState(PeerState.Following);
            node.Election.UpdatePeerEpoch(epoch);
            simulator.Log($"server {node.Id} follows {link.Leader.Id} in epoch {epoch}");
        }

        public void Reconfigured(string reason, long? designatedLeader)
        {
            if (designatedLeader is not { } designated)
            {
                Abandon(reason);
                return;
            }

            simulator.Log($"server {node.Id} leaves leader {link.Leader.Id}: {reason}");
            simulator.At(simulator.Now, () =>
            {
                if (node.Up && node.Follower?.Link == link)
                {
                    simulator.TakeDesignatedRole(node, designated);
                }
            });
        }

        public void Abandon(string reason)
        {
            simulator.Log($"server {node.Id} stops following {link.Leader.Id}: {reason}");
            simulator.At(simulator.Now, () =>
            {
                if (node.Up && node.Follower?.Link == link)
                {
                    simulator.StartLooking(node);
                }
            });
        }

        public void Warn(string text) => simulator.Log($"server {node.Id}: {text}");
    }

    private sealed class SimLink(ZabSimulator simulator, Node leader, Node follower)
    {
        public Node Leader { get; } = leader;
        public Node Follower { get; } = follower;
        public PeerLink ToFollower { get; } = new(follower.Id, NullLogger.Instance) { IsFollower = simulator._voters.Contains(follower.Id) };
        public PeerLink ToLeader { get; } = new(leader.Id, NullLogger.Instance);
        public bool Broken { get; set; }
        public long LastToFollower { get; set; }
        public long LastToLeader { get; set; }
    }

    private sealed class SimClient(int id)
    {
        public int Id { get; } = id;
        public Node? Node { get; set; }
        public int Incarnation { get; set; }
        public FakeConnection? Connection { get; set; }
        public int Xid { get; set; }
        public int SeenReplies { get; set; }
        public Dictionary<int, (string Path, long SentAt)> Pending { get; } = [];
        public Dictionary<int, (RegisterOp? Op, int Key)> RegisterOps { get; } = [];
        public Dictionary<int, int> LastSeenVersion { get; } = [];
        public HashSet<int> Reconfigs { get; } = [];
    }

    private sealed class SimClock(ZabSimulator simulator) : IClock
    {
        public long WallMillis => ManualClock.StartWall + simulator.Now;
        public long MonotonicMillis => ManualClock.StartMonotonic + simulator.Now;
    }

    /// <summary>What survives a crash: a snapshot body, the synced log records and the epochs.</summary>
    private sealed class SimDisk
    {
        private byte[]? _snapshot;
        private long _snapshotZxid;

        public List<(TxnHeader Header, Txn Txn)> Records { get; } = [];
        public long AcceptedEpoch { get; set; }
        public long CurrentEpoch { get; set; }
        public long LastZxid => Records.Count > 0 ? Records[^1].Header.Zxid : _snapshotZxid;

        public void InstallSnapshot(byte[] body, long zxid)
        {
            _snapshot = body;
            _snapshotZxid = zxid;
            Records.Clear();
        }

        public void TruncateAfter(long zxid)
        {
            if (_snapshotZxid > zxid)
            {
                throw new InvalidOperationException($"TRUNC to 0x{zxid:x} below the snapshot at 0x{_snapshotZxid:x}");
            }

            Records.RemoveAll(r => r.Header.Zxid > zxid);
        }

        /// <summary>As a recovery from the txn log does: the newest <paramref name="count"/> txns after the snapshot become the core's history.</summary>
        public void SeedHistory(ServerCore core, int count)
        {
            var replayed = Records.Where(r => r.Header.Zxid > _snapshotZxid).ToList();
            var recent = replayed.TakeLast(count).ToList();
            var baseZxid = replayed.Count > recent.Count ? replayed[replayed.Count - recent.Count - 1].Header.Zxid : _snapshotZxid;
            using var scratch = new JuteWriter(256);
            var txns = new List<(long Zxid, byte[] Body)>();
            foreach (var (header, txn) in recent)
            {
                scratch.Reset();
                TxnLogFormat.WriteBody(scratch, header, txn);
                txns.Add((header.Zxid, scratch.WrittenSpan.ToArray()));
            }

            core.Committed.Reset(baseZxid, txns);
        }

        public (DataTree Tree, Dictionary<long, int> Sessions) Recover()
        {
            var (tree, sessions) = (new DataTree(), new Dictionary<long, int>());
            if (_snapshot is not null)
            {
                (tree, sessions) = SnapshotFile.DecodeBody(new SnapshotInput(new MemoryStream(_snapshot, writable: false), "simulated disk"));
                tree.LastProcessedZxid = _snapshotZxid;
            }

            foreach (var (header, txn) in Records)
            {
                if (header.Zxid <= tree.LastProcessedZxid)
                {
                    continue;
                }

                tree.ProcessTxn(header, txn);
                if (header.Type == OpCode.CreateSession && txn is CreateSessionTxn create)
                {
                    sessions[header.ClientId] = create.Timeout;
                }
                else if (header.Type == OpCode.CloseSession)
                {
                    sessions.Remove(header.ClientId);
                }
            }

            return (tree, sessions);
        }
    }

    /// <summary>A log whose group commits complete in order after a simulated disk delay; a crash loses what is not yet synced.</summary>
    private sealed class SimLog(ZabSimulator simulator, Node node, int incarnation) : ITxnLog
    {
        private readonly List<(TxnHeader Header, Txn Txn)> _pending = [];
        private readonly Queue<List<(TxnHeader Header, Txn Txn)>> _inFlight = new();
        private long _lastCompletion;

        public event Action<long>? Synced
        {
            add { }
            remove { }
        }

        public void Append(in TxnHeader header, Txn txn, ReadOnlySpan<byte> body = default) => _pending.Add((header, txn));

        public void Flush()
        {
            if (_pending.Count == 0)
            {
                return;
            }

            var batch = _pending.ToList();
            _pending.Clear();
            _inFlight.Enqueue(batch);
            _lastCompletion = Math.Max(_lastCompletion, simulator.Now + (node.DiskDelayMs ?? 1 + simulator._random.Next(30)));
            simulator.At(_lastCompletion, () =>
            {
                if (node.Up && node.Incarnation == incarnation && _inFlight.TryPeek(out var head) && ReferenceEquals(head, batch))
                {
                    _inFlight.Dequeue();
                    node.Disk.Records.AddRange(batch);
                    simulator.OnDurable(node, incarnation, batch[^1].Header.Zxid);
                }
            });
        }

        /// <summary>Waits out every write already handed to the disk (as a follower does before truncating or installing a snapshot).</summary>
        public void Drain()
        {
            Flush();
            while (_inFlight.TryDequeue(out var batch))
            {
                node.Disk.Records.AddRange(batch);
            }
        }

        public void Dispose()
        {
        }
    }
}
