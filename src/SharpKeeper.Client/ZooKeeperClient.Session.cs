using System.Net.Sockets;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Client;

public sealed partial class ZooKeeperClient
{
    /// <summary>One TCP connection of the session: pipelined requests, replies matched in order.</summary>
    private sealed class Session : IAsyncDisposable
    {
        private readonly ZooKeeperClient _owner;
        private readonly TcpClient _tcp;
        private readonly NetworkStream _stream;
        private readonly SemaphoreSlim _writeLock = new(1, 1);
        private readonly object _gate = new();
        private readonly Queue<Pending> _pending = new();
        private readonly Queue<TaskCompletionSource<ZkResult>> _authPending = new();
        private readonly CancellationTokenSource _stop = new();
        private Task? _readLoop;
        private Task? _pingLoop;
        private int _xid;
        private long _lastSend = Environment.TickCount64;
        private int _failed;

        private Session(ZooKeeperClient owner, TcpClient tcp)
        {
            _owner = owner;
            _tcp = tcp;
            _stream = tcp.GetStream();
        }

        public long SessionId { get; private set; }
        public byte[] Password { get; private set; } = [];
        public int Timeout { get; private set; }

        public static async Task<Session> OpenAsync(ZooKeeperClient owner, string host, int port, CancellationToken cancellationToken)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(owner._options.ConnectTimeout);
            var tcp = new TcpClient { NoDelay = true };
            try
            {
                await tcp.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
                var session = new Session(owner, tcp);
                using var w = new JuteWriter();
                w.BeginFrame();
                new ConnectRequest(0, owner.LastZxid, (int)owner._options.SessionTimeout.TotalMilliseconds, owner.SessionId, owner.SessionPassword, false).Write(w);
                w.EndFrame();
                await session._stream.WriteAsync(w.WrittenMemory, timeout.Token).ConfigureAwait(false);
                var frame = await session.ReadFrameAsync(timeout.Token).ConfigureAwait(false) ?? throw new IOException("the server closed the connection during the handshake");
                var r = new JuteReader(frame);
                var response = ConnectResponse.Read(ref r);
                session.SessionId = response.SessionId;
                session.Password = response.Password;
                session.Timeout = response.Timeout;
                return session;
            }
            catch
            {
                tcp.Dispose();
                throw;
            }
        }

        public void Start()
        {
            _readLoop = ReadLoopAsync();
            _pingLoop = PingLoopAsync();
        }

        public async Task<ZkResult> SubmitAsync(OpCode op, Action<JuteWriter> writeBody, Action<ZkResult>? onReply, CancellationToken cancellationToken)
        {
            var pending = new Pending(op, onReply);
            using var w = new JuteWriter();
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (Volatile.Read(ref _failed) != 0)
                {
                    return new ZkResult(ErrorCode.ConnectionLoss, 0, null);
                }

                // The xid order, the queue order and the wire order must agree, so all three happen under one lock.
                var xid = ++_xid;
                pending.Xid = xid;
                w.BeginFrame();
                new RequestHeader(xid, op).Write(w);
                writeBody(w);
                w.EndFrame();
                lock (_gate)
                {
                    _pending.Enqueue(pending);
                }

                await _stream.WriteAsync(w.WrittenMemory, CancellationToken.None).ConfigureAwait(false);
                _lastSend = Environment.TickCount64;
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                Fail();
            }
            finally
            {
                _writeLock.Release();
            }

