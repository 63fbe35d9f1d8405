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

    /// <summary>Polls ruok until imok or the deadline.</summary>
    public static async Task<bool> WaitUntilServingAsync(int port, TimeSpan deadline, Func<bool>? stillRunning = null)
    {
        var until = DateTime.UtcNow + deadline;
        while (DateTime.UtcNow < until)
        {
            if (stillRunning is not null && !stillRunning())
            {
                return false;
            }

            if (await SendAsync(port, "ruok", TimeSpan.FromSeconds(2)) == "imok")
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }
}
