using System.Diagnostics;

namespace SharpKeeper.Integration.Tests.Infrastructure;

/// <summary>How every server process a test starts is stopped: kill -9 by PID, wait, then remove its folder unless the caller owns it.</summary>
public static class ServerProcessCleanup
{
    public static async Task KillAsync(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    public static async ValueTask DisposeAsync(Process process, string directory, bool keepDirectory)
    {
        try
        {
            await KillAsync(process);
        }
        catch (InvalidOperationException)
        {
        }
        finally
        {
            process.Dispose();
            if (!keepDirectory)
            {
                try
                {
                    Directory.Delete(directory, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }
    }
}
