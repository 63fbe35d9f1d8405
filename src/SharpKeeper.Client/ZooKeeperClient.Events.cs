using System.Diagnostics;
using System.Threading.Channels;
using SharpKeeper.Protocol;

namespace SharpKeeper.Client;

internal enum DispatchKind : byte
{
    /// <summary>A node event (from the server, or a local WatchRemoved event) for a set of watchers.</summary>
    Notification,

    /// <summary>A connection-state change: StateChanged, then the watchers.</summary>
    State,

    /// <summary>A reply that arrived while events were queued: completing it waits its turn.</summary>
    Completion,

    /// <summary>Like Completion, for a reply that could not be decoded.</summary>
    Fault,
}

internal readonly struct DispatchItem
{
    public DispatchItem(DispatchKind kind, WatchedEvent e, List<Watcher>? watchers, bool local = false)
    {
        Kind = kind;
        Event = e;
        Watchers = watchers;
        Local = local;
    }

    public DispatchItem(PendingRequest request, ZkResult result)
    {
        Kind = DispatchKind.Completion;
        Request = request;
        Result = result;
    }

    public DispatchItem(PendingRequest request, Exception error)
    {
        Kind = DispatchKind.Fault;
        Request = request;
        Error = error;
    }

    public DispatchKind Kind { get; }
    public WatchedEvent Event { get; }
    public List<Watcher>? Watchers { get; }

    /// <summary>A client-made event (watch removed), not a server notification.</summary>
    public bool Local { get; }

    public PendingRequest? Request { get; }
    public ZkResult Result { get; }
    public Exception? Error { get; }
}

/// <summary>The event loop: one reader, items handled strictly in the order the socket side queued them.</summary>
public sealed partial class ZooKeeperClient
{
    private readonly Channel<DispatchItem> _events =
        Channel.CreateUnbounded<DispatchItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _dispatcher;

    /// <summary>Items queued and not yet handled; replies complete directly only while this is zero.</summary>
    private int _backlog;

    /// <summary>Completes when the event loop has delivered the last event of a finished session.</summary>
    internal Task EventLoop => _dispatcher;

    private bool Enqueue(in DispatchItem item)
    {
        Interlocked.Increment(ref _backlog);
        if (_events.Writer.TryWrite(item))
        {
            return true;
        }

        Interlocked.Decrement(ref _backlog);
        return false;
    }

    private void EnqueueState(KeeperState state, List<Watcher> watchers) =>
        Enqueue(new DispatchItem(DispatchKind.State, new WatchedEvent(EventType.None, state, null), watchers));

    private async Task DispatchLoopAsync()
    {
        var reader = _events.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var item))
            {
                try
                {
                    Dispatch(item);
                }
                finally
                {
                    Interlocked.Decrement(ref _backlog);
                }
            }
        }
    }

    private void Dispatch(in DispatchItem item)
    {
        switch (item.Kind)
        {
            case DispatchKind.Completion:
                item.Request!.TrySetResult(item.Result);
                return;
            case DispatchKind.Fault:
                item.Request!.TrySetException(item.Error!);
                return;
            case DispatchKind.State:
                Guard(StateChanged, item.Event.State);
                break;
            case DispatchKind.Notification when !item.Local:
                Guard(NotificationReceived, item.Event);
                break;
        }

        if (item.Watchers is { } watchers)
        {
            foreach (var watcher in watchers)
            {
                try
                {
                    watcher(item.Event);
                }
                catch (Exception e)
                {
                    // A throwing watcher must not stop the delivery of everything after it.
                    Trace.TraceError($"ZooKeeper watcher threw on {item.Event}: {e}");
                }
            }
        }
    }

    private static void Guard<T>(Action<T>? handler, T value)
    {
        if (handler is null)
        {
            return;
        }

        try
        {
            handler(value);
        }
        catch (Exception e)
        {
            Trace.TraceError($"ZooKeeper event handler threw on {value}: {e}");
        }
    }
}
