using System.Buffers.Binary;
using System.Text;
using Microsoft.Extensions.Logging;
using SharpKeeper.Protocol;
using SharpKeeper.Server.Processing;
using SharpKeeper.Server.Quorum.Reconfig;

namespace SharpKeeper.Server.Quorum;

/// <summary>
/// A follower serving observers (observerMasterPort), on the core thread: it brings each observer
/// up to date from this server's committed state, relays every txn this server applies as INFORM
/// (INFORMANDACTIVATE for a reconfig), pings the observers, and passes their requests,
/// revalidations, syncs and session activity on to the leader as its own.
/// </summary>
public sealed class ObserverRelay
{
    private readonly ServerCore _core;
    private readonly FollowerReplication _follower;
    private readonly QuorumMembership _membership;
    private readonly long _epoch;
    private readonly int _tickTimeMs;
    private readonly ILogger _logger;
    private readonly List<PeerLink> _observers = [];
    private readonly Dictionary<long, long> _activations = [];
    private readonly Queue<(long SessionId, int Timeout, PeerLink Observer)> _revalidations = new();
    private long _lastRelayed;
    private long _nextPing;

    public ObserverRelay(ServerCore core, FollowerReplication follower, QuorumMembership membership, long epoch, int tickTimeMs, ILogger logger)
    {
        _core = core;
        _follower = follower;
        _membership = membership;
        _epoch = epoch;
        _tickTimeMs = tickTimeMs;
        _logger = logger;
        _lastRelayed = core.Tree.LastProcessedZxid;
        core.TxnApplied = OnApplied;
        follower.Relay = this;
    }

    public bool IsClosed { get; private set; }

    /// <summary>Observers synchronized and receiving txns.</summary>
    public IReadOnlyList<PeerLink> Observers => _observers;

    /// <summary>The epoch observers are told in LEADERINFO and NEWLEADER: the leader's, which this server follows.</summary>
    public long Epoch => _epoch;

    /// <summary>
    /// Sends the observer what it lacks (DIFF, TRUNC or SNAP) and NEWLEADER, and from then on every
    /// txn applied here: all in one step on the core thread, so none falls between the two.
    /// </summary>
    public string Attach(PeerLink observer, long peerLastZxid, LoggedTxns? fromLog)
    {
        if (IsClosed)
        {
            throw new QuorumException("this server stopped serving observers");
        }

        var kind = Sync.CatchUp.Send(observer, peerLastZxid, _core.Tree.LastProcessedZxid, _core, fromLog);
        observer.Send(new QuorumPacket(PacketType.NewLeader, Zxid.Make(_epoch, 0), Encoding.UTF8.GetBytes(_membership.LastSeen.Text)));
        observer.IsSynced = true;
        _observers.Add(observer);
        return kind;
    }

    public void Detach(PeerLink observer)
    {
        _observers.Remove(observer);
        observer.Close();
    }

    /// <summary>The next COMMITANDACTIVATE: observers hear of that txn by INFORMANDACTIVATE naming the same leader.</summary>
    public void Activating(long zxid, long designatedLeader) => _activations[zxid] = designatedLeader;

    private void OnApplied(long zxid, byte[] body)
    {
        if (IsClosed)
        {
            return;
        }

        var packet = _activations.Remove(zxid, out var designated)
            ? new QuorumPacket(PacketType.InformAndActivate, zxid, WithLeader(designated, body))
            : new QuorumPacket(PacketType.Inform, zxid, body);
        _lastRelayed = zxid;
        foreach (var observer in _observers)
        {
            observer.Send(packet);
        }
    }

    private static byte[] WithLeader(long leader, byte[] body)
    {
        var data = new byte[8 + body.Length];
        BinaryPrimitives.WriteInt64BigEndian(data, leader);
        body.CopyTo(data, 8);
        return data;
    }

    /// <summary>Pings every observer each half tick, as a leader does; an observer that stops answering is dropped by its connection's read deadline.</summary>
    public void OnTick(long now)
    {
        if (IsClosed || now < _nextPing)
        {
            return;
        }

        _nextPing = now + Math.Max(1, _tickTimeMs / 2);
        _observers.RemoveAll(o => o.IsClosed);
        var ping = new QuorumPacket(PacketType.Ping, _lastRelayed);
        foreach (var observer in _observers)
        {
            observer.Send(ping);
        }
    }

    /// <summary>A packet from a synchronized observer: PING (its sessions' activity), REVALIDATE, REQUEST or ACK.</summary>
    public void OnObserverPacket(PeerLink observer, QuorumPacket packet)
    {
        if (IsClosed)
        {
            return;
        }

        switch (packet.Type)
        {
            case PacketType.Ping:
                var data = packet.Data ?? [];
                for (var offset = 0; offset + 12 <= data.Length; offset += 12)
                {
                    _core.TouchForLearner(BinaryPrimitives.ReadInt64BigEndian(data.AsSpan(offset)), BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(offset + 8)));
                }

                break;
            case PacketType.Revalidate when packet.Data is { Length: >= 12 } revalidate:
                _revalidations.Enqueue((BinaryPrimitives.ReadInt64BigEndian(revalidate), BinaryPrimitives.ReadInt32BigEndian(revalidate.AsSpan(8)), observer));
                _follower.Leader.Send(packet);
                break;
            case PacketType.Request when packet.Data is { Length: >= 16 } request:
                if ((OpCode)BinaryPrimitives.ReadInt32BigEndian(request.AsSpan(12)) == OpCode.Sync)
                {
                    // The leader answers syncs in order; this one is the observer's, not a client's here.
                    _core.RelaySync(() => observer.Send(new QuorumPacket(PacketType.Sync, 0)));
                }

                _follower.Leader.Send(packet);
                break;
            case PacketType.Ack:
                // After UPTODATE an observer acknowledges it; observers acknowledge nothing else.
                break;
            default:
                _logger.LogWarning("Unexpected {Packet} from observer {Sid}", packet, observer.Sid);
                break;
        }
    }

    /// <summary>The leader's answer to a REVALIDATE: the observer's when it is the oldest one waiting; false when it is this server's own.</summary>
    public bool TryAnswerRevalidation(QuorumPacket answer)
    {
        if (answer.Data is not { Length: >= 9 } data || !_revalidations.TryPeek(out var waiting) || waiting.SessionId != BinaryPrimitives.ReadInt64BigEndian(data))
        {
            return false;
        }

        _revalidations.Dequeue();
        waiting.Observer.Send(answer);
        if (data[8] != 0)
        {
            _core.TouchForLearner(waiting.SessionId, waiting.Timeout);
        }

        return true;
    }

    /// <summary>The follower stopped following (or stopped serving observers): every observer connection ends.</summary>
    public void Close()
    {
        if (IsClosed)
        {
            return;
        }

        IsClosed = true;
        if (_core.TxnApplied == OnApplied)
        {
            _core.TxnApplied = null;
        }

        if (_follower.Relay == this)
        {
            _follower.Relay = null;
        }

        foreach (var observer in _observers)
        {
            observer.Close();
        }

        _observers.Clear();
    }
}
