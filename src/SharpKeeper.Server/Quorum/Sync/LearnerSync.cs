using System.Buffers.Binary;
using SharpKeeper.Protocol.Jute;

namespace SharpKeeper.Server.Quorum.Sync;

/// <summary>Where a learner is in its life with one leader.</summary>
public enum LearnerPhase
{
    /// <summary>FOLLOWERINFO sent; waiting for LEADERINFO.</summary>
    Registering,

    /// <summary>ACKEPOCH sent; waiting for DIFF, TRUNC or SNAP.</summary>
    AwaitingSync,

    /// <summary>The driver is reading and installing the leader's snapshot.</summary>
    ReceivingSnapshot,

    /// <summary>The driver is cutting the log back.</summary>
    Truncating,

    /// <summary>Taking the leader's txns; waiting for NEWLEADER.</summary>
    Syncing,

    /// <summary>NEWLEADER received; waiting for everything logged so far to be durable before acknowledging it.</summary>
    AwaitingDurable,

    /// <summary>NEWLEADER acknowledged; waiting for UPTODATE.</summary>
    AwaitingUpToDate,

    /// <summary>Serving clients in the leader's epoch.</summary>
    Serving,

    /// <summary>The role is over (<see cref="LearnerSync.FailureReason"/> says why).</summary>
    Failed,
}

/// <summary>What a learner starts its sync with: its identity, limits and what its disk holds.</summary>
public sealed record LearnerSyncStart(
    long MyId,
    bool Observer,
    long ConfigVersion,
    long InitLimitMs,
    long SyncLimitMs,
    long AcceptedEpoch,
    long CurrentEpoch,
    long LastLoggedZxid,
    long DurableZxid);

/// <summary>
/// A follower's or observer's side of ZAB discovery, synchronization and broadcast as a state
/// machine on the core thread: it takes the leader's packets, the local log's progress and time,
/// and hands back <see cref="SyncEffect"/>s. Its rules are the ones Apache ZooKeeper's learner-sync
/// bugs broke:
/// <list type="bullet">
/// <item>a proposal is logged as soon as it arrives, whether during sync or after (ZOOKEEPER-3911, 4394);</item>
/// <item>NEWLEADER is acknowledged only once everything received before it is durable (4646), and
/// currentEpoch is written after that and before the acknowledgement (4643);</item>
/// <item>no proposal is acknowledged, and no PING answered, before NEWLEADER is (4685): the leader
/// reads the learner's next packet as that acknowledgement;</item>
/// <item>a COMMIT of a txn never proposed to this learner ends the role rather than being skipped.</item>
/// </list>
/// </summary>
public sealed class LearnerSync
{
    private readonly LearnerSyncStart _start;
    private List<SyncEffect>? _effects;
    private readonly Queue<long> _unacknowledged = new();
    private long _acceptedEpoch;
    private long _lastLogged;
    private long _durable;
    private long _newLeaderZxid;
    private bool _acksEnabled;

    public LearnerSync(LearnerSyncStart start)
    {
        _start = start;
        _acceptedEpoch = start.AcceptedEpoch;
        _lastLogged = start.LastLoggedZxid;
        _durable = start.DurableZxid;
    }

    public LearnerPhase Phase { get; private set; } = LearnerPhase.Registering;

    /// <summary>The leader's epoch, once LEADERINFO named it.</summary>
    public long Epoch { get; private set; } = -1;

    /// <summary>Monotonic time by which the next packet (or, while awaiting durability, the log) must arrive.</summary>
    public long Deadline { get; private set; }

    /// <summary>The last txn handed to the log (logged or about to be).</summary>
    public long LastLogged => _lastLogged;

    public string? FailureReason { get; private set; }

    /// <summary>How the learner synchronized (DIFF, TRUNC or SNAP), once the leader said.</summary>
    public string? SyncKind { get; private set; }

    public bool IsServing => Phase == LearnerPhase.Serving;

    /// <summary>What the learner waits for, for a time-out's message.</summary>
    public string Awaiting => Describe(Phase);

