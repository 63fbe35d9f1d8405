using SharpKeeper.Integration.Tests.Infrastructure;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Integration.Tests.Hostile;

public sealed class ConnectionLimitTests
{
    [Fact]
    public async Task MaxClientCnxnsPerAddressIsEnforcedAndFreedOnClose()
    {
        await using var server = await SharpKeeperProcess.StartAsync("maxClientCnxns=3");
        var sessions = new List<RawSession>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                sessions.Add(await RawSession.ConnectAsync(server.Port));
            }

            await Assert.ThrowsAsync<IOException>(() => RawSession.ConnectAsync(server.Port));
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (!server.Log.Contains("Too many connections from /127.0.0.1 - max is 3", StringComparison.Ordinal))
            {
                Assert.True(DateTime.UtcNow < until, "no log line for the refused connection");
                await Task.Delay(50);
            }

            await sessions[0].DisposeAsync();
            sessions.RemoveAt(0);
            RawSession? again = null;
            while (again is null && DateTime.UtcNow < until)
            {
                try
                {
                    again = await RawSession.ConnectAsync(server.Port);
                }
                catch (IOException)
                {
                    await Task.Delay(50);
                }
            }

            Assert.NotNull(again);
            sessions.Add(again);
            Assert.Equal(ErrorCode.Ok, (await again.SendAsync(OpCode.Exists, new PathWatchRequest("/", false))).Header.Err);
        }
        finally
        {
            foreach (var session in sessions)
            {
                await session.DisposeAsync();
            }
        }
    }
}
