using SharpKeeper.Integration.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SharpKeeper.Integration.Tests.RealClients;

/// <summary>
/// ClickHouse 18.16 (Debian's clickhouse-server), whose server carries a ZooKeeper client of its own,
/// as a real client: tests/compat/clickhouse_compat.sh starts two ClickHouse servers, replicas of one
/// shard, against the ZooKeeper given and checks replicated tables, system.zookeeper, system.replicas,
/// replicated ALTER and distributed DDL (ON CLUSTER). The same script against Apache ZooKeeper 3.8 is
/// the reference.
/// </summary>
[Collection(ClickHouseCollection.Name)]
public sealed class ClickHouseTests(ITestOutputHelper output)
{
    private const string Script = "clickhouse_compat.sh";

    /// <summary>The script bounds its own waits (CH_SUITE_TIMEOUT, 240 s); a passing run takes 10–20 s.</summary>
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromMinutes(6);

    [Fact]
    public async Task ClickHouseReplicatesThroughAStandaloneSharpKeeper()
    {
        await using var server = await SharpKeeperProcess.StartAsync();
        await RunScriptAsync(server.ConnectString, () => Tail(server.Log, 8000));
    }

    [Fact]
    public async Task ClickHouseReplicatesThroughAThreeServerSharpKeeperEnsemble()
    {
        await using var cluster = EnsembleCluster.Create([MemberKind.SharpKeeper, MemberKind.SharpKeeper, MemberKind.SharpKeeper]);
        cluster.StartAll();
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(60));
        await RunScriptAsync(cluster.ConnectString, cluster.Logs);
    }

    [Fact]
    public async Task ClickHouseReplicatesThroughApacheZooKeeper()
    {
        await using var apache = await ApacheZooKeeperProcess.StartAsync();
        await RunScriptAsync($"127.0.0.1:{apache.Port}", () => "(Apache ZooKeeper's output is not kept)");
    }

    private async Task RunScriptAsync(string connectString, Func<string> serverLog)
    {
        var result = await ProcessRunner.RunAsync(
            "bash",
            [Path.Combine(RepoPaths.Compat, Script), "--server", connectString],
            ScriptTimeout);
        output.WriteLine(result.Output);
        Assert.False(result.TimedOut, $"{Script} --server {connectString} timed out after {ScriptTimeout}:\n{result.Output}\n--- server log ---\n{serverLog()}");
        Assert.True(result.ExitCode == 0, $"{Script} --server {connectString} failed (exit {result.ExitCode}):\n{result.Output}\n--- server log ---\n{serverLog()}");
        Assert.Matches(@"(?m)^[1-9][0-9]* passed, 0 failed$", result.Output);
        Assert.DoesNotContain("FAIL", result.Output);
    }

    private static string Tail(string log, int chars) => log.Length <= chars ? log : log[^chars..];
}

/// <summary>
/// Each ClickHouse test runs two ClickHouse servers besides its ZooKeeper server(s); on a small machine
/// that would starve the other tests' servers (and expire their sessions), so these run alone, one at a time.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClickHouseCollection
{
    public const string Name = "ClickHouse";
}
