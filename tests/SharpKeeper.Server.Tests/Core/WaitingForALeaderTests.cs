using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Tests.Core;

/// <summary>
/// A client that connects while its server has no leader gets no session (as in ZooKeeper), but its
/// connection waits up to a tick rather than closing at once: the election is usually over by then,
/// and the handshake completes without the client's sleep before a reconnect.
/// </summary>
public sealed class WaitingForALeaderTests
{
    private readonly CoreHarness _harness = new();

    public WaitingForALeaderTests() => _harness.Core.StepDown();

    [Fact]
    public void AConnectionThatArrivesWithoutALeaderIsAnsweredOnceTheServerServes()
    {
        var client = _harness.Connect();
        Assert.False(client.IsClosed);
        Assert.Null(client.Handshake);

        _harness.AdvanceAndTick(CoreHarness.DefaultOptions.TickTimeMs / 2);
        Assert.False(client.IsClosed);

        _harness.Core.TakeRole(new StandaloneReplication(_harness.Core), nextZxid: 0x1_0000_0001, epochStartZxid: 0x1_0000_0000);
        _harness.Sync(); // flushes the session's txn
        _harness.Sync(); // it is durable: the handshake is answered
        Assert.False(client.IsClosed);
        Assert.NotEqual(0, client.Handshake?.SessionId ?? 0);
    }

    [Fact]
    public void AConnectionThatWaitedATickIsClosedSoThatTheClientTriesAnotherServer()
    {
        var client = _harness.Connect();
        _harness.AdvanceAndTick(CoreHarness.DefaultOptions.TickTimeMs);
        Assert.True(client.IsClosed);
        Assert.Null(client.Handshake);
    }

    [Fact]
    public void AConnectionClosedByItsClientWhileWaitingIsForgotten()
    {
        var gone = _harness.Connect();
        gone.Close("client left");
        var staying = _harness.Connect();
        _harness.Core.TakeRole(new StandaloneReplication(_harness.Core), nextZxid: 0x1_0000_0001, epochStartZxid: 0x1_0000_0000);
        _harness.Sync(); // flushes the session's txn
        _harness.Sync(); // it is durable: the handshake is answered
        Assert.Null(gone.Handshake);
        Assert.NotNull(staying.Handshake);
    }

    [Fact]
    public void ReadOnlyServingRefusesTheWaitingClientsThatDidNotAskForIt()
    {
        var client = _harness.Connect();
        Assert.True(_harness.Core.ServeReadOnly());
        _harness.Sync();
        Assert.True(client.IsClosed);
        Assert.Null(client.Handshake);
    }
}
