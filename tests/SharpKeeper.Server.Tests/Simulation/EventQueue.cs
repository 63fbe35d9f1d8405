namespace SharpKeeper.Server.Tests.Simulation;

/// <summary>Simulated time: actions run in time order (ties in the order they were scheduled), one at a time.</summary>
public sealed class EventQueue
{
    private readonly PriorityQueue<Action, (long Time, long Seq)> _events = new();
    private long _seq;

    public long Now { get; private set; }

    public void At(long time, Action action) => _events.Enqueue(action, (time, _seq++));

    public void RunUntil(long end)
    {
        while (_events.TryPeek(out _, out var key) && key.Time <= end)
        {
            var action = _events.Dequeue();
            Now = key.Time;
            action();
        }

        Now = end;
    }

    /// <summary>
    /// Runs actions in order until <paramref name="done"/> holds (checked before the first and after
    /// each one) or the next action is later than <paramref name="end"/>. Returns whether it holds;
    /// when it does not, the time is <paramref name="end"/>.
    /// </summary>
    public bool RunUntil(long end, Func<bool> done)
    {
        while (!done())
        {
            if (!_events.TryPeek(out _, out var key) || key.Time > end)
            {
                Now = Math.Max(Now, end);
                return false;
            }

            var action = _events.Dequeue();
            Now = key.Time;
            action();
        }

        return true;
    }
}
