using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace SharpKeeper.Server.Network;

/// <summary>
/// Bounds the warnings that hostile or broken clients can make the server write. In each interval
/// (a minute) the first few warnings of each kind from each source address are logged; the rest are
/// only counted, and one summary line at the end of the interval says how many were left out and
/// where they came from. So a flood of bad frames cannot fill the disk or bury real warnings, and
/// memory stays bounded however many addresses send them. Thread-safe: connections call it from
/// any thread, on their error paths only.
/// </summary>
public sealed class RateLimitedWarnings : IDisposable
{
    private readonly ILogger _logger;
    private readonly int _perSourceAndKind;
    private readonly int _maxTrackedSources;
    private readonly Timer? _timer;
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Kind, string Source), int> _seen = [];
    private readonly Dictionary<string, long> _suppressedByKind = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _suppressedBySource = new(StringComparer.Ordinal);
    private long _suppressed;
    private long _intervalStartMillis = Environment.TickCount64;

    /// <param name="interval">How often the summary is written; <see cref="Timeout.InfiniteTimeSpan"/>: only by <see cref="Summarize"/>.</param>
    /// <param name="perSourceAndKind">Warnings logged per kind and source address in one interval.</param>
    /// <param name="maxTrackedSources">Kind and address pairs remembered in one interval; past that, everything is only counted.</param>
    public RateLimitedWarnings(ILogger logger, TimeSpan interval, int perSourceAndKind = 3, int maxTrackedSources = 64)
    {
        _logger = logger;
        _perSourceAndKind = perSourceAndKind;
        _maxTrackedSources = maxTrackedSources;
        if (interval != Timeout.InfiniteTimeSpan)
        {
            _timer = new Timer(_ => Summarize(), null, interval, interval);
        }
    }

    /// <summary>Suppressed since the last summary (for tests and diagnostics).</summary>
    public long Suppressed
    {
        get
        {
            lock (_lock)
            {
                return _suppressed;
            }
        }
    }

    /// <summary>True when the caller should write this warning; false when it was counted instead.</summary>
    public bool ShouldLog(string kind, string source)
    {
        lock (_lock)
        {
            var key = (kind, source);
            if (_seen.TryGetValue(key, out var count))
            {
                if (count < _perSourceAndKind)
                {
                    _seen[key] = count + 1;
                    return true;
                }
            }
            else if (_seen.Count < _maxTrackedSources)
            {
                _seen[key] = 1;
                return true;
            }

            _suppressed++;
            _suppressedByKind[kind] = _suppressedByKind.GetValueOrDefault(kind) + 1;
            if (_suppressedBySource.Count < _maxTrackedSources || _suppressedBySource.ContainsKey(source))
            {
                _suppressedBySource[source] = _suppressedBySource.GetValueOrDefault(source) + 1;
            }

            return false;
        }
    }

    /// <summary>Writes one line for what was suppressed since the last summary (nothing if nothing was), and starts a new interval.</summary>
    public void Summarize()
    {
        string? line = null;
        lock (_lock)
        {
            if (_suppressed > 0)
            {
                line = Describe();
            }

            _seen.Clear();
            _suppressedByKind.Clear();
            _suppressedBySource.Clear();
            _suppressed = 0;
            _intervalStartMillis = Environment.TickCount64;
        }

        if (line is not null)
        {
            _logger.LogWarning("{Summary}", line);
        }
    }

    private string Describe()
    {
        var text = new StringBuilder();
        var seconds = (Environment.TickCount64 - _intervalStartMillis) / 1000.0;
        text.Append(CultureInfo.InvariantCulture, $"Suppressed {_suppressed} warnings about client input in the last {seconds:0.#} s (by kind: ");
        AppendTop(text, _suppressedByKind);
        text.Append("; by address: ");
        AppendTop(text, _suppressedBySource);
        return text.Append(')').ToString();
    }

    private static void AppendTop(StringBuilder text, Dictionary<string, long> counts)
    {
        const int Shown = 5;
        var first = true;
        foreach (var (name, count) in counts.OrderByDescending(p => p.Value).Take(Shown))
        {
            text.Append(first ? "" : ", ").Append(CultureInfo.InvariantCulture, $"{name} {count}");
            first = false;
        }

        if (counts.Count > Shown)
        {
            text.Append(CultureInfo.InvariantCulture, $", {counts.Count - Shown} more");
        }
    }

    public void Dispose()
    {
        _timer?.Dispose();
        Summarize();
    }
}
