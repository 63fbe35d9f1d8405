using System.Buffers.Binary;
using SharpKeeper.Integration.Tests.Infrastructure;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Integration.Tests.Hostile;

/// <summary>Bad input closes the offending connection only: the server keeps serving and other sessions are untouched.</summary>
[Collection(SharpKeeperCollection.Name)]
public sealed class HostileInputTests(SharpKeeperFixture fixture)
{
    private int Port => fixture.Server.Port;

    [Fact]
    public async Task RandomBytesCloseOnlyThatConnection()
    {
        await using var healthy = await HealthySessionAsync();
        var random = new Random(12345);
        for (var i = 0; i < 20; i++)
        {
            var bytes = new byte[random.Next(1, 2000)];
            random.NextBytes(bytes);
            await using var attacker = await RawTcpAsync();
            await attacker.WriteRawAsync(bytes);
            await attacker.IsClosedByServerAsync(TimeSpan.FromSeconds(1));
        }

        await AssertStillServingAsync(healthy);
    }

    [Fact]
    public async Task TwoGigabyteLengthPrefixClosesTheConnection()
    {
        await using var healthy = await HealthySessionAsync();
        await using var attacker = await RawSession.ConnectAsync(Port);
        var prefix = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(prefix, int.MaxValue);
        await attacker.WriteRawAsync(prefix);
        Assert.True(await attacker.IsClosedByServerAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("out of range", fixture.Server.Log);
        await AssertStillServingAsync(healthy);
    }

    [Fact]
    public async Task FrameJustOverJuteMaxBufferClosesTheConnection()
    {
        await using var attacker = await RawSession.ConnectAsync(Port);
        var prefix = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(prefix, 0xFFFFF + 1);
        await attacker.WriteRawAsync(prefix);
        Assert.True(await attacker.IsClosedByServerAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task TruncatedFramesAreHarmless()
    {
        await using var healthy = await HealthySessionAsync();
        await using (var attacker = await RawTcpAsync())
        {
            // A length prefix promising 100 bytes, then only 10, then hang up.
            var bytes = new byte[14];
            BinaryPrimitives.WriteInt32BigEndian(bytes, 100);
            await attacker.WriteRawAsync(bytes);
        }

        await using (var attacker = await RawSession.ConnectAsync(Port))
        {
            // A request whose body is cut short inside its path string.
            var frame = new byte[4 + 8 + 4 + 2];
            BinaryPrimitives.WriteInt32BigEndian(frame, frame.Length - 4);
            BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(4), 1);
            BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(8), (int)OpCode.GetData);
            BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(12), 50);
            await attacker.WriteRawAsync(frame);
            Assert.True(await attacker.IsClosedByServerAsync(TimeSpan.FromSeconds(10)));
        }

        await AssertStillServingAsync(healthy);
    }

    [Fact]
    public async Task UnknownOpcodeGetsUnimplementedThenClose()
    {
        await using var healthy = await HealthySessionAsync();
        await using var attacker = await RawSession.ConnectAsync(Port);
        var (header, _) = await attacker.SendAsync((OpCode)777, _ => { });
        Assert.Equal(ErrorCode.Unimplemented, header.Err);
        Assert.True(await attacker.IsClosedByServerAsync(TimeSpan.FromSeconds(10)));
        await AssertStillServingAsync(healthy);
    }

    [Fact]
    public async Task RequestBeforeHandshakeIsRejected()
    {
        await using var healthy = await HealthySessionAsync();
        await using var attacker = await RawTcpAsync();

        // A getData frame where a ConnectRequest must come: too short to be one, so the server hangs up.
        var frame = new byte[4 + 8 + 4 + 2 + 1];
        BinaryPrimitives.WriteInt32BigEndian(frame, frame.Length - 4);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(4), 1);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(8), (int)OpCode.GetData);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(12), 2);
        frame[16] = (byte)'/';
        frame[17] = (byte)'a';
        await attacker.WriteRawAsync(frame);
        Assert.True(await attacker.IsClosedByServerAsync(TimeSpan.FromSeconds(10)));
        await AssertStillServingAsync(healthy);
    }

    /// <summary>
    /// A flood of bad frames is counted in full (mntr) but logged only a few times per kind and
    /// address a minute, so it cannot fill the disk or bury other warnings.
    /// </summary>
    [Fact]
    public async Task AFloodOfMalformedConnectionsIsCountedButLoggedOnlyAFewTimes()
    {
        const int Connections = 3000;
        await using var server = await SharpKeeperProcess.StartAsync();
        var malformed = new byte[4 + 6];
        BinaryPrimitives.WriteInt32BigEndian(malformed, 6);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        var sent = 0;
        await Parallel.ForAsync(0, Connections, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (_, _) =>
        {
            if (DateTime.UtcNow > deadline)
            {
                return;
            }

            using var client = new System.Net.Sockets.TcpClient();
            await client.ConnectAsync("127.0.0.1", server.Port);
            await using var attacker = RawSessionFactory.Wrap(client);
            await attacker.WriteRawAsync(malformed);
            Assert.True(await attacker.IsClosedByServerAsync(TimeSpan.FromSeconds(10)));
            Interlocked.Increment(ref sent);
        });
        Assert.Equal(Connections, sent);

        var mntr = await FourLetter.SendAsync(server.Port, "mntr") ?? "";
        Assert.Contains($"zk_rejected_frames\t{Connections}\n", mntr);
        var warnings = server.Log.Split('\n').Count(line => line.Contains("malformed request", StringComparison.Ordinal));
        Assert.InRange(warnings, 1, 3);
    }

    private async Task<RawSession> HealthySessionAsync()
    {
        var session = await RawSession.ConnectAsync(Port);
        Assert.NotEqual(0, session.SessionId);
        return session;
    }

    private async Task<RawSession> RawTcpAsync()
    {
        // A socket with no handshake, reusing RawSession's stream helpers.
        var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync("127.0.0.1", Port);
        return RawSessionFactory.Wrap(client);
    }

    private async Task AssertStillServingAsync(RawSession healthy)
    {
        var (header, body) = await healthy.SendAsync(OpCode.Exists, new PathWatchRequest("/zookeeper", false));
        Assert.Equal(ErrorCode.Ok, header.Err);
        Assert.IsType<StatResponse>(body);
        Assert.Equal("imok", await FourLetter.SendAsync(Port, "ruok"));
    }
}
