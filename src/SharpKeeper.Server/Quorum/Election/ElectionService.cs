using Microsoft.Extensions.Logging;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Quorum.Election;

/// <summary>
/// Runs elections over an <see cref="ElectionChannel"/> for the life of the server: while looking
/// it drives <see cref="FastLeaderElection"/>; once settled it answers every looking server with
/// the vote it settled on (so a restarted server learns who leads).
/// </summary>
public sealed class ElectionService(long myId, IReadOnlySet<long> voters, string config, ElectionChannel channel, IClock clock, ILogger logger)
{
    private readonly FastLeaderElection _election = new(myId, voters, config);
    private readonly Lock _gate = new();
    private TaskCompletionSource<Vote>? _looking;
    private Vote? _current;
    private PeerState _state = PeerState.Looking;

    /// <summary>The vote this server reports to others, with its role.</summary>
    public Vote? CurrentVote
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    /// <summary>Once settled, the epoch established with the leader (peers compare it when joining).</summary>
    public void UpdatePeerEpoch(long epoch)
    {
        lock (_gate)
        {
            if (_current is not null)
            {
                _current = _current with { PeerEpoch = epoch };
            }
        }
    }

    public void SetState(PeerState state)
    {
        lock (_gate)
        {
            _state = state;
            if (_current is not null)
            {
                _current = _current with { State = state };
            }
        }
    }

    /// <summary>Starts a round and completes with the decided vote.</summary>
    public Task<Vote> LookForLeaderAsync(long lastZxid, long currentEpoch)
    {
        var completion = new TaskCompletionSource<Vote>(TaskCreationOptions.RunContinuationsAsynchronously);
        List<(long, Notification)> outgoing;
        lock (_gate)
        {
            _state = PeerState.Looking;
            _looking = completion;
            outgoing = _election.Start(lastZxid, currentEpoch, clock.MonotonicMillis);
            _current = new Vote(myId, lastZxid, _election.LogicalClock, currentEpoch);
            logger.LogInformation(
                "Looking for a leader: round 0x{Round:x}, proposing {Me} with last zxid 0x{Zxid:x}, epoch 0x{Epoch:x}",
                _election.LogicalClock, myId, lastZxid, currentEpoch);
        }

        SendAll(outgoing);
        return completion.Task;
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var reader = channel.Received;
        while (!cancellationToken.IsCancellationRequested)
        {
            long wait;
            lock (_gate)
            {
                wait = _looking is null ? 1000 : Math.Clamp(_election.NextDeadline - clock.MonotonicMillis, 1, 1000);
            }

            using (var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                timer.CancelAfter(TimeSpan.FromMilliseconds(wait));
                try
                {
                    if (!await reader.WaitToReadAsync(timer.Token).ConfigureAwait(false))
                    {
                        return;
                    }
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            while (reader.TryRead(out var received))
            {
                OnMessage(received.From, received.Message);
            }

            OnTimer();
        }
    }

    private void OnMessage(long from, byte[] bytes)
    {
        var notification = Notification.Decode(bytes);
        if (notification is null)
        {
            logger.LogWarning("Ignoring a malformed election notification of {Length} bytes from server {Sid}", bytes.Length, from);
            return;
        }

        List<(long, Notification)> outgoing;
        lock (_gate)
        {
            if (_looking is null)
            {
                // Settled: tell a looking server what this one settled on.
                if (notification.State == PeerState.Looking && _current is { } current && from != myId)
                {
                    channel.Send(from, new Notification(_state, current.Leader, current.Zxid, current.ElectionEpoch, current.PeerEpoch, config).Encode());
                }

                return;
            }

            outgoing = _election.OnNotification(from, notification, clock.MonotonicMillis);
            CompleteIfDecided();
        }

        SendAll(outgoing);
    }

    private void OnTimer()
    {
        List<(long, Notification)> outgoing;
        lock (_gate)
        {
            if (_looking is null)
            {
                return;
            }

            outgoing = _election.OnTimer(clock.MonotonicMillis);
            CompleteIfDecided();
        }

        SendAll(outgoing);
    }

    private void CompleteIfDecided()
    {
        if (_election.Decision is not { } decision || _looking is null)
        {
            return;
        }

        _current = decision;
        _state = decision.State;
        var looking = _looking;
        _looking = null;
        logger.LogInformation(
            "Election decided in round 0x{Round:x}: server {Leader} leads (zxid 0x{Zxid:x}, epoch 0x{Epoch:x}); this server is {State}",
            decision.ElectionEpoch, decision.Leader, decision.Zxid, decision.PeerEpoch, decision.State);
        looking.TrySetResult(decision);
    }

    private void SendAll(List<(long To, Notification Message)> outgoing)
    {
        foreach (var (to, message) in outgoing)
        {
            channel.Send(to, message.Encode());
        }
    }
}
