using Xunit.Abstractions;

namespace SharpKeeper.Server.Tests.Simulation;

/// <summary>
/// Seeded simulations of elections under message loss, delay, reordering, partitions, crashes and
/// restarts. A failing seed reruns alone: <c>dotnet test --filter "DisplayName~seed: 17"</c>.
/// </summary>
public sealed class ElectionSimulationTests(ITestOutputHelper output)
{
    public static TheoryData<int, int> Seeds()
    {
        var data = new TheoryData<int, int>();
        for (var seed = 1; seed <= 500; seed++)
        {
            data.Add(seed, seed % 2 == 0 ? 5 : 3);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void ElectionsUnderFaultsKeepEveryCommittedTxnAndSettle(int seed, int servers)
    {
        var simulator = new ElectionSimulator(seed, servers);
        try
        {
            simulator.Run();
        }
        catch (InvalidOperationException)
        {
            output.WriteLine(string.Join("\n", simulator.Trace));
            throw;
        }

        output.WriteLine(
            $"seed {seed}, {servers} servers: {simulator.FaultEvents} fault events, {simulator.Establishments} leaders established, {simulator.MessagesDelivered} notifications delivered");
        Assert.True(simulator.Establishments > 0);
        if (Environment.GetEnvironmentVariable("SIMULATION_TRACE") == "1")
        {
            output.WriteLine(string.Join("\n", simulator.Trace));
        }
    }
}
