using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using SharpKeeper.Integration.Tests.Infrastructure;

namespace SharpKeeper.Integration.Tests.Cli;

/// <summary>
/// start-foreground under systemd's notify protocol, as a Type=notify unit runs it: the test binds
/// the datagram socket systemd would ($NOTIFY_SOCKET) and asks for a watchdog ($WATCHDOG_USEC); the
/// server says READY=1 once it serves, pets the watchdog while it runs, and says STOPPING=1 on SIGTERM.
/// </summary>
public sealed class SystemdNotifyTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sharpkeeper-notify-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task ReadyWatchdogAndStoppingReachSystemd()
    {
        var socketPath = Path.Combine(_directory, "notify.sock");
        using var systemd = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        systemd.Bind(new UnixDomainSocketEndPoint(socketPath));
        var port = FreePort.Pick();
        var config = Path.Combine(_directory, "zoo.cfg");
        await File.WriteAllTextAsync(config, $"tickTime=2000\ndataDir={Path.Combine(_directory, "data")}\nclientPort={port}\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(RepoPaths.SharpKeeperDll);
        start.ArgumentList.Add("start-foreground");
        start.ArgumentList.Add(config);
        start.Environment["NOTIFY_SOCKET"] = socketPath;
        start.Environment["WATCHDOG_USEC"] = "400000";
        using var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var ready = await ReceiveAsync(systemd, TimeSpan.FromSeconds(30));
            Assert.StartsWith("READY=1\n", ready);
            Assert.Contains($"MAINPID={process.Id}", ready);
            Assert.NotNull(await FourLetter.SendAsync(port, "ruok", TimeSpan.FromSeconds(5)));

            // At least two pets within a few intervals.
            Assert.Equal("WATCHDOG=1", await ReceiveAsync(systemd, TimeSpan.FromSeconds(10)));
            Assert.Equal("WATCHDOG=1", await ReceiveAsync(systemd, TimeSpan.FromSeconds(10)));

            var term = await ProcessRunner.RunAsync("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));
            Assert.Equal(0, term.ExitCode);
            string state;
            do
            {
                state = await ReceiveAsync(systemd, TimeSpan.FromSeconds(30));
            }
            while (state == "WATCHDOG=1");

            Assert.Equal("STOPPING=1", state);
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)));
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    private static async Task<string> ReceiveAsync(Socket socket, TimeSpan timeout)
    {
        var buffer = new byte[4096];
        using var cancel = new CancellationTokenSource(timeout);
        var read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel.Token);
        return Encoding.UTF8.GetString(buffer, 0, read);
    }
}
