using System.Buffers;
using System.Net.Sockets;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Client;

/// <summary>The socket side: handshake, the writer loop (batches frames), the reader loop (matches replies), pings.</summary>
public sealed partial class ZooKeeperClient
{
    private const int FlushThreshold = 64 * 1024;

    /// <summary>
    /// TCP connect, then one write with the ConnectRequest, the stored auth packets and the setWatches
    /// frames (as ZooKeeper's client primes a connection), then the ConnectResponse.
    /// </summary>
    private async Task<Connection> OpenAsync((string Host, int Port) endPoint, CancellationToken ct)
    {
        var timeout = _options.ConnectTimeout
            ?? TimeSpan.FromMilliseconds(Math.Max(1, (Volatile.Read(ref _negotiatedTimeoutMs) is > 0 and var negotiated
                ? negotiated
                : _options.SessionTimeout.TotalMilliseconds) / _hosts.Length));
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
        attempt.CancelAfter(timeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Connection? connection = null;
        try
        {
            await socket.ConnectAsync(endPoint.Host, endPoint.Port, attempt.Token).ConfigureAwait(false);
            Stream stream = new NetworkStream(socket, ownsSocket: true);
            if (_options.Tls is { } tls)
            {
                var secure = new System.Net.Security.SslStream(stream, leaveInnerStreamOpen: false);
                stream = secure;
                await secure.AuthenticateAsClientAsync(TlsFor(tls, endPoint.Host), attempt.Token).ConfigureAwait(false);
            }

            connection = new Connection(socket, stream, $"{endPoint.Host}:{endPoint.Port}", _options.MaxFrameSize);
            WriteHandshake(connection);
            await connection.Stream.WriteAsync(connection.Output.WrittenMemory, attempt.Token).ConfigureAwait(false);
            connection.ResetOutput();
            connection.Response = await ReadConnectResponseAsync(connection, attempt.Token).ConfigureAwait(false);
            connection.LastReceive = connection.LastSend = Environment.TickCount64;
            return connection;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            Discard(connection, socket);
            throw new TimeoutException($"no session established with {endPoint.Host}:{endPoint.Port} within {timeout.TotalMilliseconds:0} ms");
        }
        catch
        {
            Discard(connection, socket);
            throw;
        }

        // The template's settings, with this host as the name the server's certificate must carry unless it names one.
        static System.Net.Security.SslClientAuthenticationOptions TlsFor(System.Net.Security.SslClientAuthenticationOptions template, string host) => new()
        {
            TargetHost = template.TargetHost ?? host,
            ClientCertificates = template.ClientCertificates,
            ClientCertificateContext = template.ClientCertificateContext,
            RemoteCertificateValidationCallback = template.RemoteCertificateValidationCallback,
            EnabledSslProtocols = template.EnabledSslProtocols,
            CertificateRevocationCheckMode = template.CertificateRevocationCheckMode,
            CipherSuitesPolicy = template.CipherSuitesPolicy,
        };

        static void Discard(Connection? connection, Socket socket)
        {
            if (connection is null)
            {
                socket.Dispose();
            }
            else
            {
                connection.Dispose();
            }
        }
    }

    private void WriteHandshake(Connection connection)
    {
        var w = connection.Output;
        var sessionId = _seenReadWriteServer ? Interlocked.Read(ref _sessionId) : 0;
        var timeoutMs = (int)Math.Clamp(_options.SessionTimeout.TotalMilliseconds, 1, int.MaxValue);
        w.BeginFrame();
        if (_options.OmitReadOnlyFlag)
        {
            w.WriteInt(0);
            w.WriteLong(LastZxid);
            w.WriteInt(timeoutMs);
            w.WriteLong(sessionId);
            w.WriteBuffer(SessionPassword);
        }
        else
        {
            new ConnectRequest(0, LastZxid, timeoutMs, sessionId, SessionPassword, _options.ReadOnly ?? _options.CanBeReadOnly).Write(w);
        }

        w.EndFrame();

        lock (_authInfo)
        {
            foreach (var auth in _authInfo)
            {
                w.BeginFrame();
                new RequestHeader(Xids.Auth, OpCode.Auth).Write(w);
                auth.Write(w);
                w.EndFrame();
                connection.Auths.Enqueue(new PendingRequest(RequestKind.Auth, OpCode.Auth) { Auth = auth, Xid = Xids.Auth });
            }
        }

        if (_watches.IsEmpty)
        {
            return;
        }

        foreach (var (op, request) in _watches.SetWatchesBatches(LastZxid, _chroot))
        {
            w.BeginFrame();
            new RequestHeader(Xids.SetWatches, op).Write(w);
            request.Write(w, op == OpCode.SetWatches2);
            w.EndFrame();
            connection.InFlight.Enqueue(new PendingRequest(RequestKind.SetWatches, op) { SetWatches = request, Xid = Xids.SetWatches });
        }
    }

    private static async Task<ConnectResponse> ReadConnectResponseAsync(Connection connection, CancellationToken ct)
    {
        var reader = connection.Reader;
        while (true)
        {
            var result = await reader.ReadAsync(ct).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (Connection.TryReadFrame(ref buffer, connection.MaxFrameSize, out var frame))
            {
                var response = DecodeConnectResponse(frame);
                reader.AdvanceTo(buffer.Start);
                return response;
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                throw new IOException("the server closed the connection during the handshake");
            }
        }
    }

    private static ConnectResponse DecodeConnectResponse(in ReadOnlySequence<byte> frame)
    {
        byte[]? rented = null;
        var span = Flatten(frame, ref rented);
        try
        {
            var r = new JuteReader(span);
            return ConnectResponse.Read(ref r);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static ReadOnlySpan<byte> Flatten(in ReadOnlySequence<byte> frame, ref byte[]? rented)
    {
        if (frame.IsSingleSegment)
        {
            return frame.FirstSpan;
        }

        rented = ArrayPool<byte>.Shared.Rent((int)frame.Length);
        frame.CopyTo(rented);
        return rented.AsSpan(0, (int)frame.Length);
    }

    /// <summary>Runs the loops of one connection until any of them stops, then tears the connection down.</summary>
    private async Task ServeAsync(Connection connection)
    {
        var read = ReadLoopAsync(connection);
        var write = WriteLoopAsync(connection);
        var ping = PingLoopAsync(connection);
        await Task.WhenAny(read, write, ping).ConfigureAwait(false);
        connection.Abort();
        await Task.WhenAll(read, write, ping).ConfigureAwait(false);
    }

    private async Task WriteLoopAsync(Connection connection)
    {
        var reader = _requests.Reader;
        var token = connection.Token;
        try
        {
            while (true)
            {
                while (connection.Output.Length < FlushThreshold && reader.TryRead(out var request))
                {
                    Serialize(connection, request);
                }

                if (connection.Output.Length > 0)
                {
                    await connection.Stream.WriteAsync(connection.Output.WrittenMemory, token).ConfigureAwait(false);
                    connection.LastSend = Environment.TickCount64;
                    connection.ResetOutput();
                    continue;
                }

                if (!await reader.WaitToReadAsync(token).ConfigureAwait(false))
                {
                    connection.Fail(new OperationCanceledException("the session is over"));
                    return;
                }
            }
        }
        catch (Exception e)
        {
            connection.Fail(e);
        }
    }

    /// <summary>Appends one request frame to the batch and moves the request to the in-flight queue it will be answered from.</summary>
    private void Serialize(Connection connection, PendingRequest request)
    {
        if (request.Kind == RequestKind.Ping)
        {
            var ping = connection.Output;
            ping.BeginFrame();
            new RequestHeader(Xids.Ping, OpCode.Ping).Write(ping);
            ping.EndFrame();
            Volatile.Write(ref _pingQueued, 0);
            return;
        }

        if (request.Task.IsCompleted)
        {
            return; // cancelled before it was sent
        }

        var start = connection.Output.Length;
        try
        {
            var w = connection.Output;
            w.BeginFrame();
            switch (request.Kind)
            {
                case RequestKind.Auth:
                    new RequestHeader(Xids.Auth, OpCode.Auth).Write(w);
                    request.Auth!.Write(w);
                    break;
                case RequestKind.SetWatches:
                    new RequestHeader(Xids.SetWatches, request.Op).Write(w);
                    request.SetWatches!.Write(w, request.Op == OpCode.SetWatches2);
                    break;
                default:
                    _xid = _xid == int.MaxValue ? 1 : _xid + 1;
                    request.Xid = _xid;
                    new RequestHeader(request.Xid, request.Op).Write(w);
                    if (request.Body is not null)
                    {
                        RequestCodec.WritePathRequest(w, request.Op, request.Body);
                    }
                    else if (request.Ops is not null)
                    {
                        RequestCodec.WriteMulti(w, request.Ops);
                    }
                    else
                    {
                        request.Reconfig?.Write(w);
                    }

                    break;
            }

            w.EndFrame();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            connection.TruncateOutput(start);
            request.Registration.Unregister();
            request.TrySetException(e);
            return;
        }

        if (request.Kind == RequestKind.Auth)
        {
            connection.Auths.Enqueue(request);
        }
        else
        {
            connection.InFlight.Enqueue(request);
        }
    }

    private async Task ReadLoopAsync(Connection connection)
    {
        var reader = connection.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(connection.Token).ConfigureAwait(false);
                var buffer = result.Buffer;
                if (!buffer.IsEmpty)
                {
                    connection.LastReceive = Environment.TickCount64;
                }

                try
                {
                    while (Connection.TryReadFrame(ref buffer, connection.MaxFrameSize, out var frame))
                    {
                        HandleFrame(connection, frame);
                    }
                }
                finally
                {
                    reader.AdvanceTo(buffer.Start, buffer.End);
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    connection.Fail(new IOException("the server closed the connection"));
                    return;
                }
            }
        }
        catch (Exception e)
        {
            connection.Fail(e);
        }
    }

    private void HandleFrame(Connection connection, in ReadOnlySequence<byte> frame)
    {
        byte[]? rented = null;
        var span = Flatten(frame, ref rented);
        try
        {
            HandleFrame(connection, span);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private void HandleFrame(Connection connection, ReadOnlySpan<byte> frame)
    {
        var r = new JuteReader(frame);
        var header = ReplyHeader.Read(ref r);
        switch (header.Xid)
        {
            case Xids.Notification:
                HandleNotification(WatcherEvent.Read(ref r));
                return;
            case Xids.Ping:
                return;
            case Xids.Auth:
                HandleAuthReply(connection, header);
                return;
        }

        if (!connection.InFlight.TryDequeue(out var request))
        {
            throw new ZkProtocolException($"reply with xid {header.Xid} while no request is in flight");
        }

        if (request.Xid != header.Xid)
        {
            Finish(request, new ZkResult(ErrorCode.ConnectionLoss, 0, null));
            throw new ZkProtocolException($"reply xid {header.Xid} out of order: expected {request.Xid}");
        }

        if (header.Zxid > 0)
        {
            Interlocked.Exchange(ref _lastZxid, header.Zxid);
        }

        Response? body = null;
        if (header.Err == ErrorCode.Ok)
        {
            try
            {
                body = ToClient(ResponseCodec.Read(request.Op, ref r));
            }
            catch (JuteException e)
            {
                // The frame boundary is intact, so the connection stays; this request gets the decoding error.
                Fail(request, new ZkProtocolException($"undecodable {request.Op} reply: {e.Message}", e));
                return;
            }
        }

        if (request.Kind == RequestKind.Close)
        {
            RequestTerminal(KeeperState.Closed, ErrorCode.SessionExpired);
        }

        Finish(request, new ZkResult(header.Err, header.Zxid, body));
    }

    private void HandleAuthReply(Connection connection, ReplyHeader header)
    {
        connection.Auths.TryDequeue(out var request);
        if (header.Err == ErrorCode.AuthFailed)
        {
            // The server closes the connection after a failed auth; the session is unusable from here on.
            _state = KeeperState.AuthFailed;
            RequestTerminal(KeeperState.AuthFailed, ErrorCode.AuthFailed);
        }

        if (request is not null)
        {
            Finish(request, new ZkResult(header.Err, header.Zxid, null));
        }
    }

    private void HandleNotification(WatcherEvent notification)
    {
        var path = ToClient(notification.Path);
        var e = new WatchedEvent(notification.Type, notification.State, path);
        Enqueue(new DispatchItem(DispatchKind.Notification, e, _watches.Materialize(e.Type, path)));
    }

    /// <summary>Strips the chroot from the paths a reply carries.</summary>
    private Response ToClient(Response body)
    {
        if (_chroot is null)
        {
            return body;
        }

        return body switch
        {
            CreateResponse create => create with { Path = ToClient(create.Path) },
            PathResponse sync => sync with { Path = ToClient(sync.Path) },
            StringListResponse list => new StringListResponse([.. list.Values.Select(ToClient)]),
            MultiResponse multi => new MultiResponse([.. multi.Results.Select(result => result.Body is CreateResponse created
                ? result with { Body = created with { Path = ToClient(created.Path) } }
                : result)]),
            _ => body,
        };
    }

    /// <summary>
    /// The end of a request (reply or failure): register or remove watches as the outcome says, then complete it
    /// in order behind any watch events already queued.
    /// </summary>
    private void Finish(PendingRequest request, ZkResult result)
    {
        if (request.Watch != WatchKind.None && request.Watcher is not null && request.ClientPath is not null)
        {
            _watches.Register(request.Watch, request.ClientPath, request.Watcher, result.Err);
        }

        if (request.Deregister && request.ClientPath is not null)
        {
            var removed = new List<(EventType Type, List<Watcher> Watchers)>();
            if (request.RawDeregister)
            {
                if (result.Err == ErrorCode.Ok)
                {
                    _watches.Remove(request.ClientPath, null, request.RemoveType, local: false, ErrorCode.Ok, removed);
                }
            }
            else
            {
                var err = _watches.Remove(request.ClientPath, request.Watcher, request.RemoveType, request.RemoveLocal, result.Err, removed);
                result = result with { Err = err };
            }

            var state = result.Err is ErrorCode.ConnectionLoss or ErrorCode.SessionExpired ? KeeperState.Disconnected : KeeperState.SyncConnected;
            foreach (var (type, watchers) in removed)
            {
                Enqueue(new DispatchItem(DispatchKind.Notification, new WatchedEvent(type, state, request.ClientPath), watchers, local: true));
            }
        }

        request.Registration.Unregister();
        if (Volatile.Read(ref _backlog) > 0 && Enqueue(new DispatchItem(request, result)))
        {
            return;
        }

        request.TrySetResult(result);
    }

    private void Fail(PendingRequest request, Exception error)
    {
        request.Registration.Unregister();
        if (Volatile.Read(ref _backlog) > 0 && Enqueue(new DispatchItem(request, error)))
        {
            return;
        }

        request.TrySetException(error);
    }

    /// <summary>Pings after a third of the session timeout without sending; drops the connection after two thirds without hearing anything.</summary>
    private async Task PingLoopAsync(Connection connection)
    {
        var timeoutMs = Math.Max(3, connection.Response!.Timeout);
        var pingAfter = timeoutMs / 3;
        var readTimeout = timeoutMs * 2 / 3;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Clamp(timeoutMs / 10, 5, 1000)));
        try
        {
            while (await timer.WaitForNextTickAsync(connection.Token).ConfigureAwait(false))
            {
                var now = Environment.TickCount64;
                if (now - connection.LastReceive >= readTimeout)
                {
                    connection.Fail(new TimeoutException($"nothing heard from {connection.EndPoint} for {now - connection.LastReceive} ms"));
                    return;
                }

                if (now - connection.LastSend >= pingAfter && Interlocked.Exchange(ref _pingQueued, 1) == 0)
                {
                    _requests.Writer.TryWrite(_ping);
                }
            }
        }
        catch (Exception e)
        {
            connection.Fail(e);
        }
    }
}
