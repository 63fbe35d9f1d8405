using System.Text;
using SharpKeeper.Server.Config;
using SharpKeeper.Server.Quorum.Sync;

namespace SharpKeeper.Server.Quorum.Reconfig;

/// <summary>Why a learner leaves its role after a membership change, and whom it follows next (null: an election decides).</summary>
public sealed record MembershipChange(string Reason, long? DesignatedLeader);

/// <summary>
/// A learner's part in reconfig, as Apache's learner does it with reconfigEnabled: a reconfig's
/// PROPOSAL and NEWLEADER's membership become the last seen membership; COMMITANDACTIVATE,
/// INFORMANDACTIVATE and UPTODATE make it the committed one. When that changes this server's role
/// or its leader, the learner leaves its role: to the designated leader at once, or (after
/// UPTODATE, which names none) to an election.
/// </summary>
public sealed class LearnerMembership(QuorumMembership membership, long myId, bool observer, long leaderId, bool multiAddressEnabled)
{
    private readonly Dictionary<long, QuorumVerifier> _proposed = [];
    private QuorumVerifier? _newLeaders;

    public void Proposed(DecodedTxn txn)
    {
        if (ReconfigTxn.MembershipOf(txn.Header, txn.Txn, multiAddressEnabled) is { } proposed)
        {
            membership.SetLastSeen(proposed);
            _proposed[txn.Header.Zxid] = proposed;
        }
    }

    /// <summary>NEWLEADER's data: the leader's last seen membership (Apache's learners of protocol 0x10000 and up get it).</summary>
    public void NewLeader(byte[]? data)
    {
        if (data is not { Length: > 1 })
        {
            return;
        }

        _newLeaders = QuorumVerifier.Parse(Encoding.UTF8.GetString(data), "NEWLEADER", multiAddressEnabled);
        membership.SetLastSeen(_newLeaders);
    }

    public MembershipChange? UpToDate() => _newLeaders is { } newLeaders ? Activate(newLeaders, null) : null;

    public MembershipChange? CommitAndActivate(long zxid, long designatedLeader) =>
        _proposed.Remove(zxid, out var proposed) ? Activate(proposed, designatedLeader) : null;

    public MembershipChange? InformAndActivate(DecodedTxn txn, long designatedLeader) =>
        ReconfigTxn.MembershipOf(txn.Header, txn.Txn, multiAddressEnabled) is { } informed ? Activate(informed, designatedLeader) : null;

    /// <summary>As Apache's processReconfig: a change of role or of leader ends the current role.</summary>
    private MembershipChange? Activate(QuorumVerifier next, long? designatedLeader)
    {
        var previous = membership.Activate(next);
        if (previous is null || previous.HasSameMembers(next))
        {
            return null;
        }

        var roleChanged = next.Members.TryGetValue(myId, out var me) && (me.Role == ServerRole.Observer) != observer;
        var leaderChanged = designatedLeader is { } designated
            ? designated != leaderId
            : !next.IsVoter(leaderId) || !previous.Members.TryGetValue(leaderId, out var before) || !before.HasSameQuorumAddresses(next.Members[leaderId]);
        if (!roleChanged && !leaderChanged)
        {
            return null;
        }

        var reason = roleChanged
            ? $"a reconfig made this server {(observer ? "a participant" : "an observer")}"
            : designatedLeader is { } leader ? $"a reconfig made server {leader} the leader" : $"a reconfig changed leader {leaderId}'s membership";
        return new MembershipChange(reason, designatedLeader);
    }
}
