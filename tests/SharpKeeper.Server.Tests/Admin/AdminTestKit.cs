using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Config;

namespace SharpKeeper.Server.Tests.Admin;

/// <summary>An in-process server on a free loopback port with its own data directory, removed on dispose.</summary>
public sealed class AdminTestServer : IAsyncDisposable
{
    private AdminTestServer(SharpKeeperServer server, string directory, int port)
    {
        Server = server;
        Directory = directory;
        Port = port;
    }

    public SharpKeeperServer Server { get; }
    public string Directory { get; }
    public int Port { get; }

    public static async Task<AdminTestServer> StartAsync(string extraConfig = "4lw.commands.whitelist=*")
    {
        for (var attempt = 0; ; attempt++)
        {
            var directory = System.IO.Directory.CreateTempSubdirectory("sk-admin-").FullName;
            var port = PickPort();
            var config = ServerConfig.Parse(
                $"tickTime=2000\ndataDir={directory}\nclientPort={port}\nclientPortAddress=127.0.0.1\n"
                + (extraConfig.Contains("admin.", StringComparison.Ordinal) ? "" : "admin.enableServer=false\n") + $"{extraConfig}\n", "admin-test.cfg");
            var server = new SharpKeeperServer(config, NullLoggerFactory.Instance);
            try
            {
                server.Start();
                return new AdminTestServer(server, directory, port);
            }
            catch (SocketException) when (attempt < 5)
            {
                // Another process took the port between picking and binding: try another.
                await server.DisposeAsync();
                System.IO.Directory.Delete(directory, recursive: true);
            }
        }
    }

    private static int PickPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>Sends a four-letter word on a fresh connection and reads the answer up to the server's close.</summary>
    public Task<string> SendAsync(string word) => FourLetter.SendAsync(Port, word);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Server.DisposeAsync();
        }
        finally
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}

public static class FourLetter
{
    public static async Task<string> SendAsync(int port, string word) => (await SendWithPortAsync(port, word)).Text;

    /// <summary>Also returns the local port of the asking connection, which cons and stat list.</summary>
    public static async Task<(string Text, int LocalPort)> SendWithPortAsync(int port, string word)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var localPort = ((IPEndPoint)client.Client.LocalEndPoint!).Port;
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(word));
        using var reply = new MemoryStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await stream.CopyToAsync(reply, timeout.Token);
        return (Encoding.UTF8.GetString(reply.ToArray()), localPort);
    }
}

/// <summary>A bare client session over one socket, one request at a time; watch events are skipped.</summary>
public sealed class TestSession : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private int _xid;

    private TestSession(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
    }

    public long SessionId { get; private set; }
    public int LocalPort => ((IPEndPoint)_client.Client.LocalEndPoint!).Port;
    public int LastXid => _xid;
    public long LastZxid { get; private set; }

    public static async Task<TestSession> ConnectAsync(int port, int timeoutMs = 30000)
    {
        var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(IPAddress.Loopback, port);
        var session = new TestSession(client);
        using var w = new JuteWriter();
        w.BeginFrame();
        new ConnectRequest(0, 0, timeoutMs, 0, new byte[16], false).Write(w);
        w.EndFrame();
        await session._stream.WriteAsync(w.WrittenMemory);
        var frame = await session.ReadFrameAsync();
        session.SessionId = Read(frame);
        return session;

        static long Read(byte[] frame)
        {
            var r = new JuteReader(frame);
            return ConnectResponse.Read(ref r).SessionId;
        }
    }

    public Task<ErrorCode> CreateAsync(string path, byte[] data, CreateMode mode) =>
        SendAsync(OpCode.Create, new CreateRequest(path, data, [.. Acl.OpenAclUnsafe], (int)mode));

    public Task<ErrorCode> GetDataAsync(string path, bool watch) => SendAsync(OpCode.GetData, new PathWatchRequest(path, watch));

    public Task<ErrorCode> GetChildrenAsync(string path, bool watch) => SendAsync(OpCode.GetChildren, new PathWatchRequest(path, watch));

    public async Task<ErrorCode> SendAsync(OpCode op, PathRequest body)
    {
        var xid = ++_xid;
        using var w = new JuteWriter();
        w.BeginFrame();
        new RequestHeader(xid, op).Write(w);
        RequestCodec.WritePathRequest(w, op, body);
        w.EndFrame();
        await _stream.WriteAsync(w.WrittenMemory);
        while (true)
        {
            var header = ReadHeader(await ReadFrameAsync());
            if (header.Xid == Xids.Notification)
            {
                continue;
            }

            Assert.Equal(xid, header.Xid);
            LastZxid = header.Zxid;
            return header.Err;
        }

        static ReplyHeader ReadHeader(byte[] frame)
        {
            var r = new JuteReader(frame);
            return ReplyHeader.Read(ref r);
        }
    }

    private async Task<byte[]> ReadFrameAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var prefix = new byte[4];
        await _stream.ReadExactlyAsync(prefix, timeout.Token);
        var frame = new byte[BinaryPrimitives.ReadInt32BigEndian(prefix)];
        await _stream.ReadExactlyAsync(frame, timeout.Token);
        return frame;
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}
