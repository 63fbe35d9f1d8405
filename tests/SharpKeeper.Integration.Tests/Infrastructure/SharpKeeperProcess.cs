using System.Diagnostics;
using System.Text;

namespace SharpKeeper.Integration.Tests.Infrastructure;

/// <summary>A real `sharpkeeper start-foreground` process on a free loopback port, stopped by PID on dispose.</summary>
public sealed class SharpKeeperProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private SharpKeeperProcess(Process process, int port, string directory, string configPath)
    {
        _process = process;
        Port = port;
        Directory = directory;
        ConfigPath = configPath;
    }

    public int Port { get; }
    public string Directory { get; }
    public string ConfigPath { get; }
    public int Pid => _process.Id;
    public string ConnectString => $"127.0.0.1:{Port}";
    public bool HasExited => _process.HasExited;

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public bool KeepDirectory { get; init; }

    /// <summary>Starts a server; with <paramref name="directory"/> it reuses that dataDir (a restart).</summary>
    public static async Task<SharpKeeperProcess> StartAsync(string extraConfig = "", string? directory = null, int? port = null)
    {
        port ??= FreePort.Pick();
        var keep = directory is not null;
        directory ??= Path.Combine(Path.GetTempPath(), "sharpkeeper-it-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(directory);
        var configPath = Path.Combine(directory, "zoo.cfg");
        await File.WriteAllTextAsync(configPath, $"""
            tickTime=2000
            dataDir={Path.Combine(directory, "data")}
            clientPort={port}
            clientPortAddress=127.0.0.1
            4lw.commands.whitelist=*
            extendedTypesEnabled=true
            {(extraConfig.Contains("admin.", StringComparison.Ordinal) ? "" : "admin.enableServer=false")}
            {extraConfig}
            """);
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        start.ArgumentList.Add(RepoPaths.SharpKeeperDll);
        start.ArgumentList.Add("start-foreground");
        start.ArgumentList.Add(configPath);
        var process = new Process { StartInfo = start };
        var server = new SharpKeeperProcess(process, port.Value, directory, configPath) { KeepDirectory = keep };
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!await FourLetter.WaitUntilServingAsync(port.Value, TimeSpan.FromSeconds(30), () => !process.HasExited))
        {
            if (process.HasExited)
            {
                // The output is read asynchronously: this wait returns once its last line was delivered.
                await process.WaitForExitAsync();
            }

            var log = server.Log;
            await server.DisposeAsync();
            throw new InvalidOperationException($"sharpkeeper did not start on port {port}:\n{log}");
        }

        return server;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

    /// <summary>kill -9: the process gets no chance to flush anything.</summary>
    public Task KillAsync() => ServerProcessCleanup.KillAsync(_process);

    /// <summary>Stops the process by PID; a directory passed in belongs to the caller and is kept.</summary>
    public ValueTask DisposeAsync() => ServerProcessCleanup.DisposeAsync(_process, Directory, KeepDirectory);
}
