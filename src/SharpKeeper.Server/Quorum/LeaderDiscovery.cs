namespace SharpKeeper.Server.Quorum;

/// <summary>
/// The leader's rendezvous points of ZAB discovery and synchronization, each passed once a quorum
/// of voters (the leader included) has reached it: joined (the new epoch is the largest accepted
/// epoch plus one), acknowledged the epoch (no joiner may be more up to date than the leader), and
/// acknowledged NEWLEADER. Each wait gives up after initLimit ticks.
/// </summary>
public sealed class LeaderDiscovery(long myId, IReadOnlySet<long> voters, TimeSpan limit)
{
    private readonly Lock _gate = new();
    private readonly HashSet<long> _joined = [];
    private readonly HashSet<long> _ackedEpoch = [];
    private readonly HashSet<long> _ackedNewLeader = [];
    private readonly TaskCompletionSource<long> _epoch = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _epochAcked = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _newLeaderAcked = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _proposedEpoch = -1;
    private long _leaderCurrentEpoch;
    private long _leaderLastZxid;

    public Task Started => _started.Task;

    public IReadOnlyCollection<long> Joined
    {
        get
        {
            lock (_gate)
            {
                return [.. _joined];
            }
        }
    }

    private bool IsQuorum(HashSet<long> set) => set.Contains(myId) && set.Count(voters.Contains) > voters.Count / 2;

    /// <summary>A server (the leader or a learner) joins with its accepted epoch; completes with the new epoch.</summary>
    public Task<long> JoinAsync(long sid, long acceptedEpoch)
    {
        lock (_gate)
        {
            if (!_epoch.Task.IsCompleted)
            {
                _proposedEpoch = Math.Max(_proposedEpoch, acceptedEpoch + 1);
                if (voters.Contains(sid))
                {
                    _joined.Add(sid);
                }

                if (IsQuorum(_joined))
                {
                    _epoch.TrySetResult(_proposedEpoch);
                }
            }
        }

        return WithLimit(_epoch.Task, "a quorum to join with its epoch (FOLLOWERINFO)", _joined);
    }

    /// <summary>The leader's own state, which every learner's is compared with.</summary>
    public void SetLeaderState(long currentEpoch, long lastZxid)
    {
        lock (_gate)
        {
            _leaderCurrentEpoch = currentEpoch;
            _leaderLastZxid = lastZxid;
        }
    }

    /// <summary>A server acknowledged the new epoch with its current epoch (-1: already acked) and last zxid.</summary>
    public Task AckEpochAsync(long sid, long currentEpoch, long lastZxid)
    {
        lock (_gate)
        {
            if (!_epochAcked.Task.IsCompleted)
            {
                if (currentEpoch != -1)
                {
                    if (sid != myId && (currentEpoch > _leaderCurrentEpoch || (currentEpoch == _leaderCurrentEpoch && lastZxid > _leaderLastZxid)))
                    {
                        _epochAcked.TrySetException(new QuorumException(
                            $"server {sid} is ahead of the leader (epoch {currentEpoch}, zxid 0x{lastZxid:x} against {_leaderCurrentEpoch}, 0x{_leaderLastZxid:x})"));
                    }
                    else if (voters.Contains(sid))
                    {
                        _ackedEpoch.Add(sid);
                    }
                }

                if (IsQuorum(_ackedEpoch))
                {
                    _epochAcked.TrySetResult();
                }
            }
        }

        return WithLimit(_epochAcked.Task, "a quorum to acknowledge the new epoch (ACKEPOCH)", _ackedEpoch);
    }

    public Task AckNewLeaderAsync(long sid)
    {
        lock (_gate)
        {
            if (voters.Contains(sid))
            {
                _ackedNewLeader.Add(sid);
            }

            if (IsQuorum(_ackedNewLeader))
            {
                _newLeaderAcked.TrySetResult();
            }
        }

        return WithLimit(_newLeaderAcked.Task, "a quorum to acknowledge NEWLEADER", _ackedNewLeader);
    }

    public void MarkStarted() => _started.TrySetResult();

    public void Abandon(Exception reason)
    {
        _epoch.TrySetException(reason);
        _epochAcked.TrySetException(reason);
        _newLeaderAcked.TrySetException(reason);
        _started.TrySetException(reason);
    }

    /// <summary>Waits up to initLimit; a time-out names the step and the voters that had reached it.</summary>
    private async Task WithLimit(Task task, string what, HashSet<long> reached)
    {
        if (await Task.WhenAny(task, Task.Delay(limit)).ConfigureAwait(false) != task)
        {
            string so;
            lock (_gate)
            {
                so = reached.Count == 0 ? "none" : string.Join(", ", reached.Order());
            }

            throw new QuorumException(
                $"timed out after {limit.TotalMilliseconds} ms waiting for {what}; reached by server(s) {so} of voters {string.Join(", ", voters.Order())}");
        }

        await task.ConfigureAwait(false);
    }

    private async Task<T> WithLimit<T>(Task<T> task, string what, HashSet<long> reached)
    {
        await WithLimit((Task)task, what, reached).ConfigureAwait(false);
        return await task.ConfigureAwait(false);
    }
}

/// <summary>The quorum protocol cannot go on in the current role; the server goes back to looking.</summary>
public sealed class QuorumException(string message) : Exception(message);
