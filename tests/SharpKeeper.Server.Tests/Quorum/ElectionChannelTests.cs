using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
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
        var lowPort = PickPort();
        var highPort = PickPort();
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
            var (from, message) = await ReceiveAsync(high, hello);
            Assert.Equal(1, from);

            var answer = new byte[] { (byte)restart, 3 };
            high.Send(1, answer);
            (from, message) = await ReceiveAsync(low, answer);
            Assert.Equal(3, from);
            Assert.Equal(answer, message);
        }
    }

    [Fact]
    public async Task AMessageToItselfIsDeliveredWithoutANetwork()
    {
        var port = PickPort();
        var peers = new Dictionary<long, EndPoint> { [5] = new IPEndPoint(IPAddress.Loopback, port) };
        await using var channel = new ElectionChannel(5, new IPEndPoint(IPAddress.Loopback, port), $"127.0.0.1:{port}", peers, NullLogger.Instance);
        channel.Start();
        channel.Send(5, [7]);
        var (from, message) = await ReceiveAsync(channel, [7]);
        Assert.Equal(5, from);
        Assert.Equal(new byte[] { 7 }, message);
    }

    /// <summary>Reads until the expected message arrives (a restarted peer's last message may be repeated first).</summary>
    private static async Task<(long From, byte[] Message)> ReceiveAsync(ElectionChannel channel, byte[] expected)
    {
        using var timeout = new CancellationTokenSource(Deadline);
        while (true)
        {
            var received = await channel.Received.ReadAsync(timeout.Token);
            if (received.Message.AsSpan().SequenceEqual(expected))
            {
                return received;
            }
        }
    }

    private static int PickPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
