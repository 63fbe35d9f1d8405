using System.Diagnostics;
using SharpKeeper.Client;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Bench;

/// <summary>
/// Sessions x in-flight workers, each issuing one request at a time, so the server always has
/// sessions x in-flight requests outstanding. Latencies go into a fixed-bucket histogram (no
/// allocation per request); the run stops at the time limit or the op count, whichever comes first.
/// </summary>
public static class LoadGenerator
{
    /// <summary>TLS with a client certificate (PKCS12) and the server's certificate checked against a CA (PEM), when both are given.</summary>
    private static System.Net.Security.SslClientAuthenticationOptions? TlsOf(BenchOptions options)
    {
        if (options.TlsClientCertificate is null || options.TlsCa is null)
        {
            return null;
        }

        var ca = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(options.TlsCa);
        var certificate = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12FromFile(options.TlsClientCertificate, options.TlsPassword);
        return new System.Net.Security.SslClientAuthenticationOptions
        {
            ClientCertificates = [certificate],
            RemoteCertificateValidationCallback = (_, server, _, _) =>
            {
                if (server is null)
                {
                    return false;
                }

                using var chain = new System.Security.Cryptography.X509Certificates.X509Chain();
                chain.ChainPolicy.TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck;
                return chain.Build(System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(server.GetRawCertData()));
            },
        };
    }

    public static async Task<BenchResult> RunAsync(BenchOptions options)
    {
        var root = $"/bench-{Guid.NewGuid():N}"[..18];
        var clients = new List<ZooKeeperClient>();
        var tls = TlsOf(options);
        for (var i = 0; i < options.Sessions; i++)
        {
            clients.Add(await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectString = options.Server, SessionTimeout = TimeSpan.FromSeconds(30), Tls = tls }));
        }

        var payload = new byte[options.Payload];
        var open = new List<Acl>(Acl.OpenAclUnsafe);
        await Ok(clients[0].SendAsync(OpCode.Create, new CreateRequest(root, [], open, 0)));

        // Reads need something to read: one node per worker, created before the clock starts.
        var workers = options.Sessions * options.InFlight;
        if (options.Workload is "get" or "exists" or "children" or "set" or "mix")
        {
            var setup = new List<Task>();
            for (var w = 0; w < workers; w++)
            {
                setup.Add(Ok(clients[w % clients.Count].SendAsync(OpCode.Create, new CreateRequest($"{root}/n{w}", payload, open, 0))));
            }

            await Task.WhenAll(setup);
        }

        var histogram = new LatencyHistogram();
        long ops = 0, errors = 0;
        var deadline = Stopwatch.GetTimestamp() + (long)(options.Seconds * Stopwatch.Frequency);
        var started = Stopwatch.GetTimestamp();
        var tasks = new List<Task>();
        for (var w = 0; w < workers; w++)
        {
            var client = clients[w % clients.Count];
            var worker = w;
            tasks.Add(Task.Run(async () =>
            {
                var random = new Random(worker);
                long sequence = 0;
                var schedule = new OpenLoopSchedule(options.Rate, workers, worker, started);
                while (Stopwatch.GetTimestamp() < deadline && Interlocked.Increment(ref ops) <= options.Count)
                {
                    var path = $"{root}/n{worker}";
                    var begin = await schedule.NextAsync();
                    var result = options.Workload switch
                    {
                        "create" => await client.SendAsync(OpCode.Create, new CreateRequest(CreatePath(root, worker, sequence++, options.Fanout), payload, open, 0)),
                        "set" => await client.SendAsync(OpCode.SetData, new SetDataRequest(path, payload, -1)),
                        "get" => await client.SendAsync(OpCode.GetData, new PathWatchRequest(path, false)),
                        "exists" => await client.SendAsync(OpCode.Exists, new PathWatchRequest(path, false)),
                        "children" => await client.SendAsync(OpCode.GetChildren, new PathWatchRequest(root, false)),
                        "mix" => random.Next(100) < options.ReadPercent
                            ? await client.SendAsync(OpCode.GetData, new PathWatchRequest(path, false))
                            : await client.SendAsync(OpCode.SetData, new SetDataRequest(path, payload, -1)),
                        "multi" => await client.MultiAsync(
                        [
                            new MultiOp(OpCode.Create, new CreateRequest($"{root}/m{worker}-{sequence}", payload, open, 0)),
                            new MultiOp(OpCode.Delete, new PathVersionRequest($"{root}/m{worker}-{sequence++}", -1)),
                        ]),
                        "delete" => await CreateThenDeleteAsync(client, $"{root}/d{worker}-{sequence++}", payload, open),
                        _ => throw new ArgumentException("unknown workload " + options.Workload),
                    };
                    histogram.Record(Stopwatch.GetTimestamp() - begin);
                    if (result.Err != ErrorCode.Ok || (result.Body is MultiResponse multi && multi.Results.Any(r => r.Err != ErrorCode.Ok)))
                    {
                        Interlocked.Increment(ref errors);
                    }
                }
            }));
        }

        await Task.WhenAll(tasks);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var completed = histogram.Count;
        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }

        return new BenchResult(options.Label, options.Workload, options.Sessions, options.InFlight, options.Payload, completed, errors, elapsed,
            completed / elapsed, histogram.PercentileMs(50), histogram.PercentileMs(99), histogram.PercentileMs(99.9), histogram.MaxMs, options.Rate);
    }

    /// <summary>
    /// The path of a worker's n-th create: flat (c{worker}-{n}), or with a fanout F, a parent
    /// p{worker}-{k} followed by its F children, so every parent exists before its children.
    /// </summary>
    private static string CreatePath(string root, int worker, long sequence, int fanout)
    {
        if (fanout <= 0)
        {
            return $"{root}/c{worker}-{sequence}";
        }

        var (parent, slot) = Math.DivRem(sequence, fanout + 1);
        return slot == 0 ? $"{root}/p{worker}-{parent}" : $"{root}/p{worker}-{parent}/c{slot}";
    }

    private static async Task<ZkResult> CreateThenDeleteAsync(ZooKeeperClient client, string path, byte[] payload, List<Acl> open)
    {
        var created = await client.SendAsync(OpCode.Create, new CreateRequest(path, payload, open, 0));
        return created.Err != ErrorCode.Ok ? created : await client.SendAsync(OpCode.Delete, new PathVersionRequest(path, -1));
    }

    private static async Task Ok(Task<ZkResult> request)
    {
        var result = await request;
        if (result.Err != ErrorCode.Ok)
        {
            throw new KeeperException(result.Err);
        }
    }
}

