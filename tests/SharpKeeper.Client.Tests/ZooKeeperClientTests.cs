using System.Collections.Concurrent;
using System.Text;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Client.Tests;

public sealed class ZooKeeperClientTests : IAsyncLifetime
{
    private InProcessServer _server = null!;

    public async Task InitializeAsync() => _server = await InProcessServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private Task<ZooKeeperClient> ConnectAsync(TimeSpan? timeout = null, Action<WatchedEvent>? watcher = null) =>
        ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions
        {
            ConnectString = _server.ConnectString,
            SessionTimeout = timeout ?? TimeSpan.FromSeconds(10),
            DefaultWatcher = watcher,
            ReconnectDelay = TimeSpan.FromMilliseconds(20),
        });

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, "timed out waiting for " + what);
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task CrudWithStats()
    {
        await using var client = await ConnectAsync();
        Assert.Equal(KeeperState.SyncConnected, client.State);
        var (path, stat) = await client.CreateAsync("/crud", Encoding.UTF8.GetBytes("a"));
        Assert.Equal(("/crud", 0, 1), (path, stat.Version, stat.DataLength));
        var updated = await client.SetDataAsync("/crud", Encoding.UTF8.GetBytes("bb"), 0);
        Assert.Equal(1, updated.Version);
        var (data, _) = await client.GetDataAsync("/crud");
        Assert.Equal("bb", Encoding.UTF8.GetString(data));
        var error = await Assert.ThrowsAsync<KeeperException>(() => client.SetDataAsync("/crud", [], 0));
        Assert.Equal(ErrorCode.BadVersion, error.Code);
        await client.DeleteAsync("/crud");
        Assert.Null(await client.ExistsAsync("/crud"));
        var raw = await client.SendAsync(OpCode.GetData, new PathWatchRequest("/crud", false));
        Assert.Equal(ErrorCode.NoNode, raw.Err);
        Assert.True(raw.Zxid > 0);
    }

    [Fact]
    public async Task ThousandPipelinedRequestsAreAnsweredInOrder()
    {
        await using var client = await ConnectAsync();
        await client.CreateAsync("/pipe", null);
        var tasks = Enumerable.Range(0, 1000)
            .Select(i => i % 2 == 0
                ? client.SendAsync(OpCode.Create2, new CreateRequest("/pipe/n-", [], [.. Acl.OpenAclUnsafe], (int)CreateMode.PersistentSequential))
                : client.SendAsync(OpCode.Exists, new PathWatchRequest("/pipe", false)))
            .ToArray();
        var results = await Task.WhenAll(tasks);
        Assert.All(results, r => Assert.Equal(ErrorCode.Ok, r.Err));
        var names = results.Where(r => r.Body is CreateResponse).Select(r => ((CreateResponse)r.Body!).Path).ToList();
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
        Assert.Equal(500, (await client.GetChildrenAsync("/pipe")).Children.Count);
    }

    [Fact]
    public async Task WatchEventIsDeliveredBeforeTheReplyThatFollowsIt()
    {
        await using var client = await ConnectAsync();
        await client.CreateAsync("/order", [0]);
        var log = new ConcurrentQueue<string>();
        await client.GetDataAsync("/order", e => log.Enqueue("event " + e.Type));
        await client.SetDataAsync("/order", [1]);
        log.Enqueue("reply");
        Assert.Equal(["event NodeDataChanged", "reply"], log);
    }

    [Fact]
    public async Task OneShotAndPersistentWatches()
    {
        await using var client = await ConnectAsync();
        await using var writer = await ConnectAsync();
        var events = new ConcurrentQueue<WatchedEvent>();
        Assert.Null(await client.ExistsAsync("/w", e => events.Enqueue(e)));
        await client.AddWatchAsync("/w", AddWatchMode.PersistentRecursive, e => events.Enqueue(e));
        await writer.CreateAsync("/w", null);
        await writer.CreateAsync("/w/kid", null);
        await writer.SetDataAsync("/w/kid", [1]);
        await WaitForAsync(() => events.Count >= 4, "four events");
        var seen = events.Select(e => $"{e.Type} {e.Path}").ToList();
        Assert.Equal(2, seen.Count(s => s == "NodeCreated /w"));
        Assert.Contains("NodeCreated /w/kid", seen);
        Assert.Contains("NodeDataChanged /w/kid", seen);
    }

    [Fact]
    public async Task ReconnectsToTheSameSessionAfterARestartAndReplaysMissedWatches()
    {
        var states = new ConcurrentQueue<KeeperState>();
        await using var client = await ConnectAsync(TimeSpan.FromSeconds(10), e => states.Enqueue(e.State));
        await client.CreateAsync("/survivor", [1]);
        await client.CreateAsync("/survivor/eph", null, CreateMode.Ephemeral);
        var fired = new TaskCompletionSource<WatchedEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        await client.GetDataAsync("/survivor", e =>
        {
            // Like every watcher, this one also hears the connection state changes (Disconnected, SyncConnected).
            if (e.Type != EventType.None)
            {
                fired.TrySetResult(e);
            }
        });
        var sessionId = client.SessionId;

        await _server.RestartAsync();
        await WaitForAsync(() => client.State == KeeperState.SyncConnected && states.Contains(KeeperState.Disconnected), "reconnection");
        Assert.Equal(sessionId, client.SessionId);
        Assert.NotNull(await client.ExistsAsync("/survivor/eph"));

        await using var writer = await ConnectAsync();
        await writer.SetDataAsync("/survivor", [2]);
        var e = await fired.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(EventType.NodeDataChanged, e.Type);
    }

    [Fact]
    public async Task ClosedSessionEndsItsEphemerals()
    {
        var owner = await ConnectAsync();
        await owner.CreateAsync("/bye", null, CreateMode.Ephemeral);
        await owner.CloseAsync();
        await using var other = await ConnectAsync();
        Assert.Null(await other.ExistsAsync("/bye"));
    }

    [Fact]
    public async Task ResumingAnEndedSessionReportsExpired()
    {
        var first = await ConnectAsync();
        var (id, password) = (first.SessionId, first.SessionPassword);
        await first.CloseAsync();
        var error = await Assert.ThrowsAsync<KeeperException>(() => ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions
        {
            ConnectString = _server.ConnectString,
            SessionId = id,
            SessionPassword = password,
        }));
        Assert.Equal(ErrorCode.SessionExpired, error.Code);
    }

    [Fact]
    public async Task DigestAuthAndWhoAmI()
    {
        await using var client = await ConnectAsync();
        await client.AddDigestAuthAsync("carol", "pw");
        var who = await client.WhoAmIAsync();
        Assert.Contains(who, c => c.AuthScheme == "digest" && c.User == "carol");
        await client.CreateAsync("/carols", [1], [new Acl(Perms.All, new Id("auth", ""))], CreateMode.Persistent);
        await using var stranger = await ConnectAsync();
        Assert.Equal(ErrorCode.NoAuth, (await Assert.ThrowsAsync<KeeperException>(() => stranger.GetDataAsync("/carols"))).Code);
    }
}
