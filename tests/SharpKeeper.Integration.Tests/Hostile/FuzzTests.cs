using System.Globalization;
using System.Text.RegularExpressions;
using SharpKeeper.Fuzz;
using SharpKeeper.Integration.Tests.Ensemble;
using SharpKeeper.Integration.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SharpKeeper.Integration.Tests.Hostile;

/// <summary>
/// The fuzzing targets (fuzz/): every seed and every input that once crashed a parser (kept in
/// fuzz/regressions/TARGET) is handled without an unexpected exception, and a short coverage-guided
/// run of every target with AFL++ finds no crash. The AFL run is CPU-heavy, so it runs with the ensembles, alone.
/// </summary>
[Collection(EnsembleCollection.Name)]
public sealed partial class FuzzTests(ITestOutputHelper output)
{
    private static string Fuzz => Path.Combine(RepoPaths.Root, "fuzz");

    public static TheoryData<string> TargetNames => [.. Targets.All.Select(t => t.Name)];

    [Theory]
    [MemberData(nameof(TargetNames))]
    public void EverySeedAndRegressionInputIsAcceptedOrRejectedCleanly(string name)
    {
        var target = Targets.Find(name)!;
        var seeds = Directory.GetFiles(Path.Combine(Fuzz, "corpus", name));
        Assert.NotEmpty(seeds);
        var regressions = Path.Combine(Fuzz, "regressions", name);
        var inputs = seeds.Concat(Directory.Exists(regressions) ? Directory.GetFiles(regressions) : []).Order().ToList();
        var accepted = 0;
        foreach (var input in inputs)
        {
            try
            {
                accepted += target.Run(File.ReadAllBytes(input)) ? 1 : 0;
            }
            catch (Exception e)
            {
                Assert.Fail($"{name}: {Path.GetFileName(input)} threw {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            }
        }

        output.WriteLine($"{name}: {inputs.Count} inputs, {accepted} accepted, {inputs.Count - accepted} rejected");
    }

    /// <summary>fuzz/fuzz.sh for a few seconds per target: AFL++ runs every target (execs counted) and saves no crash.</summary>
    [Fact]
    public async Task AShortAflRunOfEveryTargetFindsNoCrash()
    {
        var seconds = Environment.GetEnvironmentVariable("SHARPKEEPER_FUZZ_SECONDS") ?? "4";
        var result = await ProcessRunner.RunAsync("bash", [Path.Combine(Fuzz, "fuzz.sh"), "--seconds", seconds], TimeSpan.FromMinutes(10), RepoPaths.Root);
        output.WriteLine(result.Output);
        Assert.False(result.TimedOut);
        Assert.Equal(0, result.ExitCode);
        var rows = StatsRow().Matches(result.Output).ToDictionary(m => m.Groups["target"].Value, m => m);
        foreach (var target in Targets.All)
        {
            Assert.True(rows.TryGetValue(target.Name, out var row), $"no figures for {target.Name}");
            Assert.True(long.Parse(row.Groups["execs"].Value, CultureInfo.InvariantCulture) > 0, $"{target.Name} ran no inputs");
            Assert.Equal("0", row.Groups["crashes"].Value);
        }
    }

    [GeneratedRegex(@"^(?<target>[a-z0-9-]+)\s+(?<execs>\d+)\s+[\d.]+\s+\d+\s+(?<crashes>\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex StatsRow();
}
