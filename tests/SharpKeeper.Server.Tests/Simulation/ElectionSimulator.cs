using SharpKeeper.Server.Quorum;
using SharpKeeper.Server.Quorum.Election;

namespace SharpKeeper.Server.Tests.Simulation;

/// <summary>
/// A seeded, single-threaded simulation of an ensemble's elections: the real
/// <see cref="ElectionParticipant"/> of every server, over a network that delays, reorders, drops
/// and partitions messages, with servers crashing and restarting. ZAB's discovery and broadcast are
/// modelled (a leader is established once a quorum follows it within initLimit; the established
/// leader commits txns on a quorum), so the election is checked for what ZAB needs from it:
/// every established leader holds every committed txn, one leader per epoch, and after the faults
/// heal every server settles on one established leader.
/// </summary>
public sealed class ElectionSimulator
{
    public const long InitLimitMs = 5000;
    public const long SyncLimitMs = 2500;
    public const long TickMs = 500;

    private readonly Random _random;
    private readonly EventQueue _time = new();
    private readonly Server[] _servers;
    private readonly HashSet<long> _voters;
    private readonly Dictionary<long, long> _leaderOfEpoch = [];
    private long _maxCommitted;
    private HashSet<long>? _partition;
    private double _dropRate;
    private int _maxDelayMs;

    public ElectionSimulator(int seed, int size)
    {
        _random = new Random(seed);
        _voters = [.. Enumerable.Range(1, size).Select(i => (long)i)];
        _servers = [.. _voters.Select(id => new Server(id))];
        _dropRate = _random.NextDouble() * 0.2;
        _maxDelayMs = 1 + _random.Next(100);
    }

    public long Now => _time.Now;

    public int FaultEvents { get; private set; }

    public int Establishments { get; private set; }

    public int MessagesDelivered { get; private set; }

    public List<string> Trace { get; } = [];

    private int Quorum => _voters.Count / 2 + 1;

    private Server Get(long id) => _servers[id - 1];

    /// <summary>Runs a fault phase, then heals everything and checks that the ensemble settles. Throws on any violation.</summary>
    public void Run(long faultPhaseMs = 20_000, long settlePhaseMs = 40_000)
    {
        foreach (var server in _servers)
        {
            Boot(server);
        }

        for (var t = _random.Next(300, 1500); t < faultPhaseMs; t += _random.Next(300, 1500))
        {
            At(t, InjectFault);
        }

        for (var t = TickMs; t < faultPhaseMs + settlePhaseMs; t += TickMs)
        {
            At(t, Tick);
        }

        At(faultPhaseMs, Heal);
        RunUntil(faultPhaseMs + settlePhaseMs);
        CheckSettled();
    }

    private void At(long time, Action action) => _time.At(time, action);

    private void RunUntil(long end) => _time.RunUntil(end);

    private void Log(string text)
    {
        Trace.Add($"{Now,7} {text}");
        if (Trace.Count > 400)
        {
            Trace.RemoveAt(0);
        }
    }

    // ---- servers ----

    private void Boot(Server server)
    {
        server.Up = true;
        server.Participant = new ElectionParticipant(server.Id, _voters, "");
        server.Role = Role.Looking;
        StartLooking(server);
    }

    private void StartLooking(Server server)
    {
        server.Role = Role.Looking;
        server.Leader = 0;
        server.Established = false;
        server.Participant!.SetState(PeerState.Looking);
        Send(server, server.Participant.StartLooking(server.LastZxid, server.CurrentEpoch, Now));
        ScheduleTimer(server);
    }

    private void Step(Server server, List<(long To, Notification Message)> outgoing)
    {
        Send(server, outgoing);
        if (server.Participant!.TakeDecision() is { } decision)
        {
            OnDecided(server, decision);
        }

        ScheduleTimer(server);
    }

