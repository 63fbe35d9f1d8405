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

    // Runtime events arrive on one dispatching thread, in order.
    private long _suspendedAt;

    public MetricSummary Pauses { get; } = new("gc_pause_us");

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
                break;
            case RestartExecutionEnd when _suspendedAt != 0:
                Pauses.Record((eventData.TimeStamp.Ticks - _suspendedAt) / (TimeSpan.TicksPerMillisecond / 1000));
                _suspendedAt = 0;
                break;
        }
    }
}
