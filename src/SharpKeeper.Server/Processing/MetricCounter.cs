namespace SharpKeeper.Server.Processing;

/// <summary>A counter under an Apache ServerMetrics name, safe to count from any thread.</summary>
public sealed class MetricCounter(string name)
{
    private long _value;

    public string Name { get; } = name;

    public long Value => Interlocked.Read(ref _value);

    public void Increment() => Interlocked.Increment(ref _value);
}
