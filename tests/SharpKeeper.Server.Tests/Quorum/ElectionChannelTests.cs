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
        var peers = new Dictionary<long, IReadOnlyList<EndPoint>>
        {
            [1] = [new IPEndPoint(IPAddress.Loopback, lowPort)],
            [3] = [new IPEndPoint(IPAddress.Loopback, highPort)],
        };
        await using var high = new ElectionChannel(3, [new IPEndPoint(IPAddress.Loopback, highPort)], $"127.0.0.1:{highPort}", peers, NullLogger.Instance);
        high.Start();
        for (var restart = 0; restart < 30; restart++)
        {
            await using var low = await StartedAsync(() => new ElectionChannel(1, [new IPEndPoint(IPAddress.Loopback, lowPort)], $"127.0.0.1:{lowPort}", peers, NullLogger.Instance));
            var hello = new byte[] { (byte)restart, 1 };
            low.Send(3, hello);
            Assert.Equal(1, await ReceiveFromAsync(high, hello));

            var answer = new byte[] { (byte)restart, 3 };
            high.Send(1, answer);
            Assert.Equal(3, await ReceiveFromAsync(low, answer));
        }
    }

    [Fact]
    public async Task APeerWhoseConnectionEndsIsDialledAtOnceAndReportedUnreachableWhenItsPortIsClosed()
    {
        // A killed server's connections close; nothing need be sent to it for an election to learn
        // that it is gone (otherwise a round whose quorum agrees waits out its finalize wait).
        var lowPort = FreePort.Pick();
        var highPort = FreePort.Pick();
        var peers = new Dictionary<long, IReadOnlyList<EndPoint>>
        {
            [1] = [new IPEndPoint(IPAddress.Loopback, lowPort)],
            [3] = [new IPEndPoint(IPAddress.Loopback, highPort)],
        };
        await using var low = await StartedAsync(() => new ElectionChannel(1, [new IPEndPoint(IPAddress.Loopback, lowPort)], $"127.0.0.1:{lowPort}", peers, NullLogger.Instance));
        var unreachable = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        low.PeerUnreachable += sid => unreachable.TrySetResult(sid);
        var high = await StartedAsync(() => new ElectionChannel(3, [new IPEndPoint(IPAddress.Loopback, highPort)], $"127.0.0.1:{highPort}", peers, NullLogger.Instance));
        try
        {
            var hello = new byte[] { 7 };
            low.Send(3, hello);
            Assert.Equal(1, await ReceiveFromAsync(high, hello));
            high.Send(1, hello);
            Assert.Equal(3, await ReceiveFromAsync(low, hello));
        }
        finally
        {
            await high.DisposeAsync();
        }

        Assert.Equal(3, await unreachable.Task.WaitAsync(Deadline));
    }

    [Fact]
    public async Task AMessageToItselfIsDeliveredWithoutANetwork()
    {
        var port = FreePort.Pick();
        var peers = new Dictionary<long, IReadOnlyList<EndPoint>> { [5] = [new IPEndPoint(IPAddress.Loopback, port)] };
        await using var channel = new ElectionChannel(5, [new IPEndPoint(IPAddress.Loopback, port)], $"127.0.0.1:{port}", peers, NullLogger.Instance);
        channel.Start();
        channel.Send(5, [7]);
        Assert.Equal(5, await ReceiveFromAsync(channel, [7]));
    }

    [Fact]
    public async Task WithSeveralAddressesAPeerIsReachedOnWhicheverOfThemAnswersAndGreetedWithVersionTwo()
    {
        // Server 3 listens on two loopback addresses; the first address the others have for it is
        // dead (nothing listens), so every dial must move on to the second.
        var dead = FreePort.Pick();
        var lowPort = FreePort.Pick();
        var highPorts = (First: FreePort.Pick(), Second: FreePort.Pick());
        var second = IPAddress.Parse("127.0.0.2");
        var peers = new Dictionary<long, IReadOnlyList<EndPoint>>
        {
            [1] = [new IPEndPoint(IPAddress.Loopback, dead), new IPEndPoint(IPAddress.Loopback, lowPort)],
            [3] = [new IPEndPoint(IPAddress.Loopback, dead), new IPEndPoint(second, highPorts.Second)],
        };
        await using var high = new ElectionChannel(
            3, [new IPEndPoint(IPAddress.Loopback, highPorts.First), new IPEndPoint(second, highPorts.Second)],
            $"127.0.0.1:{highPorts.First}|127.0.0.2:{highPorts.Second}", peers, NullLogger.Instance, multiAddress: true);
        high.Start();
        await using var low = new ElectionChannel(1, [new IPEndPoint(IPAddress.Loopback, lowPort)], $"127.0.0.1:{lowPort}", peers, NullLogger.Instance, multiAddress: true);
        low.Start();

        low.Send(3, [1]);
        Assert.Equal(1, await ReceiveFromAsync(high, [1]));
        high.Send(1, [3]);
        Assert.Equal(3, await ReceiveFromAsync(low, [3]));
    }

    [Fact]
    public async Task AVersionTwoGreetingWithSeveralAddressesIsRead()
    {
        var addresses = System.Text.Encoding.UTF8.GetBytes("127.0.0.1:3888|127.0.0.2:3889");
        var greeting = new byte[20 + addresses.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(greeting, ElectionChannel.ProtocolVersionV2);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(greeting.AsSpan(8), 7);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(greeting.AsSpan(16), addresses.Length);
        addresses.CopyTo(greeting, 20);
        Assert.Equal(7, await ElectionChannel.ReadGreetingAsync(new MemoryStream(greeting), CancellationToken.None));
    }

    /// <summary>Reads until the expected message arrives (a restarted peer's last message may be repeated first); returns its sender.</summary>
    /// <summary>
    /// Starts a channel on its fixed port. Between two restarts another test's outgoing connection
    /// may take that port as its ephemeral local port for a moment: the bind is retried until then.
    /// </summary>
    private static async Task<ElectionChannel> StartedAsync(Func<ElectionChannel> create)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var channel = create();
            try
            {
                channel.Start();
                return channel;
            }
            catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode == System.Net.Sockets.SocketError.AddressAlreadyInUse && DateTime.UtcNow < deadline)
            {
                await channel.DisposeAsync();
                await Task.Yield();
            }
        }
    }

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
