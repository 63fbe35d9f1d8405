using System.Text;
using SharpKeeper.Integration.Tests.Infrastructure;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Integration.Tests.Cli;

/// <summary>cleanup, snapshot-dump, txnlog-dump and stop on a data directory a real server wrote.</summary>
public sealed class StoreToolTests
{
    private static Task<ProcessRunner.Result> RunAsync(params string[] args) =>
        ProcessRunner.RunAsync("dotnet", [RepoPaths.SharpKeeperDll, .. args], TimeSpan.FromSeconds(60));

    [Fact]
    public async Task ToolsReadWhatTheServerWroteAndCleanupKeepsThree()
    {
        var directory = Directory.CreateTempSubdirectory("tools-").FullName;
        try
        {
            await using var server = await SharpKeeperProcess.StartAsync("snapCount=10", directory);
            await using (var session = await RawSession.ConnectAsync(server.Port))
            {
                for (var i = 0; i < 60; i++)
                {
                    var (header, _) = await session.SendAsync(OpCode.Create2, new CreateRequest($"/tool-{i}", Encoding.UTF8.GetBytes("v"), [.. Acl.OpenAclUnsafe], 0));
                    Assert.Equal(ErrorCode.Ok, header.Err);
                }
            }

            var versionDir = Path.Combine(directory, "data", "version-2");
            await WaitForAsync(() => Directory.GetFiles(versionDir, "snapshot.*").Length >= 5, "five snapshots");
            var logs = Directory.GetFiles(versionDir, "log.*").Order().ToArray();
            var dump = await RunAsync("txnlog-dump", logs[0]);
            Assert.Equal(0, dump.ExitCode);
            Assert.Contains("createSession", dump.Output);
            Assert.Contains("create2 '/tool-0,#76,v{s{31,world:anyone}},False,", dump.Output);

            var snapshots = Directory.GetFiles(versionDir, "snapshot.*").Where(f => !f.EndsWith(".tmp", StringComparison.Ordinal)).Order().ToArray();
            var newest = snapshots.OrderBy(f => Convert.ToInt64(Path.GetFileName(f)["snapshot.".Length..], 16)).Last();
            var snapshot = await RunAsync("snapshot-dump", newest);
            Assert.Equal(0, snapshot.ExitCode);
            Assert.Contains("/tool-0", snapshot.Output);
            Assert.Contains("Session Details", snapshot.Output);

            var cleanup = await RunAsync("cleanup", server.ConfigPath, "-n", "3");
            Assert.Equal(0, cleanup.ExitCode);
            Assert.Equal(3, Directory.GetFiles(versionDir, "snapshot.*").Length);

            var stop = await RunAsync("stop", server.ConfigPath);
            Assert.Equal(0, stop.ExitCode);
            Assert.Contains("STOPPED", stop.Output);
            await WaitForAsync(() => server.HasExited, "the server to exit after stop");
            Assert.Contains("Shutting down", server.Log);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, $"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }
}
