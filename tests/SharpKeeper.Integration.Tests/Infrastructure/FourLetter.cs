using System.Net.Sockets;
using System.Text;

namespace SharpKeeper.Integration.Tests.Infrastructure;

public static class FourLetter
{
    /// <summary>Sends a four-letter word and returns everything the server writes before closing; null when nothing listens.</summary>
    public static async Task<string?> SendAsync(int port, string word, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", port, cts.Token);
            await using var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(word), cts.Token);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            return await reader.ReadToEndAsync(cts.Token);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Polls until the server answers ruok and reports a mode, or the deadline passes.</summary>
    public static async Task<bool> WaitUntilServingAsync(int port, TimeSpan deadline, Func<bool>? stillRunning = null)
    {
        var until = DateTime.UtcNow + deadline;
        while (DateTime.UtcNow < until)
        {
            if (stillRunning is not null && !stillRunning())
            {
                return false;
            }

            // ruok answers before the database is loaded; srvr shows a Mode line only once requests are served.
            if (await SendAsync(port, "ruok", TimeSpan.FromSeconds(2)) == "imok"
                && (await SendAsync(port, "srvr", TimeSpan.FromSeconds(2)))?.Contains("Mode: ", StringComparison.Ordinal) == true)
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }
}
