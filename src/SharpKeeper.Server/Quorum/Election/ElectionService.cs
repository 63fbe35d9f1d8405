using Microsoft.Extensions.Logging;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Quorum.Election;

/// <summary>
/// Runs an <see cref="ElectionParticipant"/> over an <see cref="ElectionChannel"/> for the life of
/// the server: one loop feeds it what arrives and the clock; <see cref="LookForLeaderAsync"/>
/// completes when a round decides.
/// </summary>
public sealed class ElectionService(long myId, IReadOnlySet<long> voters, string config, ElectionChannel channel, IClock clock, ILogger logger)
{
    private readonly ElectionParticipant _participant = new(myId, voters, config);
    private readonly Lock _gate = new();
    private TaskCompletionSource<Vote>? _looking;

    /// <summary>Raised when a notification carries a membership text (the peer's committed one): newer ones are for the peer to take.</summary>
    public event Action<string>? MembershipHeard;

    public void UpdateView(IReadOnlySet<long> voters, string config, IReadOnlySet<long>? nextVoters = null)
    {
        lock (_gate)
        {
            _participant.UpdateView(voters, config, nextVoters);
        }
    }

    /// <summary>Settled on the leader a reconfig named, without an election.</summary>
    public void Settle(long leader, long zxid, long peerEpoch, PeerState state)
    {
        lock (_gate)
        {
            _looking = null;
            _participant.Settle(leader, zxid, peerEpoch, state);
        }
    }

    public void UpdatePeerEpoch(long epoch)
    {
        lock (_gate)
        {
            _participant.UpdatePeerEpoch(epoch);
        }
    }

    public void SetState(PeerState state)
    {
        lock (_gate)
        {
            _participant.SetState(state);
        }
    }

    /// <summary>Starts a round and completes with the decided vote.</summary>
    public Task<Vote> LookForLeaderAsync(long lastZxid, long currentEpoch)
    {
        var completion = new TaskCompletionSource<Vote>(TaskCreationOptions.RunContinuationsAsynchronously);
        List<(long, Notification)> outgoing;
        lock (_gate)
        {
            _looking = completion;
            outgoing = _participant.StartLooking(lastZxid, currentEpoch, clock.MonotonicMillis);
            logger.LogInformation(
                "Looking for a leader: round 0x{Round:x}, proposing {Me} with last zxid 0x{Zxid:x}, epoch 0x{Epoch:x}",
                _participant.LogicalClock, myId, lastZxid, currentEpoch);
        }

        SendAll(outgoing);
        return completion.Task;
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        channel.PeerUnreachable += sid => Step(p =>
        {
            p.PeerUnreachable(sid);
            return [];
        });
        channel.PeerReachable += sid => Step(p =>
        {
            p.PeerReachable(sid);
            return [];
        });
        var reader = channel.Received;
        while (!cancellationToken.IsCancellationRequested)
        {
            long wait;
            lock (_gate)
            {
                wait = _participant.IsLooking ? Math.Clamp(_participant.NextDeadline - clock.MonotonicMillis, 1, 1000) : 1000;
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
                var notification = Notification.Decode(received.Message);
                if (notification is null)
                {
                    logger.LogWarning("Ignoring a malformed election notification of {Length} bytes from server {Sid}", received.Message.Length, received.From);
                    continue;
                }

                if (notification.Config is { Length: > 0 } heard)
                {
                    MembershipHeard?.Invoke(heard);
                }

                Step(p => p.OnNotification(received.From, notification, clock.MonotonicMillis));
            }

            Step(p => p.OnTimer(clock.MonotonicMillis));
        }
    }

    private void Step(Func<ElectionParticipant, List<(long To, Notification Message)>> action)
    {
        List<(long, Notification)> outgoing;
        lock (_gate)
        {
            outgoing = action(_participant);
            if (_participant.TakeDecision() is { } decision && _looking is { } looking)
            {
                _looking = null;
                logger.LogInformation(
                    "Election decided in round 0x{Round:x}: server {Leader} leads (zxid 0x{Zxid:x}, epoch 0x{Epoch:x}); this server is {State}",
                    decision.ElectionEpoch, decision.Leader, decision.Zxid, decision.PeerEpoch, decision.State);
                looking.TrySetResult(decision);
            }
        }

        SendAll(outgoing);
    }

    private void SendAll(List<(long To, Notification Message)> outgoing)
    {
        foreach (var (to, message) in outgoing)
        {
            channel.Send(to, message.Encode());
        }
    }
}
