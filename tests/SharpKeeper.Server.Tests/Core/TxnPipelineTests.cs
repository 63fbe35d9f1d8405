using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Data;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Tests.Core;

/// <summary>The txn pipeline on its own: append, group commit, durability, commit in order, and what a role change or a failed log does to it.</summary>
public sealed class TxnPipelineTests
{
    private readonly ManualLog _log = new();
    private readonly DataTree _tree = new();
    private readonly TxnPipeline _txns;

    public TxnPipelineTests()
    {
        _txns = new TxnPipeline(_log, _tree, new PendingChanges(_tree), commitLogCount: 10);
    }

    private PreparedTxn Create(string path)
    {
        var header = new TxnHeader(1, 0, _txns.TakeZxid(), 0, OpCode.Create);
        return new PreparedTxn(header, new CreateTxn(path, [], Acl.OpenAclUnsafe, false, 0), [path]);
    }

    [Fact]
    public void TxnsAreLoggedInZxidOrderAndFlushedOncePerBatch()
    {
        _txns.Append(Create("/a"), null, null, null);
        _txns.Append(Create("/b"), null, null, null);
        _txns.Flush();
        _txns.Flush();
        Assert.Equal([1L, 2L], _log.Entries.Select(e => e.Header.Zxid));
        Assert.Equal(1, _log.Flushes);
        Assert.Equal(2, _txns.Count);
        Assert.Equal(2, _txns.LastLoggedZxid);
    }

    [Fact]
    public void DurabilityIsWhatTheLogReportsAndReleasesItsWaiters()
    {
        _txns.Append(Create("/a"), null, null, null);
        _txns.Append(Create("/b"), null, null, null);
        var first = _txns.WaitDurableAsync(1);
        var both = _txns.WaitDurableAsync(2);
        Assert.False(_txns.IsDurableThrough(1));
        Assert.Equal(0, _txns.DurableThroughZxid);

        Assert.Equal(1, _txns.Synced(1));
        Assert.True(first.IsCompleted);
        Assert.False(both.IsCompleted);
        Assert.Equal(2, _txns.Synced(2));
        Assert.True(both.IsCompleted);
        Assert.True(_txns.WaitDurableAsync(2).IsCompleted);
    }

    [Fact]
    public void AnEpochStartPastTheLastLoggedTxnNeedsNoDiskToBeDurable()
    {
        _txns.Append(Create("/a"), null, null, null);
        _txns.Synced(1);
        _tree.LastProcessedZxid = 0x1_0000_0000;
        Assert.True(_txns.IsDurableThrough(0x1_0000_0000));
        Assert.True(_txns.WaitDurableAsync(0x1_0000_0000).IsCompleted);
        Assert.Equal(0x1_0000_0000, _txns.DurableThroughZxid);
    }

    [Fact]
    public void ACommitAppliesInOrderOnlyAsFarAsItReaches()
    {
        var connection = new FakeConnection();
        _txns.Append(Create("/a"), null, connection, null);
        _txns.Append(Create("/b"), null, null, null);
        Assert.True(_txns.TryApplyNext(1, out var applied, out var result));
        Assert.Same(connection, applied.Connection);
        Assert.Equal(ErrorCode.Ok, result.Err);
        Assert.NotNull(_tree.GetNode("/a"));
        Assert.False(_txns.TryApplyNext(1, out _, out _));
        Assert.Null(_tree.GetNode("/b"));
        Assert.Equal(2, _txns.LastOutstandingZxid);
    }

    [Fact]
    public void ALeaderSerializesEachTxnOnceForItsLogItsProposalAndItsHistory()
    {
        var proposer = new RecordingProposer();
        _txns.Append(Create("/a"), null, null, proposer);
        var (zxid, body) = Assert.Single(proposer.Proposals);
        Assert.Equal(1, zxid);
        Assert.True(_txns.TryApplyNext(1, out _, out _));
        Assert.Equal(1, _txns.Committed.LastZxid);
        Assert.Equal(1, _txns.Committed.Count);
        Assert.NotEmpty(body);
    }

    [Fact]
    public void ALearnerIgnoresAProposalItHasAlreadyLogged()
    {
        var header = new TxnHeader(1, 0, 5, 0, OpCode.Create);
        var txn = new CreateTxn("/p", [], Acl.OpenAclUnsafe, false, 0);
        Assert.True(_txns.AcceptProposal(header, txn, [1]));
        Assert.False(_txns.AcceptProposal(header, txn, [1]));
        Assert.False(_txns.AcceptProposal(header with { Zxid = 4 }, txn, [1]));
        Assert.Single(_log.Entries);
        Assert.Equal(5, _txns.LastLoggedZxid);
    }

    [Fact]
    public void AFailedLogAbandonsEveryTxnInFlightAndNamesTheConnectionsThatWaited()
    {
        var waiting = new FakeConnection();
        _txns.Append(Create("/a"), null, waiting, null);
        _txns.Append(Create("/b"), null, null, null);
        Assert.Equal([waiting], _txns.Abandon());
        Assert.Equal(0, _txns.Count);
        Assert.Null(_txns.LastOutstandingZxid);
    }

    [Fact]
    public void ANewTreeReplacesWhatWasInFlightAndIsDurableAsFarAsItGoes()
    {
        _txns.Append(Create("/a"), null, null, null);
        var received = new DataTree { LastProcessedZxid = 0x2_0000_0007 };
        _txns.Replace(received, new PendingChanges(received));
        Assert.Equal(0, _txns.Count);
        Assert.Equal(0x2_0000_0007, _txns.LastDurableZxid);
        Assert.Equal(0x2_0000_0007, _txns.LastLoggedZxid);
        Assert.Equal(0x2_0000_0007, _txns.Committed.Base);
    }

    private sealed class RecordingProposer : ITxnProposer
    {
        public List<(long Zxid, byte[] Body)> Proposals { get; } = [];

        public void Proposed(long zxid, byte[] body) => Proposals.Add((zxid, body));
    }
}
