using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using SharpKeeper.Integration.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SharpKeeper.Integration.Tests.Admin;

/// <summary>
/// The Prometheus endpoint (metricsProvider.className = Apache's PrometheusMetricsProvider): its
/// text is parsed by the reference Python client's parser, has the families a standalone Apache 3.8
/// server exports (145, under Apache's names and types), every series Grafana dashboard 10465 and
/// Apache's example alert rules query, and figures that follow the server's traffic.
/// </summary>
public sealed class PrometheusTests(ITestOutputHelper output)
{
    private const string Provider = "metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider";

    /// <summary>What dashboard 10465's panels and the alert rules of Apache's monitoring guide query.</summary>
    private static readonly string[] DashboardSeries =
    [
        "znode_count", "ephemerals_count", "global_sessions", "local_sessions", "approximate_data_size", "packets_received", "packets_sent",
        "uptime", "watch_count", "outstanding_requests", "last_client_response_size", "min_client_response_size", "max_client_response_size",
        "num_alive_connections", "connection_drop_probability", "open_file_descriptor_count", "max_latency", "min_latency", "avg_latency",
        "outstanding_tls_handshake", "response_packet_cache_misses", "response_packet_cache_hits", "unrecoverable_error_count",
        "digest_mismatches_count", "learner_commit_received_count", "commit_count", "snap_count", "diff_count", "looking_count",
        "proposal_count", "revalidate_count", "stale_sessions_expired", "dead_watchers_cleared", "bytes_received_count",
        "connection_request_count", "connection_rejected", "connection_drop_count", "sessionless_connections_expired",
        "startup_snap_load_time_sum", "startup_txns_loaded_sum", "dbinittime_sum", "election_time_count", "fsynctime_sum", "fsynctime_count",
        "snapshottime_sum", "proposal_ack_creation_latency_sum", "write_per_namespace", "read_per_namespace", "follower_sync_time_sum",
        "node_changed_watch_count_sum", "prep_process_time_sum", "sync_process_time_sum", "commit_process_time_sum", "readlatency_sum",
        "updatelatency_sum", "quorum_ack_latency_sum", "jvm_pause_time_ms_sum", "jvm_gc_collection_seconds_sum", "jvm_memory_bytes_used",
        "jvm_memory_bytes_max", "jvm_threads_current", "jvm_memory_pool_bytes_used",
    ];