/// <summary>
/// When a worker sends its next request. Closed loop (rate 0): at once. Open loop: worker w of W
/// sends its k-th request at start + (k * W + w) / rate, so together they offer the rate evenly.
/// The latency clock starts at the scheduled moment when the worker is late (its previous reply
/// came after it: the server's delay counts, not hidden by the missed send), and at the wake-up
/// when it is early (the client's own timer slack does not count).
/// </summary>
public sealed class OpenLoopSchedule(double rate, int workers, int worker, long started)
{
    private long _sent;

    public async ValueTask<long> NextAsync()
    {
        var now = Stopwatch.GetTimestamp();
        if (rate <= 0)
        {
            return now;
        }

        var due = started + (long)(((_sent++ * workers) + worker) / rate * Stopwatch.Frequency);
        if (now >= due)
        {
            return due;
        }

        await Task.Delay(TimeSpan.FromTicks((due - now) * TimeSpan.TicksPerSecond / Stopwatch.Frequency)).ConfigureAwait(false);
        return Stopwatch.GetTimestamp();
    }
}

/// <summary>Log-linear buckets of 1/16 per power of two from 1 µs: about 6% resolution, lock-free recording.</summary>
public sealed class LatencyHistogram
{
    private const int SubBuckets = 16;
    private readonly long[] _counts = new long[64 * SubBuckets];
    private long _max;
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    public double MaxMs => Interlocked.Read(ref _max) * 1000.0 / Stopwatch.Frequency;

    public void Record(long ticks)
    {
        var micros = Math.Max(1, ticks * 1_000_000 / Stopwatch.Frequency);
        Interlocked.Increment(ref _counts[Index(micros)]);
        Interlocked.Increment(ref _count);
        long current;
        while ((current = Interlocked.Read(ref _max)) < ticks && Interlocked.CompareExchange(ref _max, ticks, current) != current)
        {
        }
    }

    public double PercentileMs(double percentile)
    {
        var target = (long)Math.Ceiling(Count * percentile / 100.0);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= target && target > 0)
            {
                return UpperMicros(i) / 1000.0;
            }
        }

        return MaxMs;
    }

    private static int Index(long micros)
    {
        var exponent = 63 - (int)long.LeadingZeroCount(micros);
        var sub = exponent >= 4 ? (int)((micros >> (exponent - 4)) & (SubBuckets - 1)) : (int)(micros & (SubBuckets - 1));
        return (exponent * SubBuckets) + sub;
    }

    private static double UpperMicros(int index)
    {
        var exponent = index / SubBuckets;
        var sub = index % SubBuckets;
        return exponent >= 4 ? (1L << exponent) + ((sub + 1L) << (exponent - 4)) : sub + 1;
    }
}
