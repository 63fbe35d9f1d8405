using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using SharpKeeper.Integration.Tests.Infrastructure;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using Xunit.Abstractions;

namespace SharpKeeper.Integration.Tests.Durability;

/// <summary>
/// kill -9 a real server at random moments under a write load from several sessions; after each
/// restart every acknowledged write is there, no write is half applied, sequential names never repeat.
/// </summary>
public sealed class CrashRestartTests(ITestOutputHelper output)
{
    private const int Kills = 6;
    private const int Writers = 4;
    private static readonly List<Acl> Open = [.. Acl.OpenAclUnsafe];

    [Fact]
    public async Task AcknowledgedWritesSurviveKillNine()
    {
        var random = new Random(20261122);
        var directory = Directory.CreateTempSubdirectory("crash-").FullName;
        var port = FreePort.Pick();
        var acknowledged = new ConcurrentDictionary<string, string>();
        var lastCounter = new ConcurrentDictionary<int, int>();
        var totalAcked = 0;
        try
        {
            for (var round = 0; round < Kills; round++)
            {
                await using var server = await SharpKeeperProcess.StartAsync("snapCount=200", directory, port);
                await VerifyAsync(port, acknowledged, lastCounter);
                if (round == 0)
                {
                    await using var setup = await RawSession.ConnectAsync(port);
                    Assert.Equal(ErrorCode.Ok, (await setup.SendAsync(OpCode.Create2, new CreateRequest("/crash", [], Open, 0))).Header.Err);
                    for (var w = 0; w < Writers; w++)
                    {
                        Assert.Equal(ErrorCode.Ok, (await setup.SendAsync(OpCode.Create2, new CreateRequest($"/crash/counter-{w}", Encoding.UTF8.GetBytes("0"), Open, 0))).Header.Err);
                        lastCounter[w] = 0;
                    }
                }

                using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                var writers = Enumerable.Range(0, Writers).Select(w => WriteUntilKilledAsync(port, w, acknowledged, lastCounter, stop.Token)).ToArray();
                await Task.Delay(random.Next(200, 800));
                await server.KillAsync();
                var counts = await Task.WhenAll(writers);
                totalAcked += counts.Sum();
                output.WriteLine($"round {round}: killed after {counts.Sum()} acknowledged writes");
            }

            await using (var last = await SharpKeeperProcess.StartAsync("snapCount=200", directory, port))
            {
                await VerifyAsync(port, acknowledged, lastCounter);
            }

            output.WriteLine($"{Kills} kills, {totalAcked} acknowledged writes, 0 lost");
            Assert.True(totalAcked > Kills * 10, $"the load acknowledged only {totalAcked} writes");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Alternates sequential creates and counter updates until the connection dies; returns the acknowledged count.</summary>
    private static async Task<int> WriteUntilKilledAsync(
        int port, int writer, ConcurrentDictionary<string, string> acknowledged, ConcurrentDictionary<int, int> lastCounter, CancellationToken cancellationToken)
    {
        var count = 0;
        try
        {
            await using var session = await RawSession.ConnectAsync(port);
            var counter = lastCounter[writer];
            while (!cancellationToken.IsCancellationRequested)
            {
                var payload = $"w{writer}-{Guid.NewGuid():N}";
                var (header, body) = await session.SendAsync(OpCode.Create2, new CreateRequest($"/crash/w{writer}-", Encoding.UTF8.GetBytes(payload), Open, (int)CreateMode.PersistentSequential));
                Assert.Equal(ErrorCode.Ok, header.Err);
                var name = ((CreateResponse)body!).Path;
                Assert.True(acknowledged.TryAdd(name, payload), $"sequential name {name} was handed out twice");
                count++;

                var next = counter + 1;
                (header, _) = await session.SendAsync(OpCode.SetData, new SetDataRequest($"/crash/counter-{writer}", Encoding.UTF8.GetBytes(next.ToString(CultureInfo.InvariantCulture)), counter));
                Assert.Equal(ErrorCode.Ok, header.Err);
                counter = next;
                lastCounter[writer] = counter;
                count++;
            }
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            // The server was killed under us: whatever was not acknowledged may or may not be there.
        }

        return count;
    }

    private static async Task VerifyAsync(int port, ConcurrentDictionary<string, string> acknowledged, ConcurrentDictionary<int, int> lastCounter)
    {
        await using var session = await RawSession.ConnectAsync(port);
        foreach (var (path, payload) in acknowledged)
        {
            var (header, body) = await session.SendAsync(OpCode.GetData, new PathWatchRequest(path, false));
            Assert.True(header.Err == ErrorCode.Ok, $"acknowledged node {path} is missing after restart ({header.Err})");
            Assert.Equal(payload, Encoding.UTF8.GetString(((GetDataResponse)body!).Data!));
        }

        foreach (var (writer, acked) in lastCounter)
        {
            var (header, body) = await session.SendAsync(OpCode.GetData, new PathWatchRequest($"/crash/counter-{writer}", false));
            if (header.Err == ErrorCode.NoNode && acked == 0)
            {
                continue;
            }

            var data = (GetDataResponse)body!;
            var value = int.Parse(Encoding.UTF8.GetString(data.Data!), CultureInfo.InvariantCulture);

            // The last update may have reached the disk without its acknowledgement reaching us, but never half of it.
            Assert.True(value == acked || value == acked + 1, $"counter-{writer} is {value}, acknowledged {acked}");
            Assert.Equal(value, data.Stat.Version);
            lastCounter[writer] = value;
        }
    }
}
