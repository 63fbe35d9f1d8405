using System.Buffers.Binary;
using System.Net.Sockets;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Sessions;
using Xunit.Abstractions;

namespace SharpKeeper.Integration.Tests.Differential;

/// <summary>
/// The session handshake as raw bytes: the same ConnectRequest frame goes to Apache ZooKeeper 3.8 and
/// to SharpKeeper, and the replies must match byte for byte — except the session id and password,
/// which are compared by what they are (zero, the session asked for, a new one; the password that
/// belongs to that id) — and so must what the server does next (keeps the connection and answers a
/// ping, or closes it).
/// </summary>
[Collection(DifferentialCollection.Name)]
public sealed class HandshakeDifferentialTests(DifferentialFixture fixture, ITestOutputHelper output)
{
    private const long FarFutureZxid = 0x7fff_0000_0000_0000;

    public static TheoryData<string> Cases => [.. HandshakeCases.All.Keys];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task HandshakeMatchesApache(string name)
    {
        var build = HandshakeCases.All[name];
        var apache = await RunAsync(fixture.ApachePort, build);
        var sharp = await RunAsync(fixture.SharpPort, build);
        output.WriteLine($"Apache:      {apache}\nSharpKeeper: {sharp}");
        var log = fixture.SharpLog;
        Assert.True(
            apache == sharp,
            $"{name}:\n  Apache ZooKeeper 3.8: {apache}\n  SharpKeeper:          {sharp}\n--- SharpKeeper log ---\n{log[Math.Max(0, log.Length - 4000)..]}");
    }

    /// <summary>The ClickHouse case spelled out: a 44-byte request gets a 36-byte reply, with no readOnly byte.</summary>
    [Fact]
    public async Task OldClientRequestGetsTheShortReply()
    {
        var outcome = await RunAsync(fixture.SharpPort, HandshakeCases.All["no readOnly byte (ClickHouse, clients before 3.4)"]);
        Assert.StartsWith("reply of 36 bytes:", outcome);
        Assert.EndsWith("then open (ping answered)", outcome);
    }

    /// <summary>What one server does with one ConnectRequest, in a form that does not depend on which server it was.</summary>
    private static async Task<string> RunAsync(int port, Func<ServerFacts, byte[]> build)
    {
        await using var facts = await ServerFacts.GatherAsync(port);
        var frame = build(facts);
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync("127.0.0.1", port);
        var stream = client.GetStream();
        await stream.WriteAsync(frame);
        var reply = await ReadFrameAsync(stream, TimeSpan.FromSeconds(15));
        if (reply is null)
        {
            return "closed without a reply";
        }

        var described = Describe(reply, facts);
        var after = await AfterReplyAsync(stream);
        if (after == "open (ping answered)")
        {
            await CloseSessionAsync(stream);
        }

        return $"{described}; then {after}";
    }

    /// <summary>The reply's bytes in hex, with the session id and password named instead of shown.</summary>
    private static string Describe(byte[] reply, ServerFacts facts)
    {
        if (reply.Length < 36)
        {
            return $"reply of {reply.Length} bytes: {Convert.ToHexString(reply)}";
        }

        var sessionId = BinaryPrimitives.ReadInt64BigEndian(reply.AsSpan(8));
        var sessionName = sessionId == 0 ? "zero" : sessionId == facts.LiveSessionId ? "the live session" : "a new session";
        var password = reply.AsSpan(20, 16);
        var passwordName = password.IndexOfAnyExcept((byte)0) < 0 ? "zeros"
            : sessionId != 0 && password.SequenceEqual(SessionPassword.For(sessionId)) ? "that session's" : "other";
        return $"reply of {reply.Length} bytes: {Convert.ToHexString(reply.AsSpan(0, 8))} session={sessionName} "
            + $"{Convert.ToHexString(reply.AsSpan(16, 4))} password={passwordName} {Convert.ToHexString(reply.AsSpan(36))}";
    }

    /// <summary>Whether the connection is still usable: a ping is answered, or the server closes it.</summary>
    private static async Task<string> AfterReplyAsync(NetworkStream stream)
    {
        try
        {
            await stream.WriteAsync(Frame(w => new RequestHeader(Xids.Ping, OpCode.Ping).Write(w)));
            var reply = await ReadFrameAsync(stream, TimeSpan.FromSeconds(15));
            if (reply is null)
            {
                return "closed";
            }

            var r = new JuteReader(reply);
            var header = ReplyHeader.Read(ref r);
            return header.Xid == Xids.Ping && header.Err == ErrorCode.Ok ? "open (ping answered)" : $"answered the ping with xid {header.Xid}, {header.Err}";
        }
        catch (IOException)
        {
            return "closed";
        }
    }

    private static async Task CloseSessionAsync(NetworkStream stream)
    {
        try
        {
            await stream.WriteAsync(Frame(w => new RequestHeader(1, OpCode.CloseSession).Write(w)));
            await ReadFrameAsync(stream, TimeSpan.FromSeconds(5));
        }
        catch (IOException)
        {
        }
    }

