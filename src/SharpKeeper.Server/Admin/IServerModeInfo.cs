using System.Text;

namespace SharpKeeper.Server.Admin;

/// <summary>
/// What the four-letter words report about the role this server plays. Standalone today; the
/// ensemble supplies its own (leader, follower, observer, read-only) through
/// <see cref="FourLetterWordHandler.ModeInfo"/>. Members are read on the core thread.
/// </summary>
public interface IServerModeInfo
{
    /// <summary>The "Mode:" of srvr/stat and zk_server_state of mntr: standalone, leader, follower, observer, read-only.</summary>
    string Mode { get; }

    /// <summary>False while the server cannot serve clients (e.g. looking for a leader): most words then say so.</summary>
    bool IsServing { get; }

    /// <summary>True in read-only mode: isro answers "ro" and srvr/stat say so.</summary>
    bool IsReadOnly { get; }

    /// <summary>The serverId conf prints: 0 for a standalone server, as Apache ZooKeeper prints it.</summary>
    long ServerId { get; }

    /// <summary>Lines (without the newline) that srvr/stat print after "Node count:" (a leader's proposal sizes).</summary>
    IEnumerable<string> StatLines => [];

    /// <summary>mntr keys (without "zk_") printed right after zk_server_state (e.g. peer_state).</summary>
    IEnumerable<(string Key, string Value)> MonitorValues => [];

    /// <summary>
    /// The fields of the AdminServer's ensemble commands (leader, zabstate, voting_view) for this
    /// role, Apache's keys; null for a standalone server, which answers Apache's standalone forms.
    /// </summary>
    List<KeyValuePair<string, object?>>? EnsembleFields(string command, string? clientAddress) => null;

    /// <summary>Appends the role's part of conf after the standalone keys (initLimit, membership, ...).</summary>
    void AppendConf(StringBuilder text)
    {
    }
}

/// <summary>A standalone server: always serving, read-write, server id 0.</summary>
public sealed class StandaloneModeInfo : IServerModeInfo
{
    public static readonly StandaloneModeInfo Instance = new();

    private StandaloneModeInfo()
    {
    }

    public string Mode => "standalone";

    public bool IsServing => true;

    public bool IsReadOnly => false;

    public long ServerId => 0;
}
