using SharpKeeper.Integration.Tests.Infrastructure;

namespace SharpKeeper.Integration.Tests.RealClients;

/// <summary>
/// Real ZooKeeper clients, unchanged, against a real SharpKeeper process: Debian's Java zkCli.sh,
/// python3-kazoo, the C client's cli_mt and Apache Curator. Each script prints PASS/FAIL lines and
/// exits non-zero on any failure (see tests/compat).
/// </summary>
[Collection(SharpKeeperCollection.Name)]
public sealed class RealClientTests(SharpKeeperFixture fixture)
{
    [Theory]
    [InlineData("kazoo_compat.py", "/usr/bin/python3")]
    [InlineData("zkcli_compat.sh", "bash")]
    [InlineData("climt_compat.sh", "bash")]
    [InlineData("curator_compat.sh", "bash")]
    public async Task ClientSuitePasses(string script, string interpreter)
    {
        var result = await ProcessRunner.RunAsync(
            interpreter,
            [Path.Combine(RepoPaths.Compat, script), "--server", fixture.Server.ConnectString],
            TimeSpan.FromMinutes(4));
        Assert.False(result.TimedOut, $"{script} timed out:\n{result.Output}");
        Assert.True(result.ExitCode == 0, $"{script} failed (exit {result.ExitCode}):\n{result.Output}\n--- server log ---\n{Tail(fixture.Server.Log)}");
        Assert.Contains("PASS", result.Output);
        Assert.DoesNotContain("FAIL", result.Output);
    }

    private static string Tail(string log) => log.Length <= 8000 ? log : log[^8000..];
}