    private void ScheduleTimer(Server server)
    {
        if (!server.Participant!.IsLooking)
        {
            return;
        }

        var at = Math.Max(Now + 1, server.Participant.NextDeadline);
        var incarnation = server.Incarnation;
        Schedule(at, () =>
        {
            if (server.Up && server.Incarnation == incarnation && server.Participant.IsLooking)
            {
                Step(server, server.Participant.OnTimer(Now));
            }
        });
    }

    private void Schedule(long time, Action action) => At(time, action);

    private void OnDecided(Server server, Vote decision)
    {
        server.DecidedAt = Now;
        server.Leader = decision.Leader;
        server.LeaderIncarnation = Get(decision.Leader).Incarnation;
        server.Role = decision.Leader == server.Id ? Role.Leading : Role.Following;
        var decisionNumber = ++server.Decisions;
        Log($"server {server.Id} decided: {decision.Leader} leads (round {decision.ElectionEpoch})");
        if (!server.Participant!.JoinedEstablishedLeader)
        {
            // Decided by this round's votes: the leader's history is at least as new as this server's.
            if ((decision.PeerEpoch, decision.Zxid).CompareTo((server.CurrentEpoch, server.LastZxid)) < 0)
            {
                throw new InvalidOperationException(
                    $"server {server.Id} (epoch {server.CurrentEpoch}, zxid 0x{server.LastZxid:x}) elected {decision.Leader} "
                    + $"on an older vote (epoch {decision.PeerEpoch}, zxid 0x{decision.Zxid:x})");
            }
        }

        if (server.Role == Role.Leading)
        {
            // Discovery: a quorum must follow within initLimit, else the leader gives up.
            TryEstablish(server);
            Schedule(Now + InitLimitMs, () => GiveUpLeading(server, decisionNumber));
            return;
        }

        var leader = Get(decision.Leader);
        if (leader.Up && leader.Role == Role.Leading && leader.Established && CanTalk(server, leader))
        {
            Join(server, leader);
            return;
        }

        if (leader.Up && leader.Role == Role.Leading)
        {
            TryEstablish(leader);
            if (server.Established)
            {
                return;
            }
        }

        // A follower that cannot complete synchronization within initLimit looks again.
        Schedule(Now + InitLimitMs, () =>
        {
            if (server.Up && server.Decisions == decisionNumber && !server.Established)
            {
                Log($"server {server.Id} gave up waiting for leader {server.Leader}");
                StartLooking(server);
            }
        });
    }

    private void GiveUpLeading(Server leader, int decisionNumber)
    {
        if (leader.Up && leader.Decisions == decisionNumber && leader.Role == Role.Leading && !leader.Established)
        {
            Log($"leader {leader.Id} gave up: no quorum followed within initLimit");
            StartLooking(leader);
        }
    }

    /// <summary>Establishes a leader as soon as a quorum (itself included) follows it and can reach it.</summary>
    private void TryEstablish(Server leader)
    {
        if (leader.Established)
        {
            return;
        }

        var followers = _servers.Where(s => s.Up && s.Role == Role.Following && s.Leader == leader.Id && s.LeaderIncarnation == leader.Incarnation
            && !s.Established && CanTalk(s, leader)).ToList();
        if (followers.Count + 1 < Quorum)
        {
            return;
        }

        // As LeaderDiscovery: a follower ahead of the leader makes it abandon the epoch.
        if (followers.FirstOrDefault(f => (f.CurrentEpoch, f.LastZxid).CompareTo((leader.CurrentEpoch, leader.LastZxid)) > 0) is { } ahead)
        {
            Log($"leader {leader.Id} abandoned: follower {ahead.Id} is ahead");
            StartLooking(leader);
            return;
        }

        var epoch = followers.Append(leader).Max(s => s.AcceptedEpoch) + 1;
        if (_leaderOfEpoch.TryGetValue(epoch, out var other) && other != leader.Id)
        {
            throw new InvalidOperationException($"two leaders in epoch {epoch}: {other} and {leader.Id}");
        }

        if (leader.LastZxid < _maxCommitted)
        {
            throw new InvalidOperationException(
                $"leader {leader.Id} of epoch {epoch} lacks committed txns: its last zxid 0x{leader.LastZxid:x} < committed 0x{_maxCommitted:x}");
        }

        _leaderOfEpoch[epoch] = leader.Id;
        Establishments++;
        Log($"leader {leader.Id} established epoch {epoch} with followers {string.Join(",", followers.Select(f => f.Id))}");
        foreach (var member in followers.Append(leader))
        {
            member.AcceptedEpoch = epoch;
            member.CurrentEpoch = epoch;
            member.LastZxid = leader.LastZxid;
            member.Established = true;
            member.Participant!.SetState(member == leader ? PeerState.Leading : PeerState.Following);
            member.Participant.UpdatePeerEpoch(epoch);
            member.LastHeard = Now;
        }

        leader.Counter = 0;
    }

