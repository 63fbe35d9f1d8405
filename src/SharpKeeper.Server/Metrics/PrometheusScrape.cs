using System.Globalization;
using SharpKeeper.Server.Admin;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Metrics;

/// <summary>
/// One scrape of the Prometheus endpoint: every metric Apache's provider exports, under its name and
/// type (<see cref="ApacheMetricCatalog"/>), with SharpKeeper's figures where it keeps them and
/// Apache's idle values (0, or NaN quantiles) where it does not; then, with exportJvmInfo, the
/// runtime's own series under the JVM names simpleclient_hotspot uses. Server state is read on the core thread.
/// </summary>
public sealed class PrometheusScrape(SharpKeeperServer server)
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public async Task<string> RenderAsync(IReadOnlySet<string>? names, bool exportRuntime)
    {
        var openFds = ProcessFacts.OpenFileDescriptors();
        var maxFds = ProcessFacts.MaxFileDescriptors();
        var entries = await server.Core.InvokeAsync(() => server.Admin.MonitorEntries(openFds, maxFds)).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        var monitor = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in entries)
        {
            monitor[key] = value;
        }

        var text = new PrometheusText(names);
        var counters = Counters();
        var summaries = Summaries();
        foreach (var metric in ApacheMetricCatalog.All)
        {
            switch (metric.Kind)
            {
                case MetricKind.Gauge:
                    text.BeginFamily(metric.Name, "gauge");
                    text.Sample(metric.Name, Number(monitor.GetValueOrDefault(metric.Name)));
                    break;
                case MetricKind.Counter:
                    text.BeginFamily(metric.Name, "counter");
                    text.Sample(metric.Name, counters.GetValueOrDefault(metric.Name));
                    break;
                case MetricKind.Summary:
                    text.BeginFamily(metric.Name, "summary");
                    WriteSummary(text, metric, summaries.GetValueOrDefault(metric.Name));
                    break;
                case MetricKind.GaugeSet:
                    // Labelled families show only HELP and TYPE until a key has a value, as Apache's.
                    text.BeginFamily(metric.Name, "gauge");
                    break;
                case MetricKind.CounterSet:
                    text.BeginFamily(metric.Name, "counter");
                    break;
                case MetricKind.SummarySet:
                    text.BeginFamily(metric.Name, "summary");
                    break;
            }
        }

        // An ensemble member's role gauges, on the roles Apache registers them.
        foreach (var name in ApacheMetricCatalog.RoleGauges)
        {
            if (monitor.TryGetValue(name, out var value))
            {
                text.BeginFamily(name, "gauge");
                text.Sample(name, Number(value));
            }
        }

        if (exportRuntime)
        {
            RuntimeSeries.Write(text, server.GcPauses);
        }

        return text.ToString();
    }

    private Dictionary<string, double> Counters()
    {
        var stats = server.Core.Stats;
        var counters = stats.Counters.ToDictionary(c => c.Name, c => (double)c.Value, StringComparer.Ordinal);
        counters["connection_rejected"] = stats.RejectedConnections;
        return counters;
    }

    /// <summary>The summaries SharpKeeper keeps, with the factor that turns their unit into Apache's.</summary>
    private Dictionary<string, (MetricSummary Summary, double Scale)> Summaries()
    {
        var stats = server.Core.Stats;
        return new(StringComparer.Ordinal)
        {
            ["fsynctime"] = (server.TxnLog.FsyncTime, 1),
            ["snapshottime"] = (server.SnapshotTime, 1),
            ["readlatency"] = (stats.ReadLatency, 1),
            ["updatelatency"] = (stats.UpdateLatency, 1),

            // The runtime's pauses (recorded in microseconds) stand where Apache's JVM pause monitor reports milliseconds.
            ["jvm_pause_time_ms"] = (server.GcPauses.Pauses, 0.001),
        };
    }

    private static void WriteSummary(PrometheusText text, ApacheMetric metric, (MetricSummary Summary, double Scale) source)
    {
        var quantiles = metric.Quantiles;
        var (count, sum, values) = source.Summary is { } summary
            ? summary.ReadWindow(quantiles)
            : (0L, 0L, quantiles.Select(_ => double.NaN).ToArray());
        for (var i = 0; i < quantiles.Length; i++)
        {
            text.Sample(metric.Name, values[i] * source.Scale, ("quantile", quantiles[i].ToString(Invariant)));
        }

        text.Sample(metric.Name + "_count", count);
        text.Sample(metric.Name + "_sum", sum * source.Scale);
    }

    private static double Number(string? value) =>
        double.TryParse(value, NumberStyles.Float, Invariant, out var number) ? number : 0;
}
