using System.Diagnostics;
using System.Runtime.InteropServices;
using SharpKeeper.Server.Admin;

namespace SharpKeeper.Server.Metrics;

/// <summary>
/// The runtime's series under the names Apache's JVM exports use (simpleclient_hotspot), filled
/// with the .NET counterpart: the managed heap for the "heap" area, the GC generations for memory
/// pools and collectors, the process's CPU, memory, descriptors and threads.
/// </summary>
internal static class RuntimeSeries
{
    private static readonly string[] GenerationNames = ["gen0", "gen1", "gen2", "loh", "poh"];

    public static void Write(PrometheusText text, GcPauseMonitor pauses)
    {
        using var process = Process.GetCurrentProcess();
        var gc = GC.GetGCMemoryInfo();
        var heapUsed = GC.GetTotalMemory(forceFullCollection: false);
        var heapCommitted = Math.Max(gc.TotalCommittedBytes, heapUsed);
        var resident = process.WorkingSet64;

        text.BeginFamily("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
        text.Sample("process_cpu_seconds_total", process.TotalProcessorTime.TotalSeconds);
        text.BeginFamily("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
        text.Sample("process_start_time_seconds", new DateTimeOffset(process.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0);
        text.BeginFamily("process_open_fds", "gauge", "Number of open file descriptors.");
        text.Sample("process_open_fds", ProcessFacts.OpenFileDescriptors());
        text.BeginFamily("process_max_fds", "gauge", "Maximum number of open file descriptors.");
        text.Sample("process_max_fds", ProcessFacts.MaxFileDescriptors());
        text.BeginFamily("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
        text.Sample("process_virtual_memory_bytes", process.VirtualMemorySize64);
        text.BeginFamily("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
        text.Sample("process_resident_memory_bytes", resident);

        // "heap" is the managed (GC) heap; "nonheap" is the rest of the resident memory: the runtime, code and native buffers.
        var nonHeap = Math.Max(0, resident - heapCommitted);
        text.BeginFamily("jvm_memory_bytes_used", "gauge", "Used bytes of a given JVM memory area.");
        text.Sample("jvm_memory_bytes_used", heapUsed, ("area", "heap"));
        text.Sample("jvm_memory_bytes_used", nonHeap, ("area", "nonheap"));
        text.BeginFamily("jvm_memory_bytes_committed", "gauge", "Committed (bytes) of a given JVM memory area.");
        text.Sample("jvm_memory_bytes_committed", heapCommitted, ("area", "heap"));
        text.Sample("jvm_memory_bytes_committed", nonHeap, ("area", "nonheap"));
        text.BeginFamily("jvm_memory_bytes_max", "gauge", "Max (bytes) of a given JVM memory area.");
        text.Sample("jvm_memory_bytes_max", gc.TotalAvailableMemoryBytes, ("area", "heap"));
        text.Sample("jvm_memory_bytes_max", -1, ("area", "nonheap"));

        // The GC's generations stand for the JVM's memory pools, measured after the last collection.
        text.BeginFamily("jvm_memory_pool_bytes_used", "gauge", "Used bytes of a given JVM memory pool.");
        var generations = gc.GenerationInfo;
        for (var i = 0; i < generations.Length && i < GenerationNames.Length; i++)
        {
            text.Sample("jvm_memory_pool_bytes_used", generations[i].SizeAfterBytes, ("pool", GenerationNames[i]));
        }

        text.BeginFamily("jvm_gc_collection_seconds", "summary", "Time spent in a given JVM garbage collector in seconds.");
        for (var generation = 0; generation < 3; generation++)
        {
            var (collections, pauseMicros) = pauses.OfGeneration(generation);
            text.Sample("jvm_gc_collection_seconds_count", collections, ("gc", GenerationNames[generation]));
            text.Sample("jvm_gc_collection_seconds_sum", pauseMicros / 1e6, ("gc", GenerationNames[generation]));
        }

        text.BeginFamily("jvm_threads_current", "gauge", "Current thread count of a JVM");
        text.Sample("jvm_threads_current", process.Threads.Count);
        text.BeginFamily("jvm_info", "gauge", "JVM version info");
        text.Sample("jvm_info", 1, ("version", Environment.Version.ToString()), ("vendor", "Microsoft"), ("runtime", RuntimeInformation.FrameworkDescription));

        // .NET's own, with no JVM counterpart.
        text.BeginFamily("dotnet_gc_allocated_bytes_total", "counter", "Bytes allocated on the managed heap since the process started.");
        text.Sample("dotnet_gc_allocated_bytes_total", GC.GetTotalAllocatedBytes(precise: false));
        text.BeginFamily("dotnet_gc_pause_ratio", "gauge", "Share of the process's lifetime the runtime was paused for garbage collection.");
        text.Sample("dotnet_gc_pause_ratio", gc.PauseTimePercentage / 100);
        text.BeginFamily("dotnet_threadpool_threads", "gauge", "Threads in the .NET thread pool.");
        text.Sample("dotnet_threadpool_threads", ThreadPool.ThreadCount);
        text.BeginFamily("dotnet_threadpool_queue_length", "gauge", "Work items waiting in the .NET thread pool's queues.");
        text.Sample("dotnet_threadpool_queue_length", ThreadPool.PendingWorkItemCount);
    }
}
