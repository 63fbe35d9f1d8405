using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Processing;
using SharpKeeper.Server.Sessions;

namespace SharpKeeper.Server.Tests.Core;

/// <summary>
/// Local sessions (localSessionsEnabled) on a leader and on a learner, as Apache runs them: no txn
/// to create or close one, expiry here alone, no revalidation elsewhere, and an ephemeral create
/// that either upgrades the session to a global one first or is refused.
/// </summary>
public sealed class LocalSessionTests
{
    private static CoreHarness Leader(bool upgrading = true)
    {
        var harness = new CoreHarness(CoreHarness.DefaultOptions with { LocalSessionsEnabled = true, LocalSessionsUpgradingEnabled = upgrading });
        harness.Core.TakeRole(new CommitWhenDurable(harness.Core), nextZxid: 0x1_0000_0001, epochStartZxid: 0x1_0000_0000);
        return harness;
    }

    private static (CoreHarness Harness, RecordingLeader Leader) Learner(bool upgrading = true)
    {
        var harness = new CoreHarness(CoreHarness.DefaultOptions with { LocalSessionsEnabled = true, LocalSessionsUpgradingEnabled = upgrading });
        var leader = new RecordingLeader();
        harness.Core.TakeRole(leader, nextZxid: null, epochStartZxid: 0x1_0000_0000);
        return (harness, leader);
    }

    [Fact]
    public void ALeadersNewSessionIsLocalAnsweredAtOnceWithoutATxn()
    {
        var harness = Leader();
        var client = harness.BeginConnect(timeout: 8000);
        Assert.Equal(client.SessionId, client.Handshake!.SessionId);
        Assert.Empty(harness.Log.Entries);
        Assert.NotNull(harness.Core.LocalSessions.Get(client.SessionId));
        Assert.Null(harness.Core.Sessions.Get(client.SessionId));
        Assert.DoesNotContain(client.SessionId, harness.Core.SessionTimeouts().Keys);
    }

    [Fact]
    public void ALocalSessionWritesPersistentNodesAndClosesWithoutATxn()
    {
        var harness = Leader();
        var client = harness.BeginConnect();
        harness.MustCreate(client, "/p");
        Assert.Equal(client.SessionId, harness.Log.Entries.Single().Header.ClientId);

        var reply = harness.Call(client, OpCode.CloseSession);
        Assert.Equal(ErrorCode.Ok, reply.Err);
        Assert.True(client.IsClosed);
        Assert.Single(harness.Log.Entries);
        Assert.Equal(0, harness.Core.LocalSessions.Count);
    }

    [Fact]
    public void AnEphemeralFromALocalSessionIsRefusedWhenSessionsMayNotUpgrade()
    {
        var harness = Leader(upgrading: false);
        var client = harness.BeginConnect();
        Assert.Equal(ErrorCode.EphemeralOnLocalSession, harness.Create(client, "/e", mode: CreateMode.Ephemeral).Err);
        var multi = harness.Call(client, OpCode.Multi, ops: [new MultiOp(OpCode.Create, Req.Create("/m", mode: CreateMode.EphemeralSequential))]);
        Assert.Equal(ErrorCode.EphemeralOnLocalSession, multi.Err);
        Assert.Empty(harness.Log.Entries);
        Assert.Null(harness.Core.Tree.GetNode("/e"));
    }

    [Fact]
    public void AnEphemeralFromALocalSessionUpgradesItByACreateSessionTxnFirst()
    {
        var harness = Leader();
        var client = harness.BeginConnect(timeout: 8000);
        harness.MustCreate(client, "/e", mode: CreateMode.Ephemeral);
        Assert.Equal([OpCode.CreateSession, OpCode.Create2], harness.Log.Entries.Select(e => e.Header.Type));
        Assert.Equal(8000, ((CreateSessionTxn)harness.Log.Entries[0].Txn).Timeout);
        Assert.Equal(client.SessionId, harness.Core.Tree.GetNode("/e")!.EphemeralOwner);
        Assert.Null(harness.Core.LocalSessions.Get(client.SessionId));
        Assert.NotNull(harness.Core.Sessions.Get(client.SessionId));

        // Global now: closing it is a txn that takes its ephemeral with it.
        harness.Call(client, OpCode.CloseSession);
        Assert.Equal(OpCode.CloseSession, harness.Log.Entries[^1].Header.Type);
        Assert.Null(harness.Core.Tree.GetNode("/e"));
    }

