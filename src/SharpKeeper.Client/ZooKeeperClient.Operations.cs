using System.Text;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Client;

/// <summary>The typed operations: they validate paths and throw <see cref="KeeperException"/> for a non-Ok reply.</summary>
public sealed partial class ZooKeeperClient
{
    /// <summary>
    /// Creates a node with create2 (createContainer / createTTL for those modes) and returns the actual path
    /// (with the sequence suffix) and the new node's Stat.
    /// </summary>
    public async Task<(string Path, Stat Stat)> CreateAsync(string path, byte[]? data, IReadOnlyList<Acl> acl, CreateMode mode, long ttl = 0, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(acl);
        ValidatePath(path, mode.IsSequential());
        var op = mode.IsContainer() ? OpCode.CreateContainer : mode.IsTtl() ? OpCode.CreateTtl : OpCode.Create2;
        var request = new CreateRequest(path, data, acl as List<Acl> ?? [.. acl], (int)mode, ttl);
        var result = (await SendAsync(op, request, ct).ConfigureAwait(false)).ThrowIfError(path);
        var created = result.BodyAs<CreateResponse>();
        return (created.Path, created.Stat ?? default);
    }

    /// <summary>Creates a node open to everyone (world:anyone, all permissions).</summary>
    public Task<(string Path, Stat Stat)> CreateAsync(string path, byte[]? data, CreateMode mode = CreateMode.Persistent, CancellationToken ct = default) =>
        CreateAsync(path, data, Acl.OpenAclUnsafe, mode, 0, ct);

    public async Task DeleteAsync(string path, int version = -1, CancellationToken ct = default)
    {
        ValidatePath(path);
        (await SendAsync(OpCode.Delete, new PathVersionRequest(path, version), ct).ConfigureAwait(false)).ThrowIfError(path);
    }

    /// <summary>The node's Stat, or null when it does not exist. A watcher is left in both cases (exists watches wait for creation too).</summary>
    public async Task<Stat?> ExistsAsync(string path, Watcher? watcher = null, CancellationToken ct = default)
    {
        var result = await ReadAsync(OpCode.Exists, path, WatchKind.Exists, watcher, ct).ConfigureAwait(false);
        return result.Err == ErrorCode.NoNode ? null : result.ThrowIfError(path).BodyAs<StatResponse>().Stat;
    }

    /// <summary>exists with the default watcher when <paramref name="watch"/>.</summary>
    public Task<Stat?> ExistsAsync(string path, bool watch, CancellationToken ct = default) => ExistsAsync(path, DefaultWatcherFor(watch), ct);

    /// <summary>The node's data (empty when the node holds null) and Stat; the watcher is left only when the node exists.</summary>
    public async Task<(byte[] Data, Stat Stat)> GetDataAsync(string path, Watcher? watcher = null, CancellationToken ct = default)
    {
        var result = await ReadAsync(OpCode.GetData, path, WatchKind.Data, watcher, ct).ConfigureAwait(false);
        var body = result.ThrowIfError(path).BodyAs<GetDataResponse>();
        return (body.Data ?? [], body.Stat);
    }

    public Task<(byte[] Data, Stat Stat)> GetDataAsync(string path, bool watch, CancellationToken ct = default) => GetDataAsync(path, DefaultWatcherFor(watch), ct);

    /// <summary>The ensemble's configuration as /zookeeper/config holds it (server lines and version=hex), as zkCli's config prints it.</summary>
    public Task<(byte[] Data, Stat Stat)> GetConfigAsync(Watcher? watcher = null, CancellationToken ct = default) =>
        GetDataAsync("/zookeeper/config", watcher, ct);