    /// <summary>Registers with the leader: FOLLOWERINFO (or OBSERVERINFO) with this server's id and accepted epoch.</summary>
    public IReadOnlyList<SyncEffect> Start(long now)
    {
        Deadline = now + _start.InitLimitMs;
        using var info = new JuteWriter(32);
        info.WriteLong(_start.MyId);
        info.WriteInt(0x10000);
        info.WriteLong(_start.ConfigVersion);
        var type = _start.Observer ? PacketType.ObserverInfo : PacketType.FollowerInfo;
        Emit(new SendPacket(new QuorumPacket(type, Zxid.Make(_acceptedEpoch, 0), info.ToArray())));
        return Take();
    }

    /// <summary>A packet from the leader. <paramref name="txn"/> is the PROPOSAL's or INFORM's body, decoded off the core thread.</summary>
    public IReadOnlyList<SyncEffect> Receive(QuorumPacket packet, DecodedTxn? txn, long now)
    {
        if (Phase == LearnerPhase.Failed)
        {
            return Take();
        }

        // A packet that arrived is the leader alive, however late the core got to it: only Tick enforces deadlines.
        switch (Phase, packet.Type)
        {
            case (LearnerPhase.Registering, PacketType.LeaderInfo):
                OnLeaderInfo(packet, now);
                break;
            case (LearnerPhase.AwaitingSync, PacketType.Diff):
                SyncKind = "DIFF";
                Phase = LearnerPhase.Syncing;
                break;
            case (LearnerPhase.AwaitingSync, PacketType.Snap):
                SyncKind = "SNAP";
                Phase = LearnerPhase.ReceivingSnapshot;
                Emit(new ReceiveSnapshot(packet.Zxid));
                break;
            case (LearnerPhase.AwaitingSync, PacketType.Trunc):
                SyncKind = "TRUNC";
                Phase = LearnerPhase.Truncating;
                Emit(new TruncateLog(packet.Zxid));
                break;
            case (LearnerPhase.Syncing or LearnerPhase.AwaitingDurable or LearnerPhase.AwaitingUpToDate or LearnerPhase.Serving, PacketType.Proposal):
                OnProposal(txn ?? throw new InvalidDataException("PROPOSAL without a txn"));
                break;
            case (LearnerPhase.Syncing or LearnerPhase.AwaitingDurable or LearnerPhase.AwaitingUpToDate or LearnerPhase.Serving, PacketType.Commit):
                OnCommit(packet.Zxid);
                break;
            case (LearnerPhase.Syncing or LearnerPhase.AwaitingDurable or LearnerPhase.AwaitingUpToDate or LearnerPhase.Serving, PacketType.Inform) when _start.Observer:
                {
                    // An observer's txn: already committed by the quorum.
                    var informed = txn ?? throw new InvalidDataException("INFORM without a txn");
                    if (informed.Header.Zxid > _lastLogged)
                    {
                        _lastLogged = informed.Header.Zxid;
                        Emit(new LogTxn(informed.Header, informed.Txn, informed.Body));
                    }

                    Emit(new CommitThrough(informed.Header.Zxid));
                    break;
                }

            case (LearnerPhase.Syncing, PacketType.NewLeader):
                OnNewLeader(packet.Zxid, now);
                break;
            case (LearnerPhase.AwaitingUpToDate, PacketType.UpToDate):
                Phase = LearnerPhase.Serving;
                Emit(new StartFollowing(Epoch, _newLeaderZxid));
                Emit(new SendPacket(new QuorumPacket(PacketType.Ack, Zxid.Make(Epoch, 0))));
                break;
            case (LearnerPhase.AwaitingUpToDate or LearnerPhase.Serving, PacketType.Ping):
                Emit(new AnswerPing(packet));
                break;
            case (not LearnerPhase.Registering, PacketType.Ping):
                // As Apache's learner: no answer before NEWLEADER is acknowledged, since the leader
                // takes the learner's next packet for that acknowledgement.
                break;
            case (LearnerPhase.Serving, PacketType.Revalidate) when packet.Data is { Length: >= 9 } data:
                Emit(new SessionRevalidated(BinaryPrimitives.ReadInt64BigEndian(data), data[8] != 0));
                break;
            case (LearnerPhase.Serving, PacketType.Sync):
                Emit(SyncAnswered.Instance);
                break;
            case (LearnerPhase.Serving, _):
                Emit(new Warn($"Unexpected {packet} from the leader"));
                break;
            default:
                return Fail($"unexpected {packet} from the leader while {Describe(Phase)}");
        }

        if (Phase == LearnerPhase.Serving)
        {
            Deadline = now + _start.SyncLimitMs;
        }

        return Take();
    }

