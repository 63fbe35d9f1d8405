using SharpKeeper.Integration.Tests.Infrastructure;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Integration.Tests.Durability;

/// <summary>A full disk: the server says so in its log, acknowledges nothing it could not write, refuses writes, still serves reads.</summary>
public sealed class DiskFullTests
{
    [Fact]
    public async Task FullDiskStopsWritesWithoutLosingAcknowledgedOnes()
    {
        var directory = Directory.CreateTempSubdirectory("diskfull-").FullName;
        var mount = await ProcessRunner.RunAsync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", directory], TimeSpan.FromSeconds(30));
        Assert.True(mount.ExitCode == 0, "this test mounts a 2 MB tmpfs and needs root: " + mount.Output);
        try
        {
            var acknowledged = new List<string>();
            await using (var server = await SharpKeeperProcess.StartAsync("preAllocSize=64", directory))
            {
                var session = await RawSession.ConnectAsync(server.Port);
                var payload = new byte[8 * 1024];
                ErrorCode last = ErrorCode.Ok;
                for (var i = 0; i < 1000 && last == ErrorCode.Ok; i++)
                {
                    try
                    {
                        var path = $"/fill-{i}";
                        var reply = await session.SendAsync(OpCode.Create2, new CreateRequest(path, payload, [.. Acl.OpenAclUnsafe], 0)).WaitAsync(TimeSpan.FromSeconds(15));
                        last = reply.Header.Err;
                        if (last == ErrorCode.Ok)
                        {
                            acknowledged.Add(path);
                        }
                    }
                    catch (IOException)
                    {
                        // The write in flight when the disk filled: its outcome is unknown, so the server hung up.
                        last = ErrorCode.ConnectionLoss;
                    }
                }

                Assert.NotEqual(ErrorCode.Ok, last);
                Assert.True(acknowledged.Count > 10, $"only {acknowledged.Count} writes fitted");
                await WaitForLogAsync(server, "Cannot write the transaction log");

                // New sessions cannot be logged any more; the existing session reconnects and reads.
                await Assert.ThrowsAsync<IOException>(() => RawSession.ConnectAsync(server.Port));
                await using var reader = await RawSession.ConnectAsync(server.Port, 30000, session.SessionId, session.Password);
                await session.DisposeAsync();
                Assert.Equal(ErrorCode.Ok, (await reader.SendAsync(OpCode.Exists, new PathWatchRequest(acknowledged[0], false))).Header.Err);
                Assert.Equal(ErrorCode.NotReadOnly, (await reader.SendAsync(OpCode.SetData, new SetDataRequest(acknowledged[0], [1], -1))).Header.Err);
                await server.KillAsync();
            }

            // Moved to a disk with room, every acknowledged write is there.
            var roomy = Directory.CreateTempSubdirectory("diskfull-copy-").FullName;
            try
            {
                CopyDirectory(Path.Combine(directory, "data"), Path.Combine(roomy, "data"));
                await using var restarted = await SharpKeeperProcess.StartAsync("", roomy);
                await using var check = await RawSession.ConnectAsync(restarted.Port);
                foreach (var path in acknowledged)
                {
                    Assert.Equal(ErrorCode.Ok, (await check.SendAsync(OpCode.Exists, new PathWatchRequest(path, false))).Header.Err);
                }
            }
            finally
            {
                Directory.Delete(roomy, recursive: true);
            }
        }
        finally
        {
            await ProcessRunner.RunAsync("umount", [directory], TimeSpan.FromSeconds(30));
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task WaitForLogAsync(SharpKeeperProcess server, string text)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!server.Log.Contains(text, StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < until, $"the server never logged '{text}':\n{server.Log}");
            await Task.Delay(50);
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (var directory in Directory.EnumerateDirectories(from))
        {
            CopyDirectory(directory, Path.Combine(to, Path.GetFileName(directory)));
        }
    }
}