    [Fact]
    public void ALocalSessionExpiresHereWithoutATxn()
    {
        var harness = Leader();
        var client = harness.BeginConnect(timeout: 4000);
        harness.AdvanceAndTick(10_000);
        Assert.True(client.IsClosed);
        Assert.Empty(harness.Log.Entries);
        Assert.Equal(0, harness.Core.LocalSessions.Count);
    }

    [Fact]
    public void ALeadersLocalSessionCannotBeRevalidatedFromAnotherServer()
    {
        var harness = Leader();
        var client = harness.BeginConnect();
        Assert.False(harness.Core.RevalidateSession(client.SessionId, 10_000));
    }

    [Fact]
    public void ALearnersLocalSessionNeedsNoLeaderUntilItsFirstEphemeral()
    {
        var (harness, leader) = Learner();
        var client = harness.BeginConnect(timeout: 6000);
        Assert.NotNull(client.Handshake);
        Assert.Empty(leader.Forwarded);

        harness.Send(client, OpCode.GetData, Req.Watch("/"));
        Assert.Empty(harness.Core.TakeTouchedSessions());

        harness.Send(client, OpCode.Create2, Req.Create("/e", mode: CreateMode.Ephemeral));
        Assert.Equal([(OpCode.CreateSession, client.SessionId), (OpCode.Create2, client.SessionId)], leader.Forwarded.Select(f => (f.Request.Type, f.SessionId)));
        Assert.Equal(6000, leader.Forwarded[0].Request.CreateTimeout);
        Assert.Contains(harness.Core.TakeTouchedSessions(), t => t.SessionId == client.SessionId);
    }

    [Fact]
    public void ALearnerClosesALocalSessionItselfAfterTheSessionsEarlierWrites()
    {
        var (harness, leader) = Learner();
        var client = harness.BeginConnect();
        var create = harness.Send(client, OpCode.Create2, Req.Create("/p"));
        var close = harness.Send(client, OpCode.CloseSession);
        Assert.Single(leader.Forwarded);
        Assert.False(client.HasReplyTo(close));

        // The leader's proposal and commit of the create arrive; the close is answered after it.
        var header = new TxnHeader(client.SessionId, create, 0x1_0000_0001, 0, OpCode.Create2);
        harness.Core.AcceptProposal(header, new CreateTxn("/p", [], Acl.OpenAclUnsafe, false, 1), [1]);
        harness.Core.Commit(0x1_0000_0001);
        harness.Core.EndBatch();
        var replies = client.Replies.Select(r => r.Xid).ToList();
        Assert.Equal([create, close], replies);
        Assert.True(client.IsClosed);
        Assert.Single(leader.Forwarded);
    }

    [Fact]
    public void AStandaloneServerHasOnlyGlobalSessions()
    {
        var harness = new CoreHarness(CoreHarness.DefaultOptions with { LocalSessionsEnabled = true });
        var client = harness.Connect();
        Assert.NotNull(harness.Core.Sessions.Get(client.SessionId));
        Assert.Equal(OpCode.CreateSession, harness.Log.Entries.Single().Header.Type);
    }

    /// <summary>A leader whose quorum is itself: what it logs commits once durable.</summary>
    private sealed class CommitWhenDurable(ServerCore core) : IReplication, ITxnProposer
    {
        public void LocallyDurable(long zxid) => core.Commit(zxid);

        public void OnTick(long now)
        {
        }

        public void Proposed(long zxid, byte[] body)
        {
        }
    }

    private sealed class RecordingLeader : IReplication, IWriteForwarder
    {
        public List<(ClientRequest Request, long SessionId)> Forwarded { get; } = [];

        public void LocallyDurable(long zxid)
        {
        }

        public void OnTick(long now)
        {
        }

        public void Forward(ClientRequest request, long sessionId) => Forwarded.Add((request, sessionId));

        public void Revalidate(long sessionId, int timeout)
        {
        }
    }
}