    /// <summary>
    /// reconfig, as ZooKeeperAdmin.reconfigure: servers to add ("server.N=host:q:e[:role];[host:]clientPort",
    /// comma-separated) and ids to remove (comma-separated), or the whole new membership; -1 for
    /// <paramref name="fromConfig"/> accepts any current version. Returns the new configuration.
    /// </summary>
    public async Task<(byte[] Data, Stat Stat)> ReconfigAsync(string? joining, string? leaving, string? newMembers, long fromConfig = -1, CancellationToken ct = default)
    {
        var result = await Submit(new PendingRequest(RequestKind.Normal, OpCode.Reconfig) { Reconfig = new ReconfigRequest(joining, leaving, newMembers, fromConfig) }, ct).ConfigureAwait(false);
        var body = result.ThrowIfError().BodyAs<GetDataResponse>();
        return (body.Data ?? [], body.Stat);
    }

    public async Task<Stat> SetDataAsync(string path, byte[]? data, int version = -1, CancellationToken ct = default)
    {
        ValidatePath(path);
        var result = await SendAsync(OpCode.SetData, new SetDataRequest(path, data, version), ct).ConfigureAwait(false);
        return result.ThrowIfError(path).BodyAs<StatResponse>().Stat;
    }

    /// <summary>The children's names (getChildren2, so with the parent's Stat); the watcher is left only when the node exists.</summary>
    public async Task<(IReadOnlyList<string> Children, Stat Stat)> GetChildrenAsync(string path, Watcher? watcher = null, CancellationToken ct = default)
    {
        var result = await ReadAsync(OpCode.GetChildren2, path, WatchKind.Child, watcher, ct).ConfigureAwait(false);
        var body = result.ThrowIfError(path).BodyAs<GetChildrenResponse>();
        return (body.Children as IReadOnlyList<string> ?? [.. body.Children], body.Stat ?? default);
    }

    public Task<(IReadOnlyList<string> Children, Stat Stat)> GetChildrenAsync(string path, bool watch, CancellationToken ct = default) =>
        GetChildrenAsync(path, DefaultWatcherFor(watch), ct);

    public async Task<(IReadOnlyList<Acl> Acl, Stat Stat)> GetAclAsync(string path, CancellationToken ct = default)
    {
        ValidatePath(path);
        var body = (await SendAsync(OpCode.GetAcl, new PathOnlyRequest(path), ct).ConfigureAwait(false)).ThrowIfError(path).BodyAs<GetAclResponse>();
        return (body.Acl, body.Stat);
    }

    public async Task<Stat> SetAclAsync(string path, IReadOnlyList<Acl> acl, int version = -1, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(acl);
        ValidatePath(path);
        var result = await SendAsync(OpCode.SetAcl, new SetAclRequest(path, acl as List<Acl> ?? [.. acl], version), ct).ConfigureAwait(false);
        return result.ThrowIfError(path).BodyAs<StatResponse>().Stat;
    }

    /// <summary>Waits until the server this client is connected to has caught up with the leader (as of the call).</summary>
    public async Task SyncAsync(string path, CancellationToken ct = default)
    {
        ValidatePath(path);
        (await SendAsync(OpCode.Sync, new PathOnlyRequest(path), ct).ConfigureAwait(false)).ThrowIfError(path);
    }

    /// <summary>
    /// Adds an identity to the session (xid -4). It is re-sent after every reconnect. AuthFailed ends the
    /// session (the server closes the connection): State becomes AuthFailed and this throws.
    /// </summary>
    public async Task AddAuthAsync(string scheme, byte[] auth, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(scheme);
        ArgumentNullException.ThrowIfNull(auth);
        var packet = new AuthPacket(0, scheme, auth);
        lock (_authInfo)
        {
            _authInfo.Add(packet);
        }

        var result = await Submit(new PendingRequest(RequestKind.Auth, OpCode.Auth) { Auth = packet, Xid = Xids.Auth }, ct).ConfigureAwait(false);
        result.ThrowIfError();
    }

    /// <summary>digest auth: "user:password".</summary>
    public Task AddDigestAuthAsync(string user, string password, CancellationToken ct = default) =>
        AddAuthAsync("digest", Encoding.UTF8.GetBytes($"{user}:{password}"), ct);

