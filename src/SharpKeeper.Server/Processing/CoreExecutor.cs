using System.Collections.Concurrent;

namespace SharpKeeper.Server.Processing;

/// <summary>
/// Runs the core's messages one at a time, in the order they were posted, on the thread that posts
/// them: a client's receive loop that posts a request goes on to prepare it, answer it and send the
/// reply, with no hand-off to a core thread and back. When another thread is already running the
/// core, a post only queues, and that thread takes the message in its batch. So the core stays
/// single-threaded (never two messages at once) while an unbatched request costs no thread wake-up.
/// A thread runs at most <see cref="MaxBatchesInline"/> batches before it hands the rest to the thread
/// pool, so a long run (a snapshot taken a slice per batch) never holds one client's thread for long;
/// <see cref="PostInBackground"/> never runs the core on the caller's thread (the log's fsync thread,
/// which must go back to syncing).
/// </summary>
public sealed class CoreExecutor(Action<CoreMessage> handle, Action endBatch)
{
    private const int MaxBatchesInline = 4;
    private readonly ConcurrentQueue<CoreMessage> _queue = new();
    private readonly Action<CoreMessage> _handle = handle;
    private readonly Action _endBatch = endBatch;
    private int _running;
    private volatile bool _started;

    /// <summary>True while a thread runs the core's messages.</summary>
    public bool IsRunning => Volatile.Read(ref _running) != 0;

    /// <summary>Queues a message and, unless another thread is running the core, runs it (and whatever else is queued) here.</summary>
    public void Post(CoreMessage message)
    {
        Queue(message);
        RunQueued();
    }

    /// <summary>Queues a message without running it; <see cref="RunQueued"/> runs it with whatever else was queued.</summary>
    public void Queue(CoreMessage message) => _queue.Enqueue(message);

    /// <summary>Runs the queued messages here, unless another thread is running the core (that thread takes them).</summary>
    public void RunQueued()
    {
        if (_started && !_queue.IsEmpty && TryAcquire())
        {
            Run();
        }
    }

    /// <summary>Queues a message; if no thread is running the core, one from the thread pool does.</summary>
    public void PostInBackground(CoreMessage message)
    {
        _queue.Enqueue(message);
        if (_started && TryAcquire())
        {
            RunOnPool();
        }
    }

    /// <summary>Starts running messages: those queued before now at once, on the thread pool.</summary>
    public void Start()
    {
        _started = true;
        if (TryAcquire())
        {
            RunOnPool();
        }
    }

    /// <summary>Stops running messages (later posts only queue) and waits, bounded, for a run in progress to end.</summary>
    public void Stop(TimeSpan wait)
    {
        _started = false;
        var deadline = Environment.TickCount64 + (long)wait.TotalMilliseconds;
        var spin = new SpinWait();
        while (IsRunning && Environment.TickCount64 < deadline)
        {
            spin.SpinOnce(sleep1Threshold: 10);
        }
    }

    private bool TryAcquire() => Interlocked.CompareExchange(ref _running, 1, 0) == 0;

    /// <summary>Runs on a pool thread; the caller holds the core, and the pool's thread releases it.</summary>
    private void RunOnPool() => ThreadPool.UnsafeQueueUserWorkItem(static executor => executor.Run(), this, preferLocal: false);

    /// <summary>Runs batches while holding the core; releases it, then takes it back if a message slipped in meanwhile.</summary>
    private void Run()
    {
        var batches = 0;
        do
        {
            try
            {
                while (_started && !_queue.IsEmpty)
                {
                    if (batches++ == MaxBatchesInline)
                    {
                        // Still holding the core: the pool's thread takes over from here.
                        RunOnPool();
                        return;
                    }

                    while (_started && _queue.TryDequeue(out var message))
                    {
                        _handle(message);
                    }

                    _endBatch();
                }
            }
            catch
            {
                Volatile.Write(ref _running, 0);
                throw;
            }

            Volatile.Write(ref _running, 0);
        }
        while (_started && !_queue.IsEmpty && TryAcquire());
    }
}
