using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Quorum.Sync;

/// <summary>
/// Brings a learner that registered with its last zxid up to date from this server's committed
/// state: the sync packets a leader, or a follower serving observers, sends before NEWLEADER.
/// Runs on the core thread, so nothing commits between the choice and the packets.
/// </summary>
public static class CatchUp
{
    /// <summary>
    /// The choice between DIFF, TRUNC and SNAP, in the order Apache's LearnerHandler makes it. The
    /// committed history (<see cref="ServerCore.Committed"/>) holds every txn after its base; this
    /// server's last zxid (<paramref name="lastCommitted"/>) may be past its newest txn, at an epoch start. A
    /// learner older than that history gets a DIFF from the txn log when <paramref name="fromLog"/>
    /// (read off this thread) reaches the history.
    /// </summary>
    public static string Send(PeerLink learner, long peer, long lastCommitted, ServerCore core, LoggedTxns? fromLog)
    {
        var history = core.Committed;
        if (peer == lastCommitted)
        {
            learner.Send(new QuorumPacket(PacketType.Diff, lastCommitted));
            return "DIFF (empty): it has every committed txn";
        }

        if (peer > lastCommitted)
        {
            learner.Send(new QuorumPacket(PacketType.Trunc, lastCommitted));
            return $"TRUNC to 0x{lastCommitted:x}: it logged txns no quorum committed";
        }

        if (peer < history.Base && fromLog is { } logged && logged.Through >= history.Base)
        {
            learner.Send(new QuorumPacket(PacketType.Diff, lastCommitted));
            foreach (var (zxid, data) in logged.Txns)
            {
                learner.Send(new QuorumPacket(PacketType.Proposal, zxid, data));
                learner.Send(new QuorumPacket(PacketType.Commit, zxid));
            }

            var fromMemory = SendHistory(learner, history, logged.Through);
            return $"DIFF from 0x{peer:x} ({logged.Txns.Count} txns, {logged.Bytes} bytes, from the txn log, {logged.Reason}; {fromMemory} from memory)";
        }

        if (peer < history.Base)
        {
            learner.Send(new QuorumPacket(PacketType.Snap, lastCommitted));
            learner.SendRaw(SnapshotTransfer.Serialize(core.Tree, core.SessionTimeouts()));
            return $"SNAP at 0x{lastCommitted:x}: its last zxid is older than the committed history in memory "
                + $"(after 0x{history.Base:x}, {history.Count} txns; commitLogCount {history.Capacity}), "
                + (fromLog is null ? "and the txn log cannot serve it" : "which moved on while the txn log was read");
        }

        // The learner has every txn up to its last zxid when that is in the history, is the history's
        // base, or starts an epoch (it synced with that epoch's leader and saw no txn of it). Otherwise
        // its newest txns were never committed: they are cut off back to the last zxid both share.
        string kind;
        var from = peer;
        if (peer == history.Base || Zxid.CounterOf(peer) == 0 || history.Contains(peer))
        {
            learner.Send(new QuorumPacket(PacketType.Diff, lastCommitted));
            kind = $"DIFF from 0x{peer:x}";
        }
        else
        {
            from = history.LastAtOrBelow(peer);
            learner.Send(new QuorumPacket(PacketType.Trunc, from));
            kind = $"TRUNC to 0x{from:x}, then DIFF: its txns after that were never committed";
        }

        return $"{kind} ({SendHistory(learner, history, from)} txns)";
    }

    /// <summary>Sends the history's txns after <paramref name="from"/>, each as PROPOSAL then COMMIT; returns how many.</summary>
    private static int SendHistory(PeerLink learner, CommittedLog history, long from)
    {
        var sent = 0;
        foreach (var (zxid, data) in history.After(from))
        {
            learner.Send(new QuorumPacket(PacketType.Proposal, zxid, data));
            learner.Send(new QuorumPacket(PacketType.Commit, zxid));
            sent++;
        }

        return sent;
    }

}
