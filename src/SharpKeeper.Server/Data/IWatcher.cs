using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Server.Data;

/// <summary>Receives watch events. A client connection is the watcher for all of its session's watches.</summary>
public interface IWatcher
{
    /// <summary>Delivers an event; the watcher drops it when it may not read a node with <paramref name="nodeAcl"/>.</summary>
    void Process(EventType type, string path, IReadOnlyList<Acl>? nodeAcl);
}

public enum WatchMode : byte
{
    Standard,
    Persistent,
    PersistentRecursive,
}