    /// <summary>The driver installed the leader's snapshot at <paramref name="zxid"/> and made it durable.</summary>
    public IReadOnlyList<SyncEffect> SnapshotInstalled(long zxid, long now) => ResumeSync(LearnerPhase.ReceivingSnapshot, "a snapshot was installed", zxid, now);

    /// <summary>The driver cut the log back; the tree it reloaded ends at <paramref name="lastZxid"/>, all of it durable.</summary>
    public IReadOnlyList<SyncEffect> Truncated(long lastZxid, long now) => ResumeSync(LearnerPhase.Truncating, "the log was truncated", lastZxid, now);

    /// <summary>The driver's SNAP or TRUNC is done: the history ends, durably, at <paramref name="zxid"/>; NEWLEADER is due within initLimit.</summary>
    private IReadOnlyList<SyncEffect> ResumeSync(LearnerPhase expected, string what, long zxid, long now)
    {
        if (Phase != expected)
        {
            return Fail($"{what} while {Describe(Phase)}");
        }

        _lastLogged = _durable = zxid;
        _unacknowledged.Clear();
        Phase = LearnerPhase.Syncing;
        Deadline = now + _start.InitLimitMs;
        return Take();
    }

    /// <summary>The local log is durable through <paramref name="zxid"/>.</summary>
    public IReadOnlyList<SyncEffect> Durable(long zxid, long now)
    {
        _durable = Math.Max(_durable, zxid);
        if (Phase == LearnerPhase.AwaitingDurable && _durable >= _lastLogged)
        {
            AcknowledgeNewLeader(now);
        }

        SendAcks();
        return Take();
    }

    /// <summary>Time passes: the role ends when the leader (or, awaiting NEWLEADER's acknowledgement, the disk) is overdue.</summary>
    public IReadOnlyList<SyncEffect> Tick(long now)
    {
        // While the driver reads a snapshot or cuts the log, its own reads and waits are bounded instead.
        var working = Phase is LearnerPhase.ReceivingSnapshot or LearnerPhase.Truncating or LearnerPhase.Failed;
        return !working && now > Deadline ? Fail(OverdueText()) : Take();
    }

    private void OnLeaderInfo(QuorumPacket packet, long now)
    {
        var newEpoch = Zxid.EpochOf(packet.Zxid);
        var answer = new byte[4];
        if (newEpoch > _acceptedEpoch)
        {
            Emit(new PersistEpoch(EpochFiles.Accepted, newEpoch));
            _acceptedEpoch = newEpoch;
            BinaryPrimitives.WriteInt32BigEndian(answer, (int)_start.CurrentEpoch);
        }
        else if (newEpoch == _acceptedEpoch)
        {
            // Already accepted this epoch once: the answer must not count as a second acceptance.
            BinaryPrimitives.WriteInt32BigEndian(answer, -1);
        }
        else
        {
            Abandon($"the leader's epoch {newEpoch} is older than the accepted epoch {_acceptedEpoch}");
            return;
        }

        Epoch = newEpoch;
        Phase = LearnerPhase.AwaitingSync;
        Deadline = now + _start.InitLimitMs;
        Emit(new SendPacket(new QuorumPacket(PacketType.AckEpoch, _lastLogged, answer)));
    }

