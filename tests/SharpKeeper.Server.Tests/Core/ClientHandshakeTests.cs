using Microsoft.Extensions.Logging.Abstractions;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Processing;
using SharpKeeper.Server.Sessions;

namespace SharpKeeper.Server.Tests.Core;

/// <summary>The handshake on its own, against a host whose state each test sets: who gets a session, who is refused, and who decides.</summary>
public sealed class ClientHandshakeTests
{
    private readonly FakeHost _host = new();
    private readonly SessionHost _sessions = new();
    private readonly ManualClock _clock = new();
    private readonly SessionTracker _tracker;
    private readonly ClientHandshake _handshake;

    public ClientHandshakeTests()
    {
        _tracker = new SessionTracker(CoreHarness.DefaultOptions.TickTimeMs, 1, _clock.WallMillis);
        _handshake = new ClientHandshake(_host, _sessions, _tracker, CoreHarness.DefaultOptions, _clock, NullLogger.Instance);
    }

    private static ConnectRequest Request(long sessionId = 0, long lastZxidSeen = 0, int timeout = 10_000, byte[]? password = null) =>
        new(0, lastZxidSeen, timeout, sessionId, password ?? new byte[16], false);

    [Fact]
    public void AServerWithoutALeaderClosesTheConnectionWithoutAnAnswerAfterATick()
    {
        _host.IsServing = false;
        var connection = new FakeConnection();
        _handshake.Connect(connection, Request());
        _handshake.Tick(_clock.MonotonicMillis + CoreHarness.DefaultOptions.TickTimeMs - 1);
        Assert.False(connection.IsClosed);
        _handshake.Tick(_clock.MonotonicMillis + CoreHarness.DefaultOptions.TickTimeMs);
        Assert.True(connection.IsClosed);
        Assert.Null(connection.Handshake);
        Assert.Empty(_sessions.Connections);
    }

    [Fact]
    public void AClientThatHasSeenALaterZxidMustTryAnotherServer()
    {
        _host.LastZxid = 0x10;
        var connection = new FakeConnection();
        _handshake.Connect(connection, Request(lastZxidSeen: 0x11));
        Assert.True(connection.IsClosed);
        Assert.Empty(_host.Created);
    }

    [Fact]
    public void ANewSessionIsCreatedByATxnHereWithItsTimeoutClampedToTheServersBounds()
    {
        var connection = new FakeConnection();
        _handshake.Connect(connection, Request(timeout: 1));
        var (owner, sessionId, timeout) = Assert.Single(_host.Created);
        Assert.Same(connection, owner);
        Assert.Equal(sessionId, connection.SessionId);
        Assert.Equal(CoreHarness.DefaultOptions.MinSessionTimeoutMs, timeout);
        Assert.NotNull(_tracker.Get(sessionId));
        Assert.Same(connection, _sessions.Get(sessionId)!.Owner);
        Assert.Null(connection.Handshake);
    }

    [Fact]
    public void OnALearnerTheLeaderCreatesTheSessionAndTheHandshakeWaitsForIt()
    {
        var leader = new FakeLeader();
        _host.Forwarder = leader;
        var connection = new FakeConnection();
        _handshake.Connect(connection, Request());
        var forwarded = Assert.Single(leader.Forwarded);
        Assert.Equal(OpCode.CreateSession, forwarded.Request.Type);
        Assert.Equal(connection.SessionId, forwarded.SessionId);
        Assert.True(_sessions.Get(connection.SessionId)!.AwaitingCreate);
        Assert.Empty(_host.Created);
        Assert.Null(_tracker.Get(connection.SessionId));
    }

    [Fact]
    public void NoSessionIsCreatedOnceTheLogFailedButALiveSessionMayReturn()
    {
        _host.CanLog = false;
        var refused = new FakeConnection();
        _handshake.Connect(refused, Request());
        Assert.True(refused.IsClosed);
        Assert.Empty(_host.Created);

        _tracker.Add(0x42, 10_000, _clock.MonotonicMillis);
        var returning = new FakeConnection();
        _handshake.Connect(returning, Request(0x42, password: SessionPassword.For(0x42)));
        Assert.False(returning.IsClosed);
        Assert.Equal(0x42, returning.Handshake!.SessionId);
    }

