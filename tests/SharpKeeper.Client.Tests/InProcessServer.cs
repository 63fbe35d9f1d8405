using Microsoft.Extensions.Logging.Abstractions;
using SharpKeeper.Server;
using SharpKeeper.Server.Config;

namespace SharpKeeper.Client.Tests;

/// <summary>A SharpKeeper server in this process on an OS-chosen loopback port, with its own temporary dataDir.</summary>
public sealed class InProcessServer : IAsyncDisposable
{
    private InProcessServer(SharpKeeperServer server, string directory)
    {
        Server = server;
        Directory = directory;
    }

    public SharpKeeperServer Server { get; private set; }
    public string Directory { get; }
    public int Port => Server.ClientEndPoint!.Port;
    public string ConnectString => $"127.0.0.1:{Port}";

    public static Task<InProcessServer> StartAsync(int port = 0, string? directory = null)
    {
        directory ??= System.IO.Directory.CreateTempSubdirectory("sk-client-").FullName;
        if (port == 0)
        {
            // clientPort=0 means "no client port" in zoo.cfg, so ask the OS for a free one first.
            using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            probe.Start();
            port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
        }

        var config = ServerConfig.Parse($"tickTime=200\nminSessionTimeout=400\ndataDir={directory}\nclientPort={port}\nclientPortAddress=127.0.0.1\nforceSync=no\nadmin.enableServer=false\n", "test.cfg");
        var server = new SharpKeeperServer(config, NullLoggerFactory.Instance);
        server.Start();
        return Task.FromResult(new InProcessServer(server, directory));
    }

    /// <summary>Stops the server and starts a new one on the same port and dataDir (a server restart).</summary>
    public async Task RestartAsync()
    {
        var port = Port;
        await Server.DisposeAsync();
        var config = ServerConfig.Parse($"tickTime=200\nminSessionTimeout=400\ndataDir={Directory}\nclientPort={port}\nclientPortAddress=127.0.0.1\nforceSync=no\nadmin.enableServer=false\n", "test.cfg");
        Server = new SharpKeeperServer(config, NullLoggerFactory.Instance);
        Server.Start();
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
