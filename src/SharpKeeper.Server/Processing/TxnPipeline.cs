using System.Diagnostics.CodeAnalysis;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Data;
using SharpKeeper.Server.Persistence;

namespace SharpKeeper.Server.Processing;

/// <summary>
/// The txns of one server between prepare and reply: each is handed to the log (group-committed at
/// the end of a batch), counted durable when the log says so, and applied to the tree in zxid order
/// once the role commits it; the core answers each applied txn's client. Zxids are handed out here,
/// so the order of preparation is the order of the log. Core thread only.
/// </summary>
public sealed class TxnPipeline
{
    private readonly ITxnLog _log;
    private readonly Queue<OutstandingTxn> _outstanding = new();
    private readonly List<(long Zxid, TaskCompletionSource Waiter)> _durableWaiters = [];
    private readonly JuteWriter _scratch = new(1024);
    private DataTree _tree;
    private PendingChanges _pending;
    private long _nextZxid;
    private long _durableZxid;
    private long _appendedZxid;
    private bool _appended;

    public TxnPipeline(ITxnLog log, DataTree tree, PendingChanges pending, int commitLogCount)
    {
        _log = log;
        _tree = tree;
        _pending = pending;
        _nextZxid = tree.LastProcessedZxid + 1;
        _durableZxid = tree.LastProcessedZxid;
        _appendedZxid = _durableZxid;
        Committed = new CommittedLog(commitLogCount);
        Committed.Reset(tree.LastProcessedZxid);
    }

    /// <summary>The recent committed txns a leader syncs learners from (empty on a standalone server).</summary>
    public CommittedLog Committed { get; }

    /// <summary>Txns appended and not yet applied.</summary>
    public int Count => _outstanding.Count;

    /// <summary>The highest zxid the local log has reported durable (everything recovered from disk counts).</summary>
    public long LastDurableZxid => _durableZxid;

    /// <summary>
    /// True when every txn appended to the local log up to <paramref name="zxid"/> is durable. A zxid
    /// past the last appended txn needs nothing more: an epoch's start counts as processed but is no
    /// txn and is never written, so waiting for it would never end.
    /// </summary>
    public bool IsDurableThrough(long zxid) => Math.Min(zxid, _appendedZxid) <= _durableZxid;

    /// <summary>
    /// How far this server's history is durable: with nothing appended still awaiting the disk, all
    /// of it, up to the tree's last zxid (an epoch's start counts, though it is never logged).
    /// </summary>
    public long DurableThroughZxid => _appendedZxid <= _durableZxid ? Math.Max(_durableZxid, _tree.LastProcessedZxid) : _durableZxid;

    /// <summary>The highest zxid appended to the local log (durable or about to be).</summary>
    public long LastLoggedZxid => _outstanding.Count > 0 ? Math.Max(_outstanding.Last().Prepared.Header.Zxid, _tree.LastProcessedZxid) : _tree.LastProcessedZxid;

    /// <summary>The zxid for the next txn prepared here.</summary>
    public long TakeZxid() => _nextZxid++;

    /// <summary>A leader's new epoch: its zxids start at <paramref name="zxid"/>.</summary>
    public void StartZxidsAt(long zxid) => _nextZxid = zxid;

    /// <summary>
    /// Hands a txn prepared here to the log. With a <paramref name="proposer"/> (a leader) the txn is
    /// serialized once for the log, the proposal to every learner and the committed history.
    /// </summary>
    public void Append(PreparedTxn prepared, ClientRequest? request, IClientConnection? connection, ITxnProposer? proposer)
    {
        byte[]? body = null;
        if (proposer is not null)
        {
            TxnLogFormat.WriteBody(_scratch, prepared.Header, prepared.Txn);
            body = _scratch.WrittenSpan.ToArray();
            _log.Append(prepared.Header, prepared.Txn, body);
            proposer.Proposed(prepared.Header.Zxid, body);
        }
        else
        {
            _log.Append(prepared.Header, prepared.Txn);
        }

        Enqueue(new OutstandingTxn(prepared, request, connection, body));
    }

