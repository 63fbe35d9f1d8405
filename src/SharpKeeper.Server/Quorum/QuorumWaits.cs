namespace SharpKeeper.Server.Quorum;

/// <summary>
/// Bounded waits of the discovery and sync handshakes: a wait that runs out ends the role with a
/// <see cref="QuorumException"/> that names what was awaited, so the log says which step stalled.
/// </summary>
public static class QuorumWaits
{
    public static async Task WithinAsync(this Task task, TimeSpan limit, string what, CancellationToken cancellationToken = default)
    {
        try
        {
            await task.WaitAsync(limit, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new QuorumException($"waited {limit.TotalMilliseconds} ms for {what}");
        }
    }

    public static async Task<T> WithinAsync<T>(this Task<T> task, TimeSpan limit, string what, CancellationToken cancellationToken = default)
    {
        await ((Task)task).WithinAsync(limit, what, cancellationToken).ConfigureAwait(false);
        return await task.ConfigureAwait(false);
    }
}
