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
using SharpKeeper.Server.Quorum.Election;
using SharpKeeper.Server.Tests.Core;
using Notification = SharpKeeper.Server.Quorum.Election.Notification;

namespace SharpKeeper.Server.Tests.Simulation;

/// <summary>
/// A seeded, single-threaded simulation of whole ensemble members: the production election
/// participant, request core and leader/follower replication (proposals, acks, commits, DIFF,
/// TRUNC and SNAP syncs chosen by <see cref="LeaderReplication"/>), over simulated links and disks.
/// A crash loses every log write not yet synced. Clients write through any serving server.
/// Checked: every acknowledged write survives; after healing all replicas hold the same tree.
/// The discovery handshake and the follower's packet handling mirror Leader and Follower, whose
/// socket code is not simulated.
/// </summary>
public sealed class ZabSimulator
{
    private const long InitLimitMs = 5000;
    private const long SyncLimitMs = 2500;
    private const int TickMs = 500;

    private readonly Random _random;
    private readonly EventQueue _time = new();
    private readonly Node[] _nodes;
    private readonly HashSet<long> _voters;
    private readonly Dictionary<string, long> _acknowledged = new(StringComparer.Ordinal);
    private readonly List<SimClient> _clients = [];
    private HashSet<long>? _partition;
    private int _nextPath;
    private int _nextValue;

    /// <summary>The client histories of the two registers, checked for linearizability at the end.</summary>
    public List<RegisterOp>[] Registers { get; } = [[], []];

    public ZabSimulator(int seed, int size)
    {
        _random = new Random(seed);
        _voters = [.. Enumerable.Range(1, size).Select(i => (long)i)];
        _nodes = [.. _voters.Select(id => new Node(id, this))];
    }

    public long Now => _time.Now;

    public int FaultEvents { get; private set; }

    public int AcknowledgedWrites => _acknowledged.Count;