    /// <summary>A server that decided for an established leader synchronizes with it (DIFF, TRUNC or SNAP).</summary>
    private void Join(Server follower, Server leader)
    {
        follower.LeaderIncarnation = leader.Incarnation;
        follower.AcceptedEpoch = leader.CurrentEpoch;
        follower.CurrentEpoch = leader.CurrentEpoch;
        follower.LastZxid = leader.LastZxid;
        follower.Established = true;
        follower.LastHeard = Now;
        follower.Participant!.SetState(PeerState.Following);
        follower.Participant.UpdatePeerEpoch(leader.CurrentEpoch);
        Log($"server {follower.Id} joined leader {leader.Id} in epoch {leader.CurrentEpoch}");
    }

    private void Tick()
    {
        foreach (var leader in _servers.Where(s => s.Up && s.Role == Role.Leading && s.Established))
        {
            var followers = _servers.Where(s => s.Up && s.Established && s.Role == Role.Following && s.Leader == leader.Id
                && s.LeaderIncarnation == leader.Incarnation && s.CurrentEpoch == leader.CurrentEpoch && CanTalk(s, leader)).ToList();
            foreach (var follower in followers)
            {
                follower.LastHeard = Now;
            }

            if (followers.Count + 1 < Quorum)
            {
                if (Now - leader.LastQuorum > SyncLimitMs)
                {
                    Log($"leader {leader.Id} lost its quorum");
                    StartLooking(leader);
                }

                continue;
            }

            leader.LastQuorum = Now;

            // Broadcast: a txn committed on the leader and a random quorum; sometimes one proposed on the leader alone.
            var zxid = Zxid.Make(leader.CurrentEpoch, ++leader.Counter);
            leader.LastZxid = zxid;
            if (_random.Next(5) > 0)
            {
                foreach (var follower in followers.OrderBy(_ => _random.Next()).Take(Quorum - 1))
                {
                    follower.LastZxid = zxid;
                }

                _maxCommitted = Math.Max(_maxCommitted, zxid);
            }
        }

        foreach (var follower in _servers.Where(s => s.Up && s.Established && s.Role == Role.Following))
        {
            var leader = Get(follower.Leader);
            if (!leader.Up || leader.Incarnation != follower.LeaderIncarnation || leader.Role != Role.Leading)
            {
                // The connection to a crashed or demoted leader breaks at once.
                Log($"server {follower.Id} lost its connection to leader {follower.Leader}");
                StartLooking(follower);
                continue;
            }

            if (Now - follower.LastHeard > SyncLimitMs)
            {
                Log($"server {follower.Id} lost leader {follower.Leader}");
                StartLooking(follower);
            }
        }
    }

    // ---- network ----

    private bool CanTalk(Server a, Server b) => _partition is null || _partition.Contains(a.Id) == _partition.Contains(b.Id);

