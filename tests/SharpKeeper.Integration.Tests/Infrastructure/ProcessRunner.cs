using System.Diagnostics;
using System.Text;

namespace SharpKeeper.Integration.Tests.Infrastructure;

/// <summary>Runs a command to completion with a deadline, killing it (by PID, whole tree) if the deadline passes.</summary>
public static class ProcessRunner
{
    /// <summary>
    /// <see cref="Output"/> holds both streams' lines as they arrived, which interleaves them in no
    /// fixed order; <see cref="StandardOutput"/> and <see cref="StandardError"/> each keep their own order.
    /// </summary>
    public sealed record Result(int ExitCode, string Output, bool TimedOut)
    {
        public string StandardOutput { get; init; } = "";
        public string StandardError { get; init; } = "";
    }

    public static async Task<Result> RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan timeout, string? workingDirectory = null, string? stdin = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? RepoPaths.Root,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = new Process { StartInfo = start };
        var output = new StringBuilder();
        var standardOutput = new StringBuilder();
        var standardError = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); standardOutput.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); standardError.AppendLine(e.Data); } } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }

        using var cts = new CancellationTokenSource(timeout);
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            timedOut = true;
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        lock (output)
        {
            return new Result(timedOut ? -1 : process.ExitCode, output.ToString(), timedOut)
            {
                StandardOutput = standardOutput.ToString(),
                StandardError = standardError.ToString(),
            };
        }
    }
}