    /// <summary>A learner logs a txn its leader proposed; false when it is already logged (the proposal is ignored).</summary>
    public bool AcceptProposal(in TxnHeader header, Txn txn, byte[] body)
    {
        if (header.Zxid <= LastLoggedZxid)
        {
            return false;
        }

        _log.Append(header, txn, body);
        Enqueue(new OutstandingTxn(new PreparedTxn(header, txn, []), null, null, body));
        return true;
    }

    private void Enqueue(OutstandingTxn txn)
    {
        _outstanding.Enqueue(txn);
        _appendedZxid = txn.Prepared.Header.Zxid;
        _appended = true;
    }

    /// <summary>Ends a batch: one group commit for everything appended in it.</summary>
    public void Flush()
    {
        if (_appended)
        {
            _appended = false;
            _log.Flush();
        }
    }

    /// <summary>The log reports itself durable through <paramref name="zxid"/>; returns how far the history is now durable.</summary>
    public long Synced(long zxid)
    {
        _durableZxid = Math.Max(_durableZxid, zxid);
        for (var i = _durableWaiters.Count - 1; i >= 0; i--)
        {
            if (_durableWaiters[i].Zxid <= _durableZxid)
            {
                _durableWaiters[i].Waiter.TrySetResult();
                _durableWaiters.RemoveAt(i);
            }
        }

        return DurableThroughZxid;
    }

    /// <summary>Completes once the local log is durable through <paramref name="zxid"/> (see <see cref="IsDurableThrough"/>).</summary>
    public Task WaitDurableAsync(long zxid)
    {
        if (IsDurableThrough(zxid))
        {
            return Task.CompletedTask;
        }

        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _durableWaiters.Add((Math.Min(zxid, _appendedZxid), waiter));
        return waiter.Task;
    }

    /// <summary>
    /// Applies the oldest appended txn to the tree when the role committed through
    /// <paramref name="committedZxid"/>; false when none is left that far.
    /// </summary>
    public bool TryApplyNext(long committedZxid, [NotNullWhen(true)] out OutstandingTxn? applied, [NotNullWhen(true)] out ProcessTxnResult? result)
    {
        if (_outstanding.Count == 0 || _outstanding.Peek().Prepared.Header.Zxid > committedZxid)
        {
            applied = null;
            result = null;
            return false;
        }

        applied = _outstanding.Dequeue();
        var prepared = applied.Prepared;
        result = _tree.ProcessTxn(prepared.Header, prepared.Txn);
        _pending.Applied(prepared.Header.Zxid, prepared.Touched);
        if (applied.Body is { } body)
        {
            Committed.Add(prepared.Header.Zxid, body);
        }

        return true;
    }

    /// <summary>The zxid of the last txn appended and not yet applied; null when none waits.</summary>
    public long? LastOutstandingZxid => _outstanding.Count > 0 ? _outstanding.Last().Prepared.Header.Zxid : null;

    /// <summary>The log failed: every txn in flight is dropped (its outcome unknown); returns the connections that waited for one.</summary>
    public List<IClientConnection> Abandon()
    {
        var waiting = new List<IClientConnection>();
        while (_outstanding.TryDequeue(out var txn))
        {
            if (txn.Connection is { } connection)
            {
                waiting.Add(connection);
            }
        }

        _pending.Clear();
        return waiting;
    }

    /// <summary>
    /// A new tree replaces the old one (a snapshot received, a log truncated), made durable by the
    /// caller: what was in flight is gone, and the history starts again after the tree's last zxid
    /// (a caller that recovered from its own log seeds it again).
    /// </summary>
    public void Replace(DataTree tree, PendingChanges pending)
    {
        _outstanding.Clear();
        _tree = tree;
        _pending = pending;
        _durableZxid = tree.LastProcessedZxid;
        _appendedZxid = _durableZxid;
        Committed.Reset(tree.LastProcessedZxid);
    }
}

/// <summary>A txn handed to the log, waiting to be committed; <paramref name="Body"/> is its serialized form on an ensemble member (kept in <see cref="TxnPipeline.Committed"/> once applied).</summary>
public sealed record OutstandingTxn(PreparedTxn Prepared, ClientRequest? Request, IClientConnection? Connection, byte[]? Body);