    private static async Task<byte[]?> ReadFrameAsync(NetworkStream stream, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            var prefix = new byte[4];
            await stream.ReadExactlyAsync(prefix, cts.Token);
            var frame = new byte[BinaryPrimitives.ReadInt32BigEndian(prefix)];
            await stream.ReadExactlyAsync(frame, cts.Token);
            return frame;
        }
        catch (EndOfStreamException)
        {
            return null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no reply and no close within {timeout}");
        }
    }

    internal static byte[] Frame(Action<JuteWriter> write)
    {
        using var w = new JuteWriter();
        w.BeginFrame();
        write(w);
        w.EndFrame();
        return w.WrittenMemory.ToArray();
    }

    /// <summary>Sessions made on one server before a case runs: one still open, one already closed.</summary>
    internal sealed class ServerFacts(Infrastructure.RawSession live, long closedSessionId) : IAsyncDisposable
    {
        public long LiveSessionId => live.SessionId;
        public long ClosedSessionId => closedSessionId;

        public static async Task<ServerFacts> GatherAsync(int port)
        {
            var live = await Infrastructure.RawSession.ConnectAsync(port);
            long closedId;
            await using (var closed = await Infrastructure.RawSession.ConnectAsync(port))
            {
                closedId = closed.SessionId;
            }

            return new ServerFacts(live, closedId);
        }

        public ValueTask DisposeAsync() => live.DisposeAsync();
    }

    /// <summary>The matrix: each case builds one ConnectRequest frame from the server's facts.</summary>
    private static class HandshakeCases
    {
        public static readonly Dictionary<string, Func<ServerFacts, byte[]>> All = new()
        {
            ["readOnly byte false"] = _ => Request(0, 0, 30000, 0, new byte[16], readOnly: false),
            ["no readOnly byte (ClickHouse, clients before 3.4)"] = _ => Request(0, 0, 30000, 0, new byte[16], readOnly: null),
            ["readOnly byte true on a read-write server"] = _ => Request(0, 0, 30000, 0, new byte[16], readOnly: true),
            ["protocolVersion 1, no readOnly byte"] = _ => Request(1, 0, 30000, 0, new byte[16], readOnly: null),
            ["null password, new session"] = _ => Request(0, 0, 30000, 0, null, readOnly: false),
            ["reconnect, right password"] = f => Request(0, 0, 30000, f.LiveSessionId, SessionPassword.For(f.LiveSessionId), readOnly: false),
            ["reconnect, right password, no readOnly byte"] = f => Request(0, 0, 30000, f.LiveSessionId, SessionPassword.For(f.LiveSessionId), readOnly: null),
            ["reconnect, wrong password"] = f => Request(0, 0, 30000, f.LiveSessionId, new byte[16], readOnly: false),
            ["reconnect, wrong password, no readOnly byte"] = f => Request(0, 0, 30000, f.LiveSessionId, new byte[16], readOnly: null),
            ["reconnect to a closed session"] = f => Request(0, 0, 30000, f.ClosedSessionId, SessionPassword.For(f.ClosedSessionId), readOnly: false),
            ["reconnect to a closed session, no readOnly byte"] = f => Request(0, 0, 30000, f.ClosedSessionId, SessionPassword.For(f.ClosedSessionId), readOnly: null),
            ["lastZxidSeen ahead of the server"] = _ => Request(0, FarFutureZxid, 30000, 0, new byte[16], readOnly: false),
            ["lastZxidSeen ahead, no readOnly byte"] = _ => Request(0, FarFutureZxid, 30000, 0, new byte[16], readOnly: null),
            ["timeOut below minSessionTimeout"] = _ => Request(0, 0, 10, 0, new byte[16], readOnly: false),
            ["timeOut above maxSessionTimeout"] = _ => Request(0, 0, 10_000_000, 0, new byte[16], readOnly: null),
            ["negative timeOut"] = _ => Request(0, 0, -1, 0, new byte[16], readOnly: false),
            ["truncated in the session id"] = _ => Truncated(Request(0, 0, 30000, 0, new byte[16], readOnly: false), 20),
            ["truncated in the password"] = _ => Truncated(Request(0, 0, 30000, 0, new byte[16], readOnly: false), 30),
            ["empty frame"] = _ => Truncated(Request(0, 0, 30000, 0, new byte[16], readOnly: false), 0),
            ["password length past the frame"] = _ => Frame(w =>
            {
                w.WriteInt(0);
                w.WriteLong(0);
                w.WriteInt(30000);
                w.WriteLong(0);
                w.WriteInt(1000);
                w.WriteLong(0);
            }),
            ["extra bytes after the readOnly byte"] = _ => Frame(w =>
            {
                new ConnectRequest(0, 0, 30000, 0, new byte[16], false).Write(w);
                w.WriteInt(0x01020304);
            }),
        };

        private static byte[] Request(int version, long lastZxid, int timeout, long sessionId, byte[]? password, bool? readOnly) =>
            Frame(w => new ConnectRequest(version, lastZxid, timeout, sessionId, password!, readOnly ?? false) { HasReadOnlyFlag = readOnly is not null }.Write(w));

        /// <summary>The first <paramref name="bodyLength"/> bytes of a request's body, under a length prefix that says so.</summary>
        private static byte[] Truncated(byte[] frame, int bodyLength)
        {
            var cut = frame.AsSpan(0, 4 + bodyLength).ToArray();
            BinaryPrimitives.WriteInt32BigEndian(cut, bodyLength);
            return cut;
        }
    }
}