            return await pending.Completion.Task.ConfigureAwait(false);
        }

        public async Task<ZkResult> SendAuthAsync(string scheme, byte[] auth)
        {
            var completion = new TaskCompletionSource<ZkResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                _authPending.Enqueue(completion);
            }

            await SendSpecialAsync(Xids.Auth, OpCode.Auth, w => new AuthPacket(0, scheme, auth).Write(w)).ConfigureAwait(false);
            return await completion.Task.ConfigureAwait(false);
        }

        public Task SendSetWatchesAsync(SetWatchesRequest request) =>
            SendSpecialAsync(Xids.SetWatches, OpCode.SetWatches2, w => request.Write(w, version2: true));

        private async Task SendSpecialAsync(int xid, OpCode op, Action<JuteWriter> writeBody)
        {
            using var w = new JuteWriter();
            w.BeginFrame();
            new RequestHeader(xid, op).Write(w);
            writeBody(w);
            w.EndFrame();
            await _writeLock.WaitAsync().ConfigureAwait(false);
            try
            {
                await _stream.WriteAsync(w.WrittenMemory).ConfigureAwait(false);
                _lastSend = Environment.TickCount64;
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                Fail();
            }
            finally
            {
                _writeLock.Release();
            }
        }

        private async Task PingLoopAsync()
        {
            var interval = TimeSpan.FromMilliseconds(Math.Max(100, Timeout / 3));
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Max(50, Timeout / 10)));
            try
            {
                while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
                {
                    if (Environment.TickCount64 - _lastSend >= interval.TotalMilliseconds)
                    {
                        await SendSpecialAsync(Xids.Ping, OpCode.Ping, _ => { }).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        private async Task ReadLoopAsync()
        {
            try
            {
                while (true)
                {
                    var frame = await ReadFrameAsync(_stop.Token).ConfigureAwait(false);
                    if (frame is null)
                    {
                        break;
                    }

                    OnFrame(frame);
                }
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException or JuteException or InvalidDataException)
            {
            }

            Fail();
        }

        private void OnFrame(byte[] frame)
        {
            var r = new JuteReader(frame);
            var header = ReplyHeader.Read(ref r);
            switch (header.Xid)
            {
                case Xids.Notification:
                    _owner.OnWatchEvent(WatcherEvent.Read(ref r));
                    return;
                case Xids.Ping or Xids.SetWatches:
                    return;
                case Xids.Auth:
                    TaskCompletionSource<ZkResult>? auth;
                    lock (_gate)
                    {
                        _authPending.TryDequeue(out auth);
                    }

                    var result = new ZkResult(header.Err, header.Zxid, null);
                    _owner.Dispatch(() => auth?.TrySetResult(result));
                    return;
            }

            Pending pending;
            lock (_gate)
            {
                if (!_pending.TryDequeue(out pending!))
                {
                    throw new InvalidDataException($"reply xid {header.Xid} with no request outstanding");
                }
            }

            if (pending.Xid != header.Xid)
            {
                throw new InvalidDataException($"reply xid {header.Xid} out of order: expected {pending.Xid}");
            }

            if (header.Zxid > 0)
            {
                InterlockedMax(ref _owner._lastZxid, header.Zxid);
            }

            var body = header.Err == ErrorCode.Ok && !r.AtEnd ? ResponseCodec.Read(pending.Op, ref r) : null;
            var reply = new ZkResult(header.Err, header.Zxid, body);
            pending.OnReply?.Invoke(reply);
            _owner.Dispatch(() => pending.Completion.TrySetResult(reply));
        }

        private static void InterlockedMax(ref long target, long value)
        {
            long current;
            while ((current = Interlocked.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
            {
            }
        }

        private async Task<byte[]?> ReadFrameAsync(CancellationToken cancellationToken)
        {
            var prefix = new byte[4];
            if (!await ReadExactlyAsync(prefix, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            var length = ReadLength(prefix);
            if (length < 0 || length > _owner._options.MaxFrameSize)
            {
                throw new InvalidDataException($"frame length {length} out of range");
            }

            var frame = new byte[length];
            return await ReadExactlyAsync(frame, cancellationToken).ConfigureAwait(false) ? frame : null;
        }

        private async Task<bool> ReadExactlyAsync(byte[] buffer, CancellationToken cancellationToken)
        {
            try
            {
                await _stream.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (EndOfStreamException)
            {
                return false;
            }
        }

        /// <summary>Fails everything in flight with ConnectionLoss and tells the client, once.</summary>
        private void Fail()
        {
            if (Interlocked.Exchange(ref _failed, 1) != 0)
            {
                return;
            }

            _stop.Cancel();
            _tcp.Dispose();
            List<Pending> failed;
            List<TaskCompletionSource<ZkResult>> auths;
            lock (_gate)
            {
                failed = [.. _pending];
                _pending.Clear();
                auths = [.. _authPending];
                _authPending.Clear();
            }

            var loss = new ZkResult(ErrorCode.ConnectionLoss, 0, null);
            _owner.Dispatch(() =>
            {
                foreach (var pending in failed)
                {
                    pending.Completion.TrySetResult(loss);
                }

                foreach (var auth in auths)
                {
                    auth.TrySetResult(loss);
                }
            });
            _owner.OnSessionLost(this);
        }

        public async ValueTask DisposeAsync()
        {
            Fail();
            if (_readLoop is not null)
            {
                await _readLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            if (_pingLoop is not null)
            {
                await _pingLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            _stop.Dispose();
            _writeLock.Dispose();
        }

        private sealed class Pending(OpCode op, Action<ZkResult>? onReply)
        {
            public OpCode Op { get; } = op;
            public Action<ZkResult>? OnReply { get; } = onReply;
            public int Xid { get; set; }
            public TaskCompletionSource<ZkResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }
}
