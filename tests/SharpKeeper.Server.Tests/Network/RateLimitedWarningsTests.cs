using Microsoft.Extensions.Logging;
using SharpKeeper.Server.Network;

namespace SharpKeeper.Server.Tests.Network;

public sealed class RateLimitedWarningsTests
{
    [Fact]
    public void TheFirstFewOfEachKindAndAddressAreLoggedTheRestSummarizedOnce()
    {
        var log = new ListLogger();
        using var warnings = new RateLimitedWarnings(log, Timeout.InfiniteTimeSpan, perSourceAndKind: 3);

        var logged = Enumerable.Range(0, 1000).Count(_ => warnings.ShouldLog("malformed request", "10.0.0.1"));
        Assert.Equal(3, logged);
        Assert.True(warnings.ShouldLog("malformed request", "10.0.0.2"));
        Assert.True(warnings.ShouldLog("unknown request type", "10.0.0.1"));
        Assert.Equal(997, warnings.Suppressed);

        warnings.Summarize();
        var summary = Assert.Single(log.Lines);
        Assert.Contains("Suppressed 997 warnings about client input", summary);
        Assert.Contains("malformed request 997", summary);
        Assert.Contains("10.0.0.1 997", summary);

        // A new interval: the allowance is back, and a quiet interval writes no summary.
        Assert.True(warnings.ShouldLog("malformed request", "10.0.0.1"));
        warnings.Summarize();
        Assert.Single(log.Lines);
    }

    [Fact]
    public void ManyAddressesCannotGrowItsMemoryOrItsOutput()
    {
        var log = new ListLogger();
        using var warnings = new RateLimitedWarnings(log, Timeout.InfiniteTimeSpan, perSourceAndKind: 2, maxTrackedSources: 10);

        var logged = 0;
        for (var i = 0; i < 5000; i++)
        {
            logged += warnings.ShouldLog("malformed request", $"10.0.{i / 256}.{i % 256}") ? 1 : 0;
            logged += warnings.ShouldLog("malformed request", $"10.0.{i / 256}.{i % 256}") ? 1 : 0;
        }

        Assert.Equal(20, logged);
        Assert.Equal(10_000 - 20, warnings.Suppressed);
        warnings.Summarize();
        var summary = Assert.Single(log.Lines);
        Assert.Contains("Suppressed 9980 warnings", summary);
        Assert.Contains("more)", summary);
    }

    [Fact]
    public void DisposingWritesWhatIsStillSuppressed()
    {
        var log = new ListLogger();
        var warnings = new RateLimitedWarnings(log, TimeSpan.FromHours(1), perSourceAndKind: 1);
        Assert.True(warnings.ShouldLog("too many connections", "10.0.0.1"));
        Assert.False(warnings.ShouldLog("too many connections", "10.0.0.1"));
        warnings.Dispose();
        Assert.Matches(@"^Suppressed 1 warnings about client input in the last [0-9.]+ s \(by kind: too many connections 1; by address: 10\.0\.0\.1 1\)$", Assert.Single(log.Lines));
    }

    private sealed class ListLogger : ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines)
            {
                Lines.Add(formatter(state, exception));
            }
        }
    }
}
