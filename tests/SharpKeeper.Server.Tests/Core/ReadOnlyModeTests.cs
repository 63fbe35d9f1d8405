using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Tests.Core;

/// <summary>
/// The core serving read-only clients while its server has no leader, as Apache's read-only server:
/// read-only clients only, local sessions, reads from the tree as it is, every change and sync
/// refused with NotReadOnly in the session's order, nothing logged, nothing of the quorum's expired.
/// </summary>
public sealed class ReadOnlyModeTests
{
    private readonly CoreHarness _harness = new();

    public ReadOnlyModeTests()
    {
        var writer = _harness.Connect();
        _harness.MustCreate(writer, "/data", "kept");
        _harness.Core.StepDown();
        Assert.True(_harness.Core.ServeReadOnly());
    }

    private FakeConnection ConnectReadOnly(bool readOnly = true)
    {
        var connection = new FakeConnection();
        _harness.Core.Handle(new ConnectMessage(connection, new ConnectRequest(0, 0, 10_000, 0, new byte[16], readOnly)));
        _harness.Core.EndBatch();
        return connection;
    }

    [Fact]
    public void OnlyAReadOnlyClientGetsASessionAndItIsToldTheServerIsReadOnly()
    {
        Assert.True(_harness.Core.IsReadOnly);
        Assert.False(_harness.Core.ServeReadOnly());
        var readWrite = ConnectReadOnly(readOnly: false);
        Assert.True(readWrite.IsClosed);
        var client = ConnectReadOnly();
        Assert.True(client.Handshake!.ReadOnly);
        Assert.Equal(1, _harness.Core.LocalSessions.Count);
    }

    [Fact]
    public void ReadsAreServedAndEveryChangeAndSyncIsRefusedWithNotReadOnlyWithoutLoggingAnything()
    {
        var logged = _harness.Log.Entries.Count;
        var client = ConnectReadOnly();
        var read = _harness.Call(client, OpCode.GetData, Req.Watch("/data"));
        Assert.Equal("kept", System.Text.Encoding.UTF8.GetString(((GetDataResponse)read.Body!).Data!));
        Assert.Equal(ErrorCode.NotReadOnly, _harness.Create(client, "/new").Err);
        Assert.Equal(ErrorCode.NotReadOnly, _harness.Create(client, "/eph", mode: CreateMode.Ephemeral).Err);
        Assert.Equal(ErrorCode.NotReadOnly, _harness.Call(client, OpCode.SetData, Req.SetData("/data", "x")).Err);
        Assert.Equal(ErrorCode.NotReadOnly, _harness.Call(client, OpCode.Delete, Req.Delete("/data")).Err);
        Assert.Equal(ErrorCode.NotReadOnly, _harness.Call(client, OpCode.Sync, Req.Watch("/data")).Err);
        var notReadOnly = _harness.Call(client, OpCode.Multi, ops: [new MultiOp(OpCode.Delete, Req.Delete("/data"))]);
        Assert.Equal(ErrorCode.NotReadOnly, notReadOnly.Err);
        Assert.Equal(_harness.Core.Tree.LastProcessedZxid, notReadOnly.Zxid);

        Assert.Equal(ErrorCode.Ok, _harness.Call(client, OpCode.CloseSession).Err);
        Assert.True(client.IsClosed);
        Assert.Equal(logged, _harness.Log.Entries.Count);
        Assert.NotNull(_harness.Core.Tree.GetNode("/data"));
    }

    [Fact]
    public void TheQuorumsSessionsAreNotExpiredHereAndLeavingReadOnlyDisconnectsItsClients()
    {
        var logged = _harness.Log.Entries.Count;
        var global = _harness.Core.Sessions.Sessions.Single().Id;
        var client = ConnectReadOnly();
        _harness.AdvanceAndTick(120_000);
        Assert.NotNull(_harness.Core.Sessions.Get(global));
        Assert.Equal(logged, _harness.Log.Entries.Count);

        // Local sessions expire here as anywhere: this one was idle for two minutes.
        Assert.True(client.IsClosed);
        var fresh = ConnectReadOnly();
        _harness.Core.StepDown();
        Assert.True(fresh.IsClosed);
        Assert.False(_harness.Core.IsReadOnly);
        Assert.Equal(0, _harness.Core.LocalSessions.Count);
    }
}
