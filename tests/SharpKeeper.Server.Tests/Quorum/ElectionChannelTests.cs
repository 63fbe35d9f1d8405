using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using SharpKeeper.Integration.Tests.Infrastructure;
using SharpKeeper.Server.Quorum.Election;

namespace SharpKeeper.Server.Tests.Quorum;

public class ElectionChannelTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task TheLargerIdCallsBackASmallerIdEveryTimeItRestarts()
    {
        // The smaller id's dial is hung up on and called back; a restart must never leave the larger
        // id believing a call back is still under way.
        var lowPort = FreePort.Pick();
        var highPort = FreePort.Pick();
        var peers = new Dictionary<long, EndPoint>
        {
            [1] = new IPEndPoint(IPAddress.Loopback, lowPort),
            [3] = new IPEndPoint(IPAddress.Loopback, highPort),
        };
        await using var high = new ElectionChannel(3, new IPEndPoint(IPAddress.Loopback, highPort), $"127.0.0.1:{highPort}", peers, NullLogger.Instance);
        high.Start();
        for (var restart = 0; restart < 30; restart++)
        {
            await using var low = new ElectionChannel(1, new IPEndPoint(IPAddress.Loopback, lowPort), $"127.0.0.1:{lowPort}", peers, NullLogger.Instance);
            low.Start();
            var hello = new byte[] { (byte)restart, 1 };
            low.Send(3, hello);
            Assert.Equal(1, await ReceiveFromAsync(high, hello));

            var answer = new byte[] { (byte)restart, 3 };
            high.Send(1, answer);
            Assert.Equal(3, await ReceiveFromAsync(low, answer));
        }
    }

    [Fact]
    public async Task AMessageToItselfIsDeliveredWithoutANetwork()
    {
        var port = FreePort.Pick();
        var peers = new Dictionary<long, EndPoint> { [5] = new IPEndPoint(IPAddress.Loopback, port) };
        await using var channel = new ElectionChannel(5, new IPEndPoint(IPAddress.Loopback, port), $"127.0.0.1:{port}", peers, NullLogger.Instance);
        channel.Start();
        channel.Send(5, [7]);
        Assert.Equal(5, await ReceiveFromAsync(channel, [7]));
    }

    /// <summary>Reads until the expected message arrives (a restarted peer's last message may be repeated first); returns its sender.</summary>
    private static async Task<long> ReceiveFromAsync(ElectionChannel channel, byte[] expected)
    {
        using var timeout = new CancellationTokenSource(Deadline);
        while (true)
        {
            var received = await channel.Received.ReadAsync(timeout.Token);
            if (received.Message.AsSpan().SequenceEqual(expected))
            {
                return received.From;
            }
        }
    }
}
