using System.Globalization;
using System.Text;

namespace SharpKeeper.Server.Admin;

/// <summary>Answers four-letter words; state is read on the core thread for a consistent view.</summary>
public sealed class FourLetterWordHandler(SharpKeeperServer server)
{
    public Task<string> ExecuteAsync(string word)
    {
        if (!server.Config.IsFourLetterWordAllowed(word))
        {
            return Task.FromResult($"{word} is not executed because it is not in the whitelist.\n");
        }

        return word switch
        {
            "ruok" => Task.FromResult("imok"),
            "isro" => Task.FromResult("rw"),
            "srvr" => server.Core.InvokeAsync(() => Srvr()),
            _ => Task.FromResult(""),
        };
    }

    private string Srvr()
    {
        var core = server.Core;
        var stats = core.Stats;
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"Zookeeper version: {VersionInfo.Full}\n");
        var min = stats.LatencyCount == 0 ? 0 : stats.MinLatency;
        text.Append(CultureInfo.InvariantCulture, $"Latency min/avg/max: {min}/{stats.AverageLatency:0.0###}/{stats.MaxLatency}\n");
        text.Append(CultureInfo.InvariantCulture, $"Received: {stats.PacketsReceived}\n");
        text.Append(CultureInfo.InvariantCulture, $"Sent: {stats.PacketsSent}\n");
        text.Append(CultureInfo.InvariantCulture, $"Connections: {core.Connections.Count}\n");
        text.Append(CultureInfo.InvariantCulture, $"Outstanding: {stats.OutstandingRequests}\n");
        text.Append(CultureInfo.InvariantCulture, $"Zxid: 0x{core.Tree.LastProcessedZxid:x}\n");
        text.Append("Mode: standalone\n");
        text.Append(CultureInfo.InvariantCulture, $"Node count: {core.Tree.NodeCount}\n");
        return text.ToString();
    }
}
