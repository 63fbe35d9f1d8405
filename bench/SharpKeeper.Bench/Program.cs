using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SharpKeeper.Bench;

// sharpkeeper-bench: drives any ZooKeeper-compatible server with pipelined requests from many sessions
// and reports throughput and latency percentiles. Every reply is checked; errors are counted.
var options = BenchOptions.Parse(args);
var stats = options.ServerStats ? await ServerStats.BeginAsync(options.Server, options.JvmGcLog) : null;
var result = await LoadGenerator.RunAsync(options);
if (stats is not null && await stats.EndAsync(result.Ops) is { } cost)
{
    result = result with
    {
        ServerGcPauses = cost.GcPauses,
        ServerGcPauseMaxMs = cost.GcPauseMaxMs,
        ServerGcPauseTotalMs = cost.GcPauseTotalMs,
        ServerAllocatedBytesPerOp = cost.AllocatedBytesPerOp,
    };
}

var json = JsonSerializer.Serialize(result, BenchJson.Default.BenchResult);
Console.WriteLine(json);
Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{options.Label} {options.Workload}: {result.Ops} ops in {result.Seconds:0.00}s = {result.OpsPerSecond:0} ops/s; " +
    $"latency ms p50 {result.P50Ms:0.000} p99 {result.P99Ms:0.000} p99.9 {result.P999Ms:0.000} max {result.MaxMs:0.000}; errors {result.Errors}"));
return result.Errors == 0 ? 0 : 1;

namespace SharpKeeper.Bench
{
    public sealed record BenchOptions
    {
        public string Server { get; init; } = "127.0.0.1:2181";
        public string Label { get; init; } = "server";
        public string Workload { get; init; } = "create";
        public int Sessions { get; init; } = 8;
        public int InFlight { get; init; } = 32;
        public int Payload { get; init; } = 100;
        public double Seconds { get; init; } = 5;
        public long Count { get; init; } = long.MaxValue;
        public int ReadPercent { get; init; } = 90;

        /// <summary>create only: 0 creates a flat tree; F creates parents each followed by F children.</summary>
        public int Fanout { get; init; }

        /// <summary>Open loop: requests per second over all workers, on a fixed schedule (0: closed loop, as fast as replies come).</summary>
        public double Rate { get; init; }

        /// <summary>Also report the server's own GC pauses (and allocations per request when it says), from mntr or a JVM GC log.</summary>
        public bool ServerStats { get; init; }

        /// <summary>The -Xlog:gc file of a JVM server, read for its pauses instead of mntr.</summary>
        public string? JvmGcLog { get; init; }

        /// <summary>TLS: the client certificate (PKCS12, password <see cref="TlsPassword"/>) and the CA (PEM) the server's must chain to.</summary>
        public string? TlsClientCertificate { get; init; }

        public string? TlsCa { get; init; }

        public string TlsPassword { get; init; } = "changeit";

        /// <summary>--server H:P --label L --workload create|set|get|exists|children|mix|multi|delete --sessions N --inflight N --payload B --seconds S --count N --read-percent P --fanout F --rate R --server-stats true|false --jvm-gc-log FILE --tls-cert FILE.p12 --tls-ca FILE.pem --tls-password P</summary>
        public static BenchOptions Parse(string[] args)
        {
            var options = new BenchOptions();
            for (var i = 0; i + 1 < args.Length; i += 2)
            {
                var value = args[i + 1];
                options = args[i] switch
                {
                    "--server" => options with { Server = value },
                    "--label" => options with { Label = value },
                    "--workload" => options with { Workload = value },
                    "--sessions" => options with { Sessions = int.Parse(value, CultureInfo.InvariantCulture) },
                    "--inflight" => options with { InFlight = int.Parse(value, CultureInfo.InvariantCulture) },
                    "--payload" => options with { Payload = int.Parse(value, CultureInfo.InvariantCulture) },
                    "--seconds" => options with { Seconds = double.Parse(value, CultureInfo.InvariantCulture) },
                    "--count" => options with { Count = long.Parse(value, CultureInfo.InvariantCulture) },
                    "--read-percent" => options with { ReadPercent = int.Parse(value, CultureInfo.InvariantCulture) },
                    "--fanout" => options with { Fanout = int.Parse(value, CultureInfo.InvariantCulture) },
                    "--rate" => options with { Rate = double.Parse(value, CultureInfo.InvariantCulture) },
                    "--server-stats" => options with { ServerStats = bool.Parse(value) },
                    "--jvm-gc-log" => options with { JvmGcLog = value, ServerStats = true },
                    "--tls-cert" => options with { TlsClientCertificate = value },
                    "--tls-ca" => options with { TlsCa = value },
                    "--tls-password" => options with { TlsPassword = value },
                    _ => throw new ArgumentException($"unknown option {args[i]}"),
                };
            }

            return options;
        }
    }

    public sealed record BenchResult(
        string Label, string Workload, int Sessions, int InFlight, int Payload, long Ops, long Errors, double Seconds,
        double OpsPerSecond, double P50Ms, double P99Ms, double P999Ms, double MaxMs, double OfferedRate)
    {
        public long? ServerGcPauses { get; init; }
        public double? ServerGcPauseMaxMs { get; init; }
        public double? ServerGcPauseTotalMs { get; init; }
        public double? ServerAllocatedBytesPerOp { get; init; }
    }

    [System.Text.Json.Serialization.JsonSerializable(typeof(BenchResult))]
    internal sealed partial class BenchJson : System.Text.Json.Serialization.JsonSerializerContext;
}
