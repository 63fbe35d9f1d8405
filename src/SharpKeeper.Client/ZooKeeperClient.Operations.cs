using System.Text;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Client;

/// <summary>The typed operations: they throw <see cref="KeeperException"/> for a non-Ok reply.</summary>
public sealed partial class ZooKeeperClient
{
    public static readonly IReadOnlyList<Acl> OpenAcl = Acl.OpenAclUnsafe;

    public async Task<(string Path, Stat Stat)> CreateAsync(string path, byte[]? data, CreateMode mode = CreateMode.Persistent, IReadOnlyList<Acl>? acl = null, long ttl = 0)
    {
        var op = mode.IsContainer() ? OpCode.CreateContainer : mode.IsTtl() ? OpCode.CreateTtl : OpCode.Create2;
        var result = await SendAsync(op, new CreateRequest(path, data, [.. acl ?? OpenAcl], (int)mode, ttl)).ConfigureAwait(false);
        var created = result.BodyAs<CreateResponse>();
        return (created.Path, created.Stat ?? default);
    }

    public async Task DeleteAsync(string path, int version = -1) =>
        Check(await SendAsync(OpCode.Delete, new PathVersionRequest(path, version)).ConfigureAwait(false), path);

    /// <summary>The node's Stat, or null when it does not exist; a watcher is set in both cases (as exists does).</summary>
    public async Task<Stat?> ExistsAsync(string path, Action<WatchedEvent>? watcher = null)
    {
        var result = await SubmitAsync(OpCode.Exists, w => new PathWatchRequest(path, watcher is not null).Write(w), CancellationToken.None,
            reply =>
            {
                if (watcher is null)
                {
                    return;
                }

                if (reply.Err == ErrorCode.Ok)
                {
                    _watches.AddData(path, watcher);
                }
                else if (reply.Err == ErrorCode.NoNode)
                {
                    _watches.AddExist(path, watcher);
                }
            }).ConfigureAwait(false);
        return result.Err == ErrorCode.NoNode ? null : result.BodyAs<StatResponse>().Stat;
    }

    public async Task<(byte[] Data, Stat Stat)> GetDataAsync(string path, Action<WatchedEvent>? watcher = null)
    {
        var result = await SubmitAsync(OpCode.GetData, w => new PathWatchRequest(path, watcher is not null).Write(w), CancellationToken.None,
            reply =>
            {
                if (watcher is not null && reply.Err == ErrorCode.Ok)
                {
                    _watches.AddData(path, watcher);
                }
            }).ConfigureAwait(false);
        var body = Check(result, path).BodyAs<GetDataResponse>();
        return (body.Data ?? [], body.Stat);
    }

    public async Task<Stat> SetDataAsync(string path, byte[]? data, int version = -1) =>
        Check(await SendAsync(OpCode.SetData, new SetDataRequest(path, data, version)).ConfigureAwait(false), path).BodyAs<StatResponse>().Stat;

    public async Task<(IReadOnlyList<string> Children, Stat Stat)> GetChildrenAsync(string path, Action<WatchedEvent>? watcher = null)
    {
        var result = await SubmitAsync(OpCode.GetChildren2, w => new PathWatchRequest(path, watcher is not null).Write(w), CancellationToken.None,
            reply =>
            {
                if (watcher is not null && reply.Err == ErrorCode.Ok)
                {
                    _watches.AddChild(path, watcher);
                }
            }).ConfigureAwait(false);
        var body = Check(result, path).BodyAs<GetChildrenResponse>();
        return ([.. body.Children], body.Stat ?? default);
    }

    public async Task<(IReadOnlyList<Acl> Acl, Stat Stat)> GetAclAsync(string path)
    {
        var body = Check(await SendAsync(OpCode.GetAcl, new PathOnlyRequest(path)).ConfigureAwait(false), path).BodyAs<GetAclResponse>();
        return (body.Acl, body.Stat);
    }

    public async Task<Stat> SetAclAsync(string path, IReadOnlyList<Acl> acl, int version = -1) =>
        Check(await SendAsync(OpCode.SetAcl, new SetAclRequest(path, [.. acl], version)).ConfigureAwait(false), path).BodyAs<StatResponse>().Stat;

    public async Task SyncAsync(string path) => Check(await SendAsync(OpCode.Sync, new PathOnlyRequest(path)).ConfigureAwait(false), path);

    public async Task<int> GetAllChildrenNumberAsync(string path) =>
        Check(await SendAsync(OpCode.GetAllChildrenNumber, new PathOnlyRequest(path)).ConfigureAwait(false), path).BodyAs<IntResponse>().Value;

    public async Task<IReadOnlyCollection<string>> GetEphemeralsAsync(string prefix = "/") =>
        Check(await SendAsync(OpCode.GetEphemerals, new PathOnlyRequest(prefix)).ConfigureAwait(false), prefix).BodyAs<StringListResponse>().Values;

    public async Task<IReadOnlyList<ClientInfo>> WhoAmIAsync() =>
        Check(await SendAsync(OpCode.WhoAmI, null).ConfigureAwait(false), null).BodyAs<WhoAmIResponse>().Clients;

    /// <summary>addWatch: a persistent (optionally recursive) watch that stays until removed.</summary>
    public async Task AddWatchAsync(string path, AddWatchMode mode, Action<WatchedEvent> watcher)
    {
        var result = await SubmitAsync(OpCode.AddWatch, w => new PathIntRequest(path, (int)mode).Write(w), CancellationToken.None,
            reply =>
            {
                if (reply.Err == ErrorCode.Ok)
                {
                    _watches.AddPersistent(path, watcher, mode == AddWatchMode.PersistentRecursive);
                }
            }).ConfigureAwait(false);
        Check(result, path);
    }

    public async Task RemoveWatchesAsync(string path, WatcherType type)
    {
        Check(await SendAsync(OpCode.RemoveWatches, new PathIntRequest(path, (int)type)).ConfigureAwait(false), path);
        _watches.Remove(path, type);
    }

    /// <summary>addAuth; it is resent after every reconnect. An AuthFailed reply means the server closed the session.</summary>
    public async Task AddAuthAsync(string scheme, byte[] auth)
    {
        lock (_auth)
        {
            _auth.Add((scheme, auth));
        }

        var session = _session ?? throw new KeeperException(ErrorCode.ConnectionLoss);
        var result = await session.SendAuthAsync(scheme, auth).ConfigureAwait(false);
        if (result.Err == ErrorCode.AuthFailed)
        {
            SetState(KeeperState.AuthFailed);
        }

        Check(result, null);
    }

    public Task AddDigestAuthAsync(string user, string password) => AddAuthAsync("digest", Encoding.UTF8.GetBytes($"{user}:{password}"));

    private static ZkResult Check(ZkResult result, string? path) =>
        result.Err == ErrorCode.Ok ? result : throw new KeeperException(result.Err, path);
}
