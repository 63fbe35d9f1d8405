namespace SharpKeeper.Server.Processing;

/// <summary>
/// Quantiles over a sliding ten-minute window, as Prometheus' Java client keeps them for Apache's
/// summaries: five buckets of two minutes, each a uniform sample (reservoir) of at most
/// <see cref="SamplesPerBucket"/> observations, so memory stays fixed under any load. Not thread-safe.
/// </summary>
internal sealed class QuantileWindow
{
    public const int SamplesPerBucket = 1024;
    private const int Buckets = 5;
    private const long BucketMillis = 120_000;

    private readonly long[][] _samples = [.. Enumerable.Range(0, Buckets).Select(_ => new long[SamplesPerBucket])];
    private readonly long[] _seen = new long[Buckets];
    private readonly long[] _bucketStart = new long[Buckets];
    private ulong _random = 0x9E3779B97F4A7C15;

    public void Add(long value, long nowMillis)
    {
        var index = Current(nowMillis);
        var seen = _seen[index]++;
        if (seen < SamplesPerBucket)
        {
            _samples[index][seen] = value;
            return;
        }

        // Reservoir sampling: the n-th observation replaces a random kept one with probability k/n.
        var slot = (long)(NextRandom() % (ulong)(seen + 1));
        if (slot < SamplesPerBucket)
        {
            _samples[index][slot] = value;
        }
    }

    /// <summary>Writes each quantile (0..1) of the window's observations into <paramref name="values"/>; NaN when the window is empty.</summary>
    public void Quantiles(ReadOnlySpan<double> quantiles, Span<double> values, long nowMillis)
    {
        var live = new List<long>();
        for (var i = 0; i < Buckets; i++)
        {
            if (_seen[i] > 0 && nowMillis - _bucketStart[i] < BucketMillis * Buckets)
            {
                live.AddRange(_samples[i].AsSpan(0, (int)Math.Min(_seen[i], SamplesPerBucket)));
            }
        }

        live.Sort();
        for (var q = 0; q < quantiles.Length; q++)
        {
            values[q] = live.Count == 0 ? double.NaN : live[Math.Clamp((int)Math.Ceiling(quantiles[q] * live.Count) - 1, 0, live.Count - 1)];
        }
    }

    /// <summary>The bucket for now, started afresh when its two minutes have come round again.</summary>
    private int Current(long nowMillis)
    {
        var slot = nowMillis / BucketMillis;
        var index = (int)(slot % Buckets);
        var start = slot * BucketMillis;
        if (_bucketStart[index] != start)
        {
            _bucketStart[index] = start;
            _seen[index] = 0;
        }

        return index;
    }

    private ulong NextRandom()
    {
        // xorshift64: cheap and good enough to choose which sample to keep.
        _random ^= _random << 13;
        _random ^= _random >> 7;
        _random ^= _random << 17;
        return _random;
    }
}
