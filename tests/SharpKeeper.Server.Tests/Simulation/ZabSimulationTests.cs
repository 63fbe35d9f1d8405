using Xunit.Abstractions;

namespace SharpKeeper.Server.Tests.Simulation;

/// <summary>
/// Seeded simulations of whole ensembles (election, broadcast, DIFF/TRUNC/SNAP sync, crashes that
/// lose unsynced log writes, partitions) with clients writing throughout. A failing seed reruns
/// alone: <c>dotnet test --filter "DisplayName~ZabSimulation&amp;DisplayName~seed: 17,"</c>.
/// </summary>
public sealed class ZabSimulationTests(ITestOutputHelper output)
{
    public static TheoryData<int, int> Seeds()
    {
        var data = new TheoryData<int, int>();
        for (var seed = 1; seed <= 300; seed++)
        {
            data.Add(seed, seed % 3 == 0 ? 5 : 3);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void EnsembleUnderFaultsLosesNoAcknowledgedWriteAndConverges(int seed, int servers)
    {
        var simulator = new ZabSimulator(seed, servers);
        try
        {
            simulator.Run();
        }
        catch (Exception)
        {
            output.WriteLine(string.Join("\n", simulator.Trace));
            throw;
        }

        output.WriteLine(
            $"seed {seed}, {servers} servers: {simulator.FaultEvents} fault events, {simulator.Syncs} learner syncs, {simulator.AcknowledgedWrites} acknowledged writes, "
            + $"{simulator.Registers.Sum(r => r.Count)} register operations checked for linearizability");
        Assert.True(simulator.AcknowledgedWrites > 0);
    }
}