    private void OnProposal(DecodedTxn txn)
    {
        var zxid = txn.Header.Zxid;
        if (zxid <= _lastLogged)
        {
            // A txn this learner already holds (a DIFF that overlaps what the snapshot had).
            return;
        }

        _lastLogged = zxid;
        Emit(new LogTxn(txn.Header, txn.Txn, txn.Body));
        if (!_start.Observer)
        {
            _unacknowledged.Enqueue(zxid);
            SendAcks();
        }
    }

    private void OnCommit(long zxid)
    {
        if (zxid > _lastLogged)
        {
            Abandon($"the leader committed 0x{zxid:x}, which it never proposed to this server (last logged 0x{_lastLogged:x})");
            return;
        }

        Emit(new CommitThrough(zxid));
    }

    private void OnNewLeader(long zxid, long now)
    {
        if (Zxid.EpochOf(zxid) != Epoch)
        {
            Abandon($"NEWLEADER for epoch {Zxid.EpochOf(zxid)} while syncing in epoch {Epoch}");
            return;
        }

        _newLeaderZxid = zxid;
        Phase = LearnerPhase.AwaitingDurable;
        Deadline = now + _start.InitLimitMs;
        if (_durable >= _lastLogged)
        {
            AcknowledgeNewLeader(now);
        }
    }

    /// <summary>Everything received before NEWLEADER is durable: only now is currentEpoch advanced and NEWLEADER acknowledged.</summary>
    private void AcknowledgeNewLeader(long now)
    {
        Emit(new PersistEpoch(EpochFiles.Current, Epoch));
        Emit(new SendPacket(new QuorumPacket(PacketType.Ack, _newLeaderZxid)));
        Phase = LearnerPhase.AwaitingUpToDate;
        Deadline = now + _start.InitLimitMs;
        _acksEnabled = !_start.Observer;
    }

    private void SendAcks()
    {
        if (!_acksEnabled)
        {
            return;
        }

        // One ACK per zxid, as Apache's leader counts them.
        while (_unacknowledged.Count > 0 && _unacknowledged.Peek() <= _durable)
        {
            Emit(new SendPacket(new QuorumPacket(PacketType.Ack, _unacknowledged.Dequeue())));
        }
    }

    private void Emit(SyncEffect effect) => (_effects ??= []).Add(effect);

    /// <summary>The effects of this call; a fresh list each time, so a driver may call in again while carrying them out.</summary>
    private IReadOnlyList<SyncEffect> Take()
    {
        IReadOnlyList<SyncEffect> effects = _effects ?? (IReadOnlyList<SyncEffect>)[];
        _effects = null;
        return effects;
    }

    private IReadOnlyList<SyncEffect> Fail(string reason)
    {
        Abandon(reason);
        return Take();
    }

    /// <summary>Ends the role: whatever else this step decided is dropped, and the driver is told why.</summary>
    private void Abandon(string reason)
    {
        _effects = null;
        FailureReason = reason;
        Phase = LearnerPhase.Failed;
        Emit(new AbandonRole(reason));
    }

    private string OverdueText() => Phase switch
    {
        LearnerPhase.AwaitingDurable => $"the log was not durable through 0x{_lastLogged:x} within initLimit ({_start.InitLimitMs} ms) to acknowledge NEWLEADER",
        LearnerPhase.Serving => $"nothing from the leader within syncLimit ({_start.SyncLimitMs} ms)",
        _ => $"nothing from the leader within initLimit ({_start.InitLimitMs} ms) while {Describe(Phase)}",
    };

    private static string Describe(LearnerPhase phase) => phase switch
    {
        LearnerPhase.Registering => "waiting for LEADERINFO",
        LearnerPhase.AwaitingSync => "waiting for DIFF, TRUNC or SNAP",
        LearnerPhase.ReceivingSnapshot => "receiving a snapshot",
        LearnerPhase.Truncating => "truncating the log",
        LearnerPhase.Syncing => "waiting for NEWLEADER",
        LearnerPhase.AwaitingDurable => "making the log durable to acknowledge NEWLEADER",
        LearnerPhase.AwaitingUpToDate => "waiting for UPTODATE",
        LearnerPhase.Serving => "serving",
        _ => "stopped",
    };
}
