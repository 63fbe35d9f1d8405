namespace SharpKeeper.Server.Processing;

/// <summary>
/// Apache's globalOutstandingLimit: while the core holds that many client requests unanswered,
/// connections stop reading new ones (their bytes wait in the socket, so TCP pushes back on the
/// clients) and resume when it drops below. Set on the core thread; waited on by connections.
/// </summary>
public sealed class OutstandingGate(long limit)
{
    private static readonly Task Open = Task.CompletedTask;
    private long _outstanding;
    private volatile TaskCompletionSource? _closed;

    public long Limit { get; } = limit;

    /// <summary>Whether connections are holding back (for monitoring and tests).</summary>
    public bool IsClosed => _closed is not null;

    /// <summary>The core's count of unanswered requests, after each change.</summary>
    public void Set(long outstanding)
    {
        Volatile.Write(ref _outstanding, outstanding);
        if (outstanding >= Limit)
        {
            _closed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        else if (_closed is { } closed)
        {
            _closed = null;
            closed.TrySetResult();
        }
    }

    /// <summary>Completes at once below the limit; otherwise when the count drops below it.</summary>
    public Task WaitOpenAsync(CancellationToken cancellationToken) =>
        _closed is { } closed && Volatile.Read(ref _outstanding) >= Limit ? closed.Task.WaitAsync(cancellationToken) : Open;
}