    public int Syncs { get; private set; }

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
            CoreHarness.DefaultOptions with { TickTimeMs = TickMs, MinSessionTimeoutMs = 2 * TickMs, ServerId = node.Id, CommitLogCount = 20 },
            node.Clock, node.Log, NullLogger.Instance, tree);
        node.Core.RestoreSessions(sessions);
        node.Election = new ElectionParticipant(node.Id, _voters, "");
        StartLooking(node);
    }

    private void StartLooking(Node node)
    {
        BreakLinks(node);
        node.Role = PeerState.Looking;
        node.Leader = 0;
        node.Replication = null;
        node.Follower = null;
        node.Serving = false;
        var last = node.Core!.StepDown();
        node.Core.EndBatch();
        node.Election!.SetState(PeerState.Looking);
        SendVotes(node, node.Election.StartLooking(last, node.Disk.CurrentEpoch, Now));
        ScheduleElectionTimer(node);
    }

    private void Crash(Node node)
    {
        BreakLinks(node);
        node.Up = false;
        node.Incarnation++;
        node.Core = null;
        node.Replication = null;
        node.Follower = null;
        node.Serving = false;
        Log($"server {node.Id} crashed; disk holds through 0x{node.Disk.LastZxid:x}");
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

    private void OnDecided(Node node, Vote decision)
    {
        node.Leader = decision.Leader;
        node.Role = decision.State;
        node.DecidedAt = Now;
        var round = ++node.Rounds;
        Log($"server {node.Id} decided: {decision.Leader} leads");
        if (node.Role == PeerState.Leading)
        {
            At(Now + InitLimitMs, () =>
            {
                if (node.Up && node.Rounds == round && !node.Serving)
                {
                    Log($"leader {node.Id} gave up: no quorum within initLimit");
                    StartLooking(node);
                }
            });
        }
        else
        {
            At(Now + InitLimitMs, () =>
            {
                if (node.Up && node.Rounds == round && node.Follower is not { Serving: true })
                {
                    Log($"server {node.Id} gave up on leader {node.Leader}");
                    StartLooking(node);
                }
            });
        }

        TryDiscover();
    }

    // ---- discovery (mirrors Leader/LeaderDiscovery) ----

    private void TryDiscover()
    {
        foreach (var leader in _nodes.Where(n => n.Up && n.Role == PeerState.Leading))
        {
            var candidates = _nodes.Where(n => n.Up && n.Role == PeerState.Following && n.Leader == leader.Id && n.Follower is null && CanTalk(n, leader)).ToList();
            if (leader.Replication is null)
            {
                if (candidates.Count + 1 < Quorum)
                {
                    continue;
                }

                var leaderSummary = (leader.Disk.CurrentEpoch, leader.Core!.LastLoggedZxid);
                if (candidates.Any(c => (c.Disk.CurrentEpoch, c.Core!.LastLoggedZxid).CompareTo(leaderSummary) > 0))
                {
                    Log($"leader {leader.Id} abandoned: a follower is ahead");
                    StartLooking(leader);
                    continue;
                }

                var epoch = candidates.Append(leader).Max(n => n.Disk.AcceptedEpoch) + 1;
                foreach (var member in candidates.Append(leader))
                {
                    member.Disk.AcceptedEpoch = epoch;
                }

                leader.Disk.CurrentEpoch = epoch;
                leader.Epoch = epoch;
                leader.Replication = new LeaderReplication(leader.Core, _voters.Count, epoch, "", TickMs, (int)(SyncLimitMs / TickMs), NullLogger.Instance);
                leader.Replication.LostQuorum += reason =>
                {
                    Log($"leader {leader.Id} stopped: {reason}");
                    At(Now, () =>
                    {
                        if (leader.Up && leader.Replication is not null)
                        {
                            StartLooking(leader);
                        }
                    });
                };
                leader.NewLeaderAcks.Clear();
                leader.Serving = false;
                Log($"leader {leader.Id} proposes epoch {epoch} to {string.Join(",", candidates.Select(c => c.Id))}");
            }

            foreach (var follower in candidates)
            {
                StartSync(leader, follower);
            }
        }
    }

    private void StartSync(Node leader, Node follower)
    {
        follower.Disk.AcceptedEpoch = Math.Max(follower.Disk.AcceptedEpoch, leader.Epoch);
        var link = new SimLink(this, leader, follower);
        leader.Links.Add(link);
        follower.Links.Add(link);
        follower.Follower = new FollowerState(link, leader.Epoch) { LastHeard = Now };
        follower.Follower.Replication = new FollowerReplication(follower.Core!, link.ToLeader);
        follower.Core!.SetReplication(follower.Follower.Replication);
        link.ToFollower.LastHeardMillis = leader.Clock.MonotonicMillis;
        var kind = leader.Replication!.AddLearner(link.ToFollower, follower.Core.LastLoggedZxid);
        Syncs++;
        Log($"leader {leader.Id} syncs {follower.Id} (last 0x{follower.Core.LastLoggedZxid:x}) by {kind}");
        leader.Core!.EndBatch();
        Pump(link);
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
        if (link.Leader.Up && link.Leader.Replication is { } replication)
        {
            replication.RemoveLearner(link.ToFollower);
        }

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

    // ---- follower side (mirrors Follower) ----

    private void FollowerReceives(SimLink link, object item)
    {
        var node = link.Follower;
        var state = node.Follower!;
        var core = node.Core!;
        state.LastHeard = Now;
        if (item is byte[] snapshot)
        {
            var (tree, sessions) = SnapshotFile.DecodeBody(new SnapshotInput(new MemoryStream(snapshot, writable: false), "leader"));
            tree.LastProcessedZxid = state.SnapZxid;
            node.Log!.Drain();
            node.Disk.InstallSnapshot(snapshot, state.SnapZxid);
            core.ReplaceTree(tree, sessions);
            Finish(node, link);
            return;
        }

        var packet = (QuorumPacket)item;
        switch (packet.Type)
        {
            case PacketType.Diff:
                break;
            case PacketType.Snap:
                state.SnapZxid = packet.Zxid;
                break;
            case PacketType.Trunc:
                {
                    node.Log!.Drain();
                    node.Disk.TruncateAfter(packet.Zxid);
                    var (tree, sessions) = node.Disk.Recover();
                    core.ReplaceTree(tree, sessions);
                    break;
                }

            case PacketType.Proposal:
                {
                    var (header, txn) = TxnLogFormat.DecodeBody(packet.Data!);
                    core.AcceptProposal(header, txn, packet.Data!);
                    state.Replication!.Logged(header.Zxid);
                    break;
                }

            case PacketType.Commit:
                core.Commit(packet.Zxid);
                break;
            case PacketType.NewLeader:
                state.NewLeaderZxid = packet.Zxid;
                state.AwaitingDurable = core.LastLoggedZxid;
                TryAckNewLeader(node);
                break;
            case PacketType.UpToDate:
                core.TakeRole(state.Replication!, null, state.NewLeaderZxid);
                state.Serving = true;
                node.Election!.SetState(PeerState.Following);
                node.Election.UpdatePeerEpoch(state.Epoch);
                link.ToLeader.Send(new QuorumPacket(PacketType.Ack, Zxid.Make(state.Epoch, 0)));
                Log($"server {node.Id} follows {link.Leader.Id} in epoch {state.Epoch}");
                break;
            case PacketType.Ping:
                state.Replication!.OnPing(packet);
                break;
            case PacketType.Revalidate when packet.Data is { Length: >= 9 } data:
                core.OnRevalidated(BinaryPrimitives.ReadInt64BigEndian(data), data[8] != 0);
                break;
            case PacketType.Sync:
                core.OnSyncReply();
                break;
        }

        Finish(node, link);
    }

    /// <summary>NEWLEADER is acknowledged only once everything received before it is durable here.</summary>
    private void TryAckNewLeader(Node node)
    {
        if (node.Follower is not { AwaitingDurable: { } through } state || !node.Core!.IsDurableThrough(through))
        {
            return;
        }

        state.AwaitingDurable = null;
        node.Disk.CurrentEpoch = state.Epoch;
        state.Link.ToLeader.Send(new QuorumPacket(PacketType.Ack, state.NewLeaderZxid));
        state.Replication!.EnableAcks();
    }

    // ---- leader side (mirrors Leader) ----

    private void LeaderReceives(SimLink link, QuorumPacket packet)
    {
        var leader = link.Leader;
        if (leader.Replication is not { } replication)
        {
            return;
        }

        var learner = link.ToFollower;
        if (packet.Type == PacketType.Ack && !learner.IsSynced && packet.Zxid == Zxid.Make(leader.Epoch, 0))
        {
            learner.LastHeardMillis = leader.Clock.MonotonicMillis;
            learner.IsSynced = true;
            leader.NewLeaderAcks.Add(link.Follower.Id);
            if (leader.Serving)
            {
                learner.Send(new QuorumPacket(PacketType.UpToDate, -1));
            }
            else
            {
                TryStartServing(leader);
            }
        }
        else
        {
            replication.OnLearnerPacket(learner, packet);
        }

        Finish(leader, link);
    }

    private void TryStartServing(Node leader)
    {
        if (leader.Serving || leader.Replication is null || !leader.Core!.IsDurableThrough(leader.Core.LastLoggedZxid))
        {
            return;
        }

        if (leader.NewLeaderAcks.Count(_voters.Contains) + 1 < Quorum)
        {
            return;
        }

        leader.Core.TakeRole(leader.Replication, Zxid.Make(leader.Epoch, 1), Zxid.Make(leader.Epoch, 0));
        leader.Serving = true;
        leader.Election!.SetState(PeerState.Leading);
        leader.Election.UpdatePeerEpoch(leader.Epoch);
        Log($"leader {leader.Id} serves epoch {leader.Epoch}");
        foreach (var learner in leader.Replication.Learners.Where(l => l.IsSynced))
        {
            learner.Send(new QuorumPacket(PacketType.UpToDate, -1));
        }
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
        TryAckNewLeader(node);
        if (node.Role == PeerState.Leading)
        {
            TryStartServing(node);
        }

        Finish(node, null);
        DeliverClientReplies();
    }

    // ---- ticks, clients, faults ----

    private void Tick()
    {
        foreach (var node in _nodes.Where(n => n.Up))
        {
            node.Core!.Handle(TickMessage.Instance);
            if (node.Follower is { } state && Now - state.LastHeard > (state.Serving ? SyncLimitMs : InitLimitMs))
            {
                Log($"server {node.Id} heard nothing from leader {node.Leader}");
                StartLooking(node);
                continue;
            }

            Finish(node, null);
        }

        TryDiscover();
        DeliverClientReplies();
    }

    private void ClientStep()
    {
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
                client.Node.Core!.Handle(new ConnectMessage(client.Connection, new ConnectRequest(0, 0, 4000, 0, new byte[16], false)));
                Finish(client.Node, null);
                continue;
            }

            if (client.Connection.Handshake is not { SessionId: not 0 } || client.Pending.Count + client.RegisterOps.Count >= 4)
            {
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
            client.Pending[xid] = path;
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

                if (client.Pending.Remove(reply.Xid, out var path) && reply.Err == ErrorCode.Ok)
                {
                    _acknowledged[path] = reply.Zxid;
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
        switch (_random.Next(7))
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
        public long DecidedAt { get; set; }
        public int Rounds { get; set; }
        public long Epoch { get; set; }
        public bool Serving { get; set; }
        public LeaderReplication? Replication { get; set; }
        public FollowerState? Follower { get; set; }
        public HashSet<long> NewLeaderAcks { get; } = [];
        public List<SimLink> Links { get; } = [];
    }

    private sealed class FollowerState(SimLink link, long epoch)
    {
        public SimLink Link { get; } = link;
        public long Epoch { get; } = epoch;
        public FollowerReplication? Replication { get; set; }
        public long SnapZxid { get; set; }
        public long NewLeaderZxid { get; set; }
        public long? AwaitingDurable { get; set; }
        public bool Serving { get; set; }
        public long LastHeard { get; set; }
    }

    private sealed class SimLink(ZabSimulator simulator, Node leader, Node follower)
    {
        public Node Leader { get; } = leader;
        public Node Follower { get; } = follower;
        public PeerLink ToFollower { get; } = new(follower.Id, NullLogger.Instance) { IsVoter = simulator._voters.Contains(follower.Id) };
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
        public Dictionary<int, string> Pending { get; } = [];
        public Dictionary<int, (RegisterOp? Op, int Key)> RegisterOps { get; } = [];
        public Dictionary<int, int> LastSeenVersion { get; } = [];
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
            _lastCompletion = Math.Max(_lastCompletion, simulator.Now + 1 + simulator._random.Next(30));
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