    /// <summary>A persistent watch (or a recursive one, for the whole subtree) that stays until removed.</summary>
    public async Task AddWatchAsync(string path, AddWatchMode mode, Watcher watcher, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(watcher);
        ValidatePath(path);
        var request = new PendingRequest(RequestKind.Normal, OpCode.AddWatch)
        {
            Body = ToServer(new PathIntRequest(path, (int)mode)),
            Watch = mode == AddWatchMode.PersistentRecursive ? WatchKind.PersistentRecursive : WatchKind.Persistent,
            Watcher = watcher,
            ClientPath = path,
        };
        (await Submit(request, ct).ConfigureAwait(false)).ThrowIfError(path);
    }

    /// <summary>
    /// Removes watches of <paramref name="type"/> on <paramref name="path"/>: only <paramref name="watcher"/>
    /// (checkWatches, the server keeps its watch) or all of them (removeWatches). The removed watchers hear a
    /// DataWatchRemoved / ChildWatchRemoved / PersistentWatchRemoved event. NoWatcher when this client holds
    /// none; with <paramref name="local"/> the local watches go even when the server cannot be reached.
    /// </summary>
    public async Task RemoveWatchesAsync(string path, Watcher? watcher, WatcherType type, bool local = false, CancellationToken ct = default)
    {
        ValidatePath(path);
        var op = watcher is null ? OpCode.RemoveWatches : OpCode.CheckWatches;
        var request = new PendingRequest(RequestKind.Normal, op)
        {
            Body = ToServer(new PathIntRequest(path, (int)type)),
            Watcher = watcher,
            ClientPath = path,
            Deregister = true,
            RemoveType = type,
            RemoveLocal = local,
        };
        (await Submit(request, ct).ConfigureAwait(false)).ThrowIfError(path);
    }

    /// <summary>The ephemeral nodes of this session whose paths start with <paramref name="prefix"/>.</summary>
    public async Task<IReadOnlyList<string>> GetEphemeralsAsync(string prefix = "/", CancellationToken ct = default)
    {
        ValidatePath(prefix);
        var body = (await SendAsync(OpCode.GetEphemerals, new PathOnlyRequest(prefix), ct).ConfigureAwait(false)).ThrowIfError(prefix).BodyAs<StringListResponse>();
        return body.Values as IReadOnlyList<string> ?? [.. body.Values];
    }

    /// <summary>The number of nodes below <paramref name="path"/> (all descendants, not counting itself).</summary>
    public async Task<int> GetAllChildrenNumberAsync(string path, CancellationToken ct = default)
    {
        ValidatePath(path);
        return (await SendAsync(OpCode.GetAllChildrenNumber, new PathOnlyRequest(path), ct).ConfigureAwait(false)).ThrowIfError(path).BodyAs<IntResponse>().Value;
    }

    /// <summary>The identities of this session.</summary>
    public async Task<IReadOnlyList<ClientInfo>> WhoAmIAsync(CancellationToken ct = default) =>
        (await SendAsync(OpCode.WhoAmI, null, ct).ConfigureAwait(false)).ThrowIfError().BodyAs<WhoAmIResponse>().Clients;

    private Watcher? DefaultWatcherFor(bool watch) =>
        !watch ? null : _defaultWatcher ?? throw new InvalidOperationException("watch: true needs ZooKeeperClientOptions.DefaultWatcher");

    private Task<ZkResult> ReadAsync(OpCode op, string path, WatchKind kind, Watcher? watcher, CancellationToken ct)
    {
        ValidatePath(path);
        var request = new PendingRequest(RequestKind.Normal, op)
        {
            Body = ToServer(new PathWatchRequest(path, watcher is not null)),
            Watch = watcher is null ? WatchKind.None : kind,
            Watcher = watcher,
            ClientPath = path,
        };
        return Submit(request, ct);
    }

    private static void ValidatePath(string path, bool sequential = false)
    {
        if (ZkPath.Validate(path, sequential) is { } error)
        {
            throw new ArgumentException($"invalid path '{path}': {error}", nameof(path));
        }
    }
}