    [Fact]
    public void AReturningSessionMovesToTheNewConnectionAndTheOldOneClosesAndLosesItsWatches()
    {
        _tracker.Add(0x42, 10_000, _clock.MonotonicMillis);
        var first = new FakeConnection();
        var second = new FakeConnection();
        _handshake.Connect(first, Request(0x42, password: SessionPassword.For(0x42)));
        _handshake.Connect(second, Request(0x42, password: SessionPassword.For(0x42), timeout: 20_000));
        Assert.True(first.IsClosed);
        Assert.Equal([first], _host.Forgotten);
        Assert.Equal(20_000, second.Handshake!.Timeout);
        Assert.Equal(SessionPassword.For(0x42), second.Handshake.Password);
        Assert.Same(second, _sessions.Get(0x42)!.Owner);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AWrongPasswordOrAnUnknownSessionIsAnsweredWithSessionZeroThenClosed(bool known)
    {
        if (known)
        {
            _tracker.Add(0x42, 10_000, _clock.MonotonicMillis);
        }

        var connection = new FakeConnection();
        _handshake.Connect(connection, Request(0x42, password: known ? new byte[16] : SessionPassword.For(0x42)));
        Assert.Equal(0, connection.Handshake!.SessionId);
        Assert.Equal(0, connection.Handshake.Timeout);
        Assert.True(connection.IsClosed);
    }

    [Fact]
    public void OnALearnerTheLeaderRevalidatesAReturningSessionAndOnlyTheLastConnectionWaitingGetsIt()
    {
        var leader = new FakeLeader();
        _host.Forwarder = leader;
        var first = new FakeConnection();
        var second = new FakeConnection();
        _handshake.Connect(first, Request(0x42, password: SessionPassword.For(0x42)));
        _handshake.Connect(second, Request(0x42, password: SessionPassword.For(0x42)));
        Assert.Equal([0x42L, 0x42L], leader.Revalidated);
        Assert.True(first.IsClosed);

        _handshake.Revalidated(0x42, valid: true);
        Assert.Equal(0x42, second.Handshake!.SessionId);
        Assert.NotNull(_tracker.Get(0x42));
        Assert.Contains(0x42L, _sessions.TakeActive());

        _handshake.Revalidated(0x42, valid: true);
        Assert.Single(second.Handshakes);
    }

    [Fact]
    public void OnALearnerAWrongPasswordIsRefusedWithoutAskingTheLeaderAndADeadSessionOnItsAnswer()
    {
        var leader = new FakeLeader();
        _host.Forwarder = leader;
        var wrong = new FakeConnection();
        _handshake.Connect(wrong, Request(0x42, password: new byte[16]));
        Assert.True(wrong.IsClosed);
        Assert.Empty(leader.Revalidated);

        var expired = new FakeConnection();
        _handshake.Connect(expired, Request(0x43, password: SessionPassword.For(0x43)));
        _handshake.Revalidated(0x43, valid: false);
        Assert.Equal(0, expired.Handshake!.SessionId);
        Assert.True(expired.IsClosed);
        Assert.Null(_tracker.Get(0x43));
    }

    [Fact]
    public void ALocalSessionIsAnsweredAtOnceWithoutATxnOrTheLeader()
    {
        var leader = new FakeLeader();
        _host.Forwarder = leader;
        _host.LocalSessions = new SessionTracker(2000, 1, _clock.WallMillis);
        var connection = new FakeConnection();
        _handshake.Connect(connection, Request(timeout: 6000));
        Assert.Equal(connection.SessionId, connection.Handshake!.SessionId);
        Assert.Equal(6000, connection.Handshake.Timeout);
        Assert.Empty(leader.Forwarded);
        Assert.Empty(_host.Created);
        Assert.NotNull(_host.LocalSessions.Get(connection.SessionId));
        Assert.Null(_tracker.Get(connection.SessionId));
    }

    [Fact]
    public void ALocalSessionResumesHereWithoutAskingTheLeaderButOnlyWithItsPassword()
    {
        var leader = new FakeLeader();
        _host.Forwarder = leader;
        _host.LocalSessions = new SessionTracker(2000, 1, _clock.WallMillis);
        var first = new FakeConnection();
        _handshake.Connect(first, Request());
        var id = first.SessionId;

        var wrong = new FakeConnection();
        _handshake.Connect(wrong, Request(id, password: new byte[16]));
        Assert.True(wrong.IsClosed);
        Assert.False(first.IsClosed);

        var second = new FakeConnection();
        _handshake.Connect(second, Request(id, password: SessionPassword.For(id)));
        Assert.Equal(id, second.Handshake!.SessionId);
        Assert.True(first.IsClosed);
        Assert.Empty(leader.Revalidated);
    }

    [Fact]
    public void AReadOnlyServerTakesOnlyReadOnlyClientsGivesThemLocalSessionsAndRefusesGlobalOnes()
    {
        _host.IsReadOnly = true;
        _host.LocalSessions = new SessionTracker(2000, 1, _clock.WallMillis);
        var readWrite = new FakeConnection();
        _handshake.Connect(readWrite, Request());
        Assert.True(readWrite.IsClosed);
        Assert.Null(readWrite.Handshake);

        var readOnly = new FakeConnection();
        _handshake.Connect(readOnly, Request() with { ReadOnly = true });
        Assert.True(readOnly.Handshake!.ReadOnly);
        Assert.NotNull(_host.LocalSessions.Get(readOnly.SessionId));

        // A global session is the quorum's: closed without an answer. An unknown one has expired.
        _tracker.Add(0x42, 10_000, _clock.MonotonicMillis);
        var global = new FakeConnection();
        _handshake.Connect(global, Request(0x42, password: SessionPassword.For(0x42)) with { ReadOnly = true });
        Assert.True(global.IsClosed);
        Assert.Null(global.Handshake);
        var unknown = new FakeConnection();
        _handshake.Connect(unknown, Request(0x43, password: SessionPassword.For(0x43)) with { ReadOnly = true });
        Assert.Equal(0, unknown.Handshake!.SessionId);
    }

    private sealed class FakeHost : IHandshakeHost
    {
        public bool IsServing { get; set; } = true;
        public bool CanLog { get; set; } = true;
        public long LastZxid { get; set; }
        public IWriteForwarder? Forwarder { get; set; }
        public SessionTracker? LocalSessions { get; set; }
        public bool IsReadOnly { get; set; }
        public List<(IClientConnection Connection, long SessionId, int Timeout)> Created { get; } = [];
        public List<IClientConnection> Forgotten { get; } = [];

        public void CreateSession(IClientConnection connection, SessionState state, long sessionId, int timeout) =>
            Created.Add((connection, sessionId, timeout));

        public void SendConnectResponse(IClientConnection connection, ConnectResponse response) => connection.SendConnectResponse(response);

        public void Forget(IClientConnection connection) => Forgotten.Add(connection);
    }

    private sealed class FakeLeader : IWriteForwarder
    {
        public List<(ClientRequest Request, long SessionId)> Forwarded { get; } = [];
        public List<long> Revalidated { get; } = [];

        public void Forward(ClientRequest request, long sessionId) => Forwarded.Add((request, sessionId));

        public void Revalidate(long sessionId, int timeout) => Revalidated.Add(sessionId);
    }
}
