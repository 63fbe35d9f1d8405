using SharpKeeper.Integration.Tests.Infrastructure;

namespace SharpKeeper.Integration.Tests.Cli;

/// <summary>The `sharpkeeper` command as operators use it, against a real server process.</summary>
[Collection(SharpKeeperCollection.Name)]
public sealed class CliTests(SharpKeeperFixture fixture)
{
    private static Task<ProcessRunner.Result> RunAsync(params string[] args) =>
        ProcessRunner.RunAsync("dotnet", [RepoPaths.SharpKeeperDll, .. args], TimeSpan.FromSeconds(60));

    [Fact]
    public async Task StatusOfARunningStandaloneServer()
    {
        var result = await RunAsync("status", fixture.Server.ConfigPath);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains($"Using config: {fixture.Server.ConfigPath}", result.Output);
        Assert.Contains($"Client port found: {fixture.Server.Port}. Client address: 127.0.0.1. Client SSL: false.", result.Output);
        Assert.Contains("Mode: standalone", result.Output);
    }

    [Fact]
    public async Task StatusWhenNothingListens()
    {
        var directory = Directory.CreateTempSubdirectory("sharpkeeper-cli-");
        try
        {
            var config = Path.Combine(directory.FullName, "zoo.cfg");
            await File.WriteAllTextAsync(config, $"tickTime=2000\ndataDir={directory.FullName}/data\nclientPort={FreePort.Pick()}\nclientPortAddress=127.0.0.1\n");
            var result = await RunAsync("status", config);
            Assert.NotEqual(0, result.ExitCode);
            Assert.Contains("Error contacting service. It is probably not running.", result.Output);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task VersionNamesTheProduct()
    {
        var result = await RunAsync("version");
        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"SharpKeeper version: 3\.8\.\d+-sharpkeeper-\d+\.\d+\.\d+", result.Output);
    }

    /// <summary>config-keys prints the one table the parser reads from: a header, then a line per key.</summary>
    [Fact]
    public async Task ConfigKeysListsEveryKeyWithItsKindDefaultAndReader()
    {
        var result = await RunAsync("config-keys");
        Assert.Equal(0, result.ExitCode);
        var lines = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("key\tkind\tdefault\trange\talso as zookeeper.<key>\tread by", lines[0]);
        Assert.Contains("tickTime\tinteger\t3000\t>= 1\tno\tServerCore ticks, session timeouts, initLimit and syncLimit", lines);
        Assert.Contains("forceSync\tyes/no\tyes\t\tyes\tPersistence/FileTxnLog (fsync before acknowledging)", lines);
        Assert.Contains(lines, l => l.StartsWith("nio.numWorkerThreads\tignored\t", StringComparison.Ordinal));
        Assert.Equal(SharpKeeper.Server.Config.ConfigKeyTable.All.Count + 1, lines.Length);
    }

    [Fact]
    public async Task BadConfigNamesFileLineAndKey()
    {
        var directory = Directory.CreateTempSubdirectory("sharpkeeper-cli-");
        try
        {
            var config = Path.Combine(directory.FullName, "zoo.cfg");
            await File.WriteAllTextAsync(config, $"dataDir={directory.FullName}/data\ntickTime=abc\nclientPort=2181\n");
            var result = await RunAsync("start-foreground", config);
            Assert.NotEqual(0, result.ExitCode);
            Assert.Contains("zoo.cfg", result.Output);
            Assert.Contains(":2", result.Output);
            Assert.Contains("tickTime", result.Output);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