    [Fact]
    public async Task EndpointExportsApachesFamiliesInAParsableTextThatFollowsTheTraffic()
    {
        var metricsPort = FreePort.Pick();
        await using var server = await SharpKeeperProcess.StartAsync($"{Provider}\nmetricsProvider.httpHost=127.0.0.1\nmetricsProvider.httpPort={metricsPort}");
        await using (var client = await SharpKeeper.Client.ZooKeeperClient.ConnectAsync(new SharpKeeper.Client.ZooKeeperClientOptions { ConnectString = $"127.0.0.1:{server.Port}" }))
        {
            for (var i = 0; i < 20; i++)
            {
                await client.CreateAsync($"/p{i}", [1, 2, 3]);
                await client.GetDataAsync($"/p{i}");
            }
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        using var response = await http.GetAsync($"http://127.0.0.1:{metricsPort}/metrics");
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());

        // As Apache's simpleclient 0.9.0 writes them: a counter's sample has no _total, labels end with a comma, HELP is the name.
        Assert.Contains("# HELP connection_request_count connection_request_count\n# TYPE connection_request_count counter\nconnection_request_count ", text, StringComparison.Ordinal);
        Assert.Contains("readlatency{quantile=\"0.99\",} ", text, StringComparison.Ordinal);

        var families = await ParseAsync(text);
        var zooKeeperFamilies = families.Keys.Where(n => !IsRuntimeSeries(n)).ToList();
        output.WriteLine($"{families.Count} families, {zooKeeperFamilies.Count} of ZooKeeper's");
        Assert.Equal(145, zooKeeperFamilies.Count);
        var sampleNames = families.Values.SelectMany(f => f.Samples.Select(s => s.Name.EndsWith("_total", StringComparison.Ordinal) && f.Type == "counter" && !f.Name.EndsWith("_total", StringComparison.Ordinal) ? f.Name : s.Name))
            .Concat(families.Keys).ToHashSet(StringComparer.Ordinal);
        Assert.All(DashboardSeries, name => Assert.True(sampleNames.Contains(name), $"no series {name}"));
        Assert.Equal("summary", families["readlatency"].Type);
        Assert.Equal("gauge", families["znode_count"].Type);
        Assert.Equal("counter", families["connection_request_count"].Type);

        // The figures follow the traffic: 20 creates and 20 reads, each create fsynced.
        var mntr = await FourLetter.SendAsync(server.Port, "mntr", TimeSpan.FromSeconds(10)) ?? "";
        var znodes = mntr.Split('\n').Single(l => l.StartsWith("zk_znode_count\t", StringComparison.Ordinal)).Split('\t')[1];
        Assert.Equal(double.Parse(znodes, System.Globalization.CultureInfo.InvariantCulture), Value(families, "znode_count"));
        Assert.True(Value(families, "updatelatency_count") >= 20, "updatelatency_count");
        Assert.True(Value(families, "readlatency_count") >= 20, "readlatency_count");
        Assert.True(Value(families, "fsynctime_count") >= 1, "fsynctime_count");
        Assert.True(Value(families, "connection_request_count") >= 1, "connection_request_count");
        Assert.True(families["readlatency"].Samples.Any(s => s.Labels.GetValueOrDefault("quantile") == "0.5" && s.Value is not null), "a read latency median");
        Assert.True(families["jvm_memory_bytes_used"].Samples.Single(s => s.Labels["area"] == "heap").Value > 0, "heap in use");

        // Only /metrics is served; name[] narrows the answer to the samples named.
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"http://127.0.0.1:{metricsPort}/")).StatusCode);
        var narrowed = await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics?name[]=znode_count&name[]=fsynctime_count");
        Assert.Equal(["fsynctime", "znode_count"], (await ParseAsync(narrowed)).Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ExportJvmInfoFalseLeavesTheRuntimeSeriesOutAndABusyPortStopsTheStart()
    {
        var metricsPort = FreePort.Pick();
        await using (var server = await SharpKeeperProcess.StartAsync($"{Provider}\nmetricsProvider.httpHost=127.0.0.1\nmetricsProvider.httpPort={metricsPort}\nmetricsProvider.exportJvmInfo=false"))
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
            var families = await ParseAsync(await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics"));
            Assert.Contains("znode_count", families.Keys);
            Assert.DoesNotContain(families.Keys, IsRuntimeSeries);
        }

        // As Apache ("Cannot boot MetricsProvider"): the server does not start without its endpoint.
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        var busyPort = ((IPEndPoint)busy.LocalEndpoint).Port;
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            SharpKeeperProcess.StartAsync($"{Provider}\nmetricsProvider.httpHost=127.0.0.1\nmetricsProvider.httpPort={busyPort}"));
        Assert.Contains("Cannot start the Prometheus endpoint", failure.Message, StringComparison.Ordinal);
    }

    /// <summary>The runtime's series (the JVM's names, the process's, .NET's own); jvm_pause_time_ms is ZooKeeper's.</summary>
    private static bool IsRuntimeSeries(string name) =>
        name != "jvm_pause_time_ms" && (name.StartsWith("jvm_", StringComparison.Ordinal) || name.StartsWith("process_", StringComparison.Ordinal) || name.StartsWith("dotnet_", StringComparison.Ordinal));

    private static double? Value(Dictionary<string, Family> families, string sample) =>
        families.Values.SelectMany(f => f.Samples).First(s => s.Name == sample || s.Name == sample + "_total").Value;

    private sealed record Sample(string Name, Dictionary<string, string> Labels, double? Value);

    private sealed record Family(string Name, string Type, List<Sample> Samples);

    /// <summary>Parses an exposition with prometheus_client's parser (tests/compat/prometheus_parse.py); a malformed text fails the test.</summary>
    private static async Task<Dictionary<string, Family>> ParseAsync(string text)
    {
        var result = await ProcessRunner.RunAsync("/usr/bin/python3", [Path.Combine(RepoPaths.Compat, "prometheus_parse.py")], TimeSpan.FromSeconds(60), stdin: text);
        Assert.True(result.ExitCode == 0, $"the Prometheus parser refused the text: {result.Output}");
        var families = new Dictionary<string, Family>(StringComparer.Ordinal);
        foreach (var family in JsonDocument.Parse(result.Output).RootElement.EnumerateArray())
        {
            var samples = family.GetProperty("samples").EnumerateArray().Select(s => new Sample(
                s[0].GetString()!,
                s[1].EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
                s[2].ValueKind == JsonValueKind.Null ? null : s[2].GetDouble())).ToList();
            var name = family.GetProperty("name").GetString()!;
            families[name] = new Family(name, family.GetProperty("type").GetString()!, samples);
        }

        return families;
    }
}
