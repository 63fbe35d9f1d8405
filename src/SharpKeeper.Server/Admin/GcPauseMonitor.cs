using System.Diagnostics.Tracing;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Admin;

/// <summary>
/// Measures every stop-the-world pause of the garbage collector, from the runtime's own events:
/// a pause runs from "suspend execution begin" to "restart execution end". Recorded in
/// microseconds (mntr's zk_*_gc_pause_us), so the longest pause under load can be read and reset.
/// </summary>
public sealed class GcPauseMonitor : EventListener
{
    private const string RuntimeSource = "Microsoft-Windows-DotNETRuntime";
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private const int SuspendExecutionBegin = 9;
    private const int RestartExecutionEnd = 3;
    private const int GcStart = 1;
    private const int Generations = 3;

    // Runtime events arrive on one dispatching thread, in order.
    private long _suspendedAt;
    private int _depth = -1;
    private readonly long[] _collections = new long[Generations];
    private readonly long[] _pauseMicros = new long[Generations];

    public MetricSummary Pauses { get; } = new("gc_pause_us");

    /// <summary>Collections of a generation (0, 1, 2) and the time the runtime was paused for them, in microseconds.</summary>
    public (long Collections, long PauseMicros) OfGeneration(int generation) =>
        (Interlocked.Read(ref _collections[generation]), Interlocked.Read(ref _pauseMicros[generation]));

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == RuntimeSource)
        {
            EnableEvents(eventSource, EventLevel.Informational, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        switch (eventData.EventId)
        {
            case SuspendExecutionBegin:
                _suspendedAt = eventData.TimeStamp.Ticks;
                _depth = -1;
                break;
            case GcStart when eventData.Payload is { Count: > 1 } payload && payload[1] is uint depth && depth < Generations:
                // The pause that is under way (if any) is this collection's.
                _depth = (int)depth;
                Interlocked.Increment(ref _collections[depth]);
                break;
            case RestartExecutionEnd when _suspendedAt != 0:
                var micros = (eventData.TimeStamp.Ticks - _suspendedAt) / (TimeSpan.TicksPerMillisecond / 1000);
                Pauses.Record(micros);
                if (_depth >= 0)
                {
                    Interlocked.Add(ref _pauseMicros[_depth], micros);
                }

                _suspendedAt = 0;
                _depth = -1;
                break;
        }
    }
}
