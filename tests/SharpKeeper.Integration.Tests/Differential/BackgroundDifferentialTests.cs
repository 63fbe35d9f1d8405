using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Integration.Tests.Differential;

/// <summary>What the servers do on their own: container and TTL cleanup, session expiry. Polled with deadlines.</summary>
[Collection(DifferentialCollection.Name)]
public sealed class BackgroundDifferentialTests(DifferentialFixture fixture) : DifferentialTestBase(fixture)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public Task EmptiedContainerIsRemovedAndUntouchedOneStays() => AssertSameAsync(1, async t =>
    {
        var r = NewRoot("container-cleanup");
        await Create(t, 0, r);
        await t.OpAsync(0, OpCode.CreateContainer, Create(r + "/used", "", (int)CreateMode.Container));
        await t.OpAsync(0, OpCode.CreateContainer, Create(r + "/never", "", (int)CreateMode.Container));
        await Create(t, 0, r + "/used/kid");
        await t.OpAsync(0, OpCode.Exists, Watch(r + "/used"));
        await t.OpAsync(0, OpCode.Delete, new PathVersionRequest(r + "/used/kid", -1));
        t.Note("used container removed: " + await WaitUntilGoneAsync(t, r + "/used"));
        await t.RebaseAsync();
        await t.FlushEventsAsync();
        await t.OpAsync(0, OpCode.Exists, Watch(r + "/never", false), "exists never-used container");
    });

    [Fact]
    public Task TtlNodeExpires() => AssertSameAsync(1, async t =>
    {
        var r = NewRoot("ttl-cleanup");
        await Create(t, 0, r);
        await t.OpAsync(0, OpCode.CreateTtl, Create(r + "/short", "", (int)CreateMode.PersistentWithTtl, ttl: 500));
        await t.OpAsync(0, OpCode.CreateTtl, Create(r + "/long", "", (int)CreateMode.PersistentWithTtl, ttl: 3_600_000));
        t.Note("ttl node removed: " + await WaitUntilGoneAsync(t, r + "/short"));
        await t.RebaseAsync();
        await t.OpAsync(0, OpCode.Exists, Watch(r + "/long", false), "exists long-ttl node");
    });

    [Fact]
    public Task ExpiredSessionLosesItsEphemerals() => AssertSameAsync(1, async t =>
    {
        var r = NewRoot("expiry");
        await Create(t, 0, r);
        var quiet = await t.ConnectQuietAsync(4000);
        var shortLived = t.Session(quiet);
        t.Note($"negotiated timeout {shortLived.Timeout}");
        await t.OpAsync(quiet, OpCode.Create2, Create(r + "/eph", "", (int)CreateMode.Ephemeral));
        await t.OpAsync(0, OpCode.Exists, Watch(r + "/eph"));

        // No pings from the short-lived session: it must expire within timeout + a tick.
        t.Note("ephemeral removed by expiry: " + await WaitUntilGoneAsync(t, r + "/eph"));
        await t.RebaseAsync();
        await t.FlushEventsAsync();
        var reconnect = await Infrastructure.RawSession.ConnectAsync(t.Port, 4000, shortLived.SessionId, shortLived.Password);
        t.Note($"reconnect to expired session: id={reconnect.SessionId} timeout={reconnect.Timeout}");
        await reconnect.DisposeAsync();
    });

    /// <summary>Polls from a session outside the transcript, so the number of polls does not show in it.</summary>
    private static async Task<bool> WaitUntilGoneAsync(Transcript t, string path)
    {
        await using var poller = await Infrastructure.RawSession.ConnectAsync(t.Port);
        var until = DateTime.UtcNow + Deadline;
        while (DateTime.UtcNow < until)
        {
            var (header, _) = await poller.SendAsync(OpCode.Exists, new PathWatchRequest(path, false));
            if (header.Err == ErrorCode.NoNode)
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }
}
