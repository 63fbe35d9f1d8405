namespace SharpKeeper.Server.Processing;

/// <summary>
/// Count, sum, min and max of a timing (as ZooKeeper's summary metrics print them in mntr:
/// zk_avg_X, zk_min_X, zk_max_X, zk_cnt_X, zk_sum_X). Recorded from any thread.
/// </summary>
public sealed class MetricSummary(string name)
{
    private readonly Lock _gate = new();
    private long _count;
    private long _sum;
    private long _min = long.MaxValue;
    private long _max;

    public string Name { get; } = name;

    public void Record(long value)
    {
        lock (_gate)
        {
            _count++;
            _sum += value;
            _min = Math.Min(_min, value);
            _max = Math.Max(_max, value);
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
}
