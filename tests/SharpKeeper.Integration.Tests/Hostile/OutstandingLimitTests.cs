using SharpKeeper.Client;
using SharpKeeper.Integration.Tests.Infrastructure;

namespace SharpKeeper.Integration.Tests.Hostile;

/// <summary>
/// globalOutstandingLimit holds connections back from reading while that many requests are
/// unanswered; a flood of pipelined requests far past it is still answered, every one, in order,
/// and the count drains to zero.
/// </summary>
public sealed class OutstandingLimitTests
{
    [Fact]
    public async Task PipelinedRequestsPastTheLimitAreAllAnsweredInOrder()
    {
        await using var server = await SharpKeeperProcess.StartAsync("globalOutstandingLimit=4");
        await using var first = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectString = $"127.0.0.1:{server.Port}" });
        await using var second = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectString = $"127.0.0.1:{server.Port}" });
        await first.CreateAsync("/flood", []);

        // 2 x 300 requests in flight at once, writes and reads interleaved; the client checks each reply's xid order.
        var writes = Enumerable.Range(0, 300).Select(i => first.CreateAsync($"/flood/a{i:D3}", [1])).ToList();
        var reads = Enumerable.Range(0, 300).Select(_ => second.ExistsAsync("/flood")).ToList();
        await Task.WhenAll(writes).WaitAsync(TimeSpan.FromSeconds(60));
        await Task.WhenAll(reads).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(300, (await first.GetChildrenAsync("/flood")).Children.Count);

        var mntr = await FourLetter.SendAsync(server.Port, "mntr", TimeSpan.FromSeconds(10)) ?? "";
        Assert.Contains("zk_outstanding_requests\t0\n", mntr, StringComparison.Ordinal);
    }
}
