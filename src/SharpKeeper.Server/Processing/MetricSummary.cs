namespace SharpKeeper.Server.Processing;

/// <summary>
/// A summary metric: count, sum, min and max since the last reset (what mntr prints), and
/// quantiles over the last ten minutes (what the Prometheus endpoint exports, as Apache's
/// Prometheus summaries do). Safe to record from any thread.
/// </summary>
public sealed class MetricSummary(string name)
{
    private readonly Lock _gate = new();
    private readonly QuantileWindow _window = new();
    private long _count;
    private long _sum;
    private long _min = long.MaxValue;
    private long _max;

    // Prometheus counts and sums never reset, even when srst resets mntr's figures.
    private long _totalCount;
    private long _totalSum;

    public string Name { get; } = name;

    public void Record(long value)
    {
        lock (_gate)
        {
            _count++;
            _sum += value;
            _min = Math.Min(_min, value);
            _max = Math.Max(_max, value);
            _totalCount++;
            _totalSum += value;
            _window.Add(value, Environment.TickCount64);
        }
    }

    /// <summary>Starts counting afresh (srst).</summary>
    public void Reset()
    {
        lock (_gate)
        {
            (_count, _sum, _min, _max) = (0, 0, long.MaxValue, 0);
        }
    }

    public (long Count, long Sum, long Min, long Max) Read()
    {
        lock (_gate)
        {
            return (_count, _sum, _count == 0 ? 0 : _min, _max);
        }
    }

    /// <summary>Count and sum since start, and the requested quantiles of the last ten minutes (NaN when none were recorded).</summary>
    public (long Count, long Sum, double[] Quantiles) ReadWindow(ReadOnlySpan<double> quantiles)
    {
        var values = new double[quantiles.Length];
        lock (_gate)
        {
            _window.Quantiles(quantiles, values, Environment.TickCount64);
            return (_totalCount, _totalSum, values);
        }
    }
}
