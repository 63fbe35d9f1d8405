using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace SharpKeeper.Bench;

/// <summary>What the server itself spent on a run: garbage-collection pauses and, where it reports them, allocations.</summary>
public sealed record ServerCost(long GcPauses, double GcPauseMaxMs, double GcPauseTotalMs, double? AllocatedBytesPerOp);

/// <summary>
/// Reads a server's own costs around a run. SharpKeeper reports them in mntr (zk_*_gc_pause_us,
/// zk_allocated_bytes; srst resets the pauses); for a JVM server, the pauses come from the lines
/// its -Xlog:gc file gained during the run.
/// </summary>
public sealed partial class ServerStats
{
    private readonly string _host;
    private readonly int _port;
    private readonly string? _jvmGcLog;
    private long _allocatedBefore;
    private long _gcLogOffset;

    private ServerStats(string server, string? jvmGcLog)
    {
        var colon = server.LastIndexOf(':');
        _host = server[..colon];
        _port = int.Parse(server[(colon + 1)..], CultureInfo.InvariantCulture);
        _jvmGcLog = jvmGcLog;
    }

    public static async Task<ServerStats> BeginAsync(string server, string? jvmGcLog)
    {
        var stats = new ServerStats(server, jvmGcLog);
        if (jvmGcLog is not null)
        {
            stats._gcLogOffset = new FileInfo(jvmGcLog).Length;
        }
        else
        {
            await stats.WordAsync("srst");
            stats._allocatedBefore = (await stats.MonitorAsync()).GetValueOrDefault("zk_allocated_bytes");
        }

        return stats;
    }

    public async Task<ServerCost?> EndAsync(long ops)
    {
        if (_jvmGcLog is not null)
        {
            await using var file = new FileStream(_jvmGcLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            file.Position = _gcLogOffset;
            var pauses = new List<double>();
            foreach (var line in (await new StreamReader(file).ReadToEndAsync()).Split('\n'))
            {
                var match = JvmPause().Match(line);
                if (match.Success)
                {
                    pauses.Add(double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
                }
            }

            return new ServerCost(pauses.Count, pauses.DefaultIfEmpty(0).Max(), pauses.Sum(), null);
        }

        var monitor = await MonitorAsync();
        if (!monitor.TryGetValue("zk_cnt_gc_pause_us", out var count))
        {
            return null;
        }

        var allocated = monitor.GetValueOrDefault("zk_allocated_bytes") - _allocatedBefore;
        return new ServerCost(count, monitor["zk_max_gc_pause_us"] / 1000.0, monitor["zk_sum_gc_pause_us"] / 1000.0,
            ops > 0 ? (double)allocated / ops : null);
    }

    // "[12.345s][info][gc] GC(7) Pause Young (Normal) (G1 Evacuation Pause) 30M->5M(252M) 4.567ms"
    [GeneratedRegex(@"\bPause\b.*?([0-9]+(?:\.[0-9]+)?)ms\s*$")]
    private static partial Regex JvmPause();

    private async Task<Dictionary<string, long>> MonitorAsync()
    {
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in (await WordAsync("mntr")).Split('\n'))
        {
            var parts = line.Split('\t');
            if (parts.Length == 2 && long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
            {
                values[parts[0]] = value;
            }
        }

        return values;
    }

    private async Task<string> WordAsync(string word)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(_host, _port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(word));
        return await new StreamReader(stream, Encoding.ASCII).ReadToEndAsync();
    }
}