    private void Send(Server from, List<(long To, Notification Message)> outgoing)
    {
        foreach (var (to, message) in outgoing)
        {
            var target = Get(to);
            if (to == from.Id)
            {
                Deliver(from.Id, target, message, target.Incarnation, Now);
                continue;
            }

            if (!target.Up || !CanTalk(from, target) || _random.NextDouble() < _dropRate)
            {
                continue;
            }

            var incarnation = target.Incarnation;
            Schedule(Now + 1 + _random.Next(_maxDelayMs), () => Deliver(from.Id, target, message, incarnation, Now));
        }
    }

    private void Deliver(long from, Server target, Notification message, int incarnation, long now)
    {
        if (!target.Up || target.Incarnation != incarnation || (from != target.Id && !CanTalk(Get(from), target)))
        {
            return;
        }

        MessagesDelivered++;
        Step(target, target.Participant!.OnNotification(from, message, now));
    }

    // ---- faults ----

    private void InjectFault()
    {
        FaultEvents++;
        var down = _servers.Where(s => !s.Up).ToList();
        var up = _servers.Where(s => s.Up).ToList();
        switch (_random.Next(6))
        {
            case 0 when up.Count > 0:
                // The established leader, when there is one: the fault that matters most.
                Crash(up.FirstOrDefault(s => s.Role == Role.Leading && s.Established) ?? up[_random.Next(up.Count)]);
                break;
            case 1 when up.Count > 0:
                Crash(up[_random.Next(up.Count)]);
                break;
            case 2 or 3 when down.Count > 0:
                Restart(down[_random.Next(down.Count)]);
                break;
            case 4:
                _partition = [.. _servers.Where(_ => _random.Next(2) == 0).Select(s => s.Id)];
                Log($"partition: {{{string.Join(",", _partition)}}} | rest");
                break;
            default:
                _partition = null;
                _dropRate = _random.NextDouble() * 0.3;
                _maxDelayMs = 1 + _random.Next(200);
                Log($"partition healed; drop rate {_dropRate:F2}, delay up to {_maxDelayMs} ms");
                break;
        }
    }

    private void Crash(Server server)
    {
        server.Up = false;
        server.Incarnation++;
        server.Established = false;
        server.Role = Role.Looking;
        Log($"server {server.Id} crashed (last zxid 0x{server.LastZxid:x})");
    }

    private void Restart(Server server)
    {
        server.Incarnation++;
        Log($"server {server.Id} restarted");
        Boot(server);
    }

    private void Heal()
    {
        _partition = null;
        _dropRate = 0;
        _maxDelayMs = 20;
        Log("all faults healed");
        foreach (var server in _servers.Where(s => !s.Up))
        {
            Restart(server);
        }
    }

    private void CheckSettled()
    {
        var leaders = _servers.Where(s => s.Role == Role.Leading && s.Established).ToList();
        if (leaders.Count != 1 || _servers.Any(s => !s.Up || !s.Established || s.Leader != leaders[0].Id))
        {
            throw new InvalidOperationException(
                "the ensemble did not settle on one leader after healing: "
                + string.Join("; ", _servers.Select(s => $"{s.Id}: {(s.Up ? s.Role.ToString() : "down")} leader {s.Leader} established {s.Established}")));
        }
    }

    private enum Role
    {
        Looking,
        Leading,
        Following,
    }

    private sealed class Server(long id)
    {
        public long Id { get; } = id;
        public bool Up { get; set; }
        public int Incarnation { get; set; }
        public ElectionParticipant? Participant { get; set; }
        public Role Role { get; set; }
        public long Leader { get; set; }
        public int LeaderIncarnation { get; set; }
        public bool Established { get; set; }
        public int Decisions { get; set; }
        public long DecidedAt { get; set; }
        public long LastHeard { get; set; }
        public long LastQuorum { get; set; }
        public long LastZxid { get; set; }
        public long CurrentEpoch { get; set; }
        public long AcceptedEpoch { get; set; }
        public long Counter { get; set; }
    }
}
