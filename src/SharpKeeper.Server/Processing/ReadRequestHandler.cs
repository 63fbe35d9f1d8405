using System.Text;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Auth;
using SharpKeeper.Server.Data;

namespace SharpKeeper.Server.Processing;

/// <summary>The outcome of a request that changes no state: error, body, and whether the connection must close.</summary>
public readonly record struct ReadOutcome(ErrorCode Err, Response? Body, bool CloseConnection = false);

/// <summary>
/// Answers the requests that need no transaction — reads, watches, auth, ping, sync — against the
/// applied tree, with ZooKeeper's ACL checks and watch registration.
/// </summary>
public sealed class ReadRequestHandler(DataTree tree, string? superDigest, bool skipAcl = false)
{
    public ReadOutcome Execute(ClientRequest request, IClientConnection connection)
    {
        try
        {
            return request.Type switch
            {
                OpCode.Ping => new ReadOutcome(ErrorCode.Ok, null),
                OpCode.Exists => Exists((PathWatchRequest)request.Body!, connection),
                OpCode.GetData => new ReadOutcome(ErrorCode.Ok, GetData((PathWatchRequest)request.Body!, connection)),
                OpCode.GetChildren => new ReadOutcome(ErrorCode.Ok, GetChildren((PathWatchRequest)request.Body!, connection, withStat: false)),
                OpCode.GetChildren2 => new ReadOutcome(ErrorCode.Ok, GetChildren((PathWatchRequest)request.Body!, connection, withStat: true)),
                OpCode.GetAcl => GetAcl(request.Body!.Path, connection),
                OpCode.GetAllChildrenNumber => AllChildrenNumber(request.Body!.Path, connection),
                OpCode.GetEphemerals => GetEphemerals(request.Body!.Path, connection),
                OpCode.Sync => new ReadOutcome(ErrorCode.Ok, new PathResponse(request.Body!.Path)),
                OpCode.SetWatches or OpCode.SetWatches2 => SetWatches(request.SetWatches!, connection),
                OpCode.AddWatch => AddWatch((PathIntRequest)request.Body!, connection),
                OpCode.CheckWatches => CheckOrRemoveWatches((PathIntRequest)request.Body!, connection, remove: false),
                OpCode.RemoveWatches => CheckOrRemoveWatches((PathIntRequest)request.Body!, connection, remove: true),
                OpCode.WhoAmI => new ReadOutcome(ErrorCode.Ok, WhoAmI(connection)),
                OpCode.MultiRead => new ReadOutcome(ErrorCode.Ok, MultiRead(request.MultiOps!, connection)),
                OpCode.Auth => Authenticate(request.Auth!, connection),
                _ => new ReadOutcome(ErrorCode.Unimplemented, null),
            };
        }
        catch (KeeperException e)
        {
            return new ReadOutcome(e.Code, null);
        }
    }

    private ReadOutcome Exists(PathWatchRequest request, IClientConnection connection)
    {
        if (request.Path.Contains('\0'))
        {
            throw new KeeperException(ErrorCode.BadArguments, request.Path);
        }

        var node = tree.GetNode(request.Path);
        if (node is not null)
        {
            CheckAcl(node, Perms.Read, connection);
        }

        if (request.Watch)
        {
            tree.DataWatches.Add(request.Path, connection);
        }

        return node is null ? new ReadOutcome(ErrorCode.NoNode, null) : new ReadOutcome(ErrorCode.Ok, new StatResponse(node.ToStat()));
    }

    private GetDataResponse GetData(PathWatchRequest request, IClientConnection connection)
    {
        var node = Require(request.Path);
        CheckAcl(node, Perms.Read, connection);
        if (request.Watch)
        {
            tree.DataWatches.Add(request.Path, connection);
        }

        return new GetDataResponse(node.Data, node.ToStat());
    }

    private GetChildrenResponse GetChildren(PathWatchRequest request, IClientConnection connection, bool withStat)
    {
        var node = Require(request.Path);
        CheckAcl(node, Perms.Read, connection);
        if (request.Watch)
        {
            tree.ChildWatches.Add(request.Path, connection);
        }

        // The core serializes the reply before it applies anything else, so a live view is safe here.
        return new GetChildrenResponse(node.ChildNames, withStat ? node.ToStat() : null);
    }

    private ReadOutcome GetAcl(string path, IClientConnection connection)
    {
        var node = Require(path);
        CheckAcl(node, Perms.Read | Perms.Admin, connection);
        IReadOnlyList<Acl> acl = node.Acl;

        // Without ADMIN, digest ids are shown with the password hash masked, as ZooKeeper does.
        if (!skipAcl && !AclChecker.IsAllowed(node.Acl, Perms.Admin, connection.AuthInfo))
        {
            acl = [.. node.Acl.Select(a => a.Id.Scheme == AuthProviders.Digest ? a with { Id = a.Id with { Ident = MaskDigest(a.Id.Ident) } } : a)];
        }

        return new ReadOutcome(ErrorCode.Ok, new GetAclResponse(acl, node.ToStat()));
    }

    private static string MaskDigest(string id)
    {
        var colon = id.IndexOf(':');
        return colon < 0 ? id : id[..colon] + ":x";
    }

    private ReadOutcome AllChildrenNumber(string path, IClientConnection connection)
    {
        var node = Require(path);
        CheckAcl(node, Perms.Read, connection);
        return new ReadOutcome(ErrorCode.Ok, new IntResponse(tree.CountDescendants(node)));
    }

    private ReadOutcome GetEphemerals(string prefix, IClientConnection connection)
    {
        var all = tree.EphemeralsOf(connection.SessionId);
        var trimmed = prefix.Trim();
        List<string> result = trimmed.Length == 0 || trimmed == "/"
            ? [.. all]
            : [.. all.Where(p => p.StartsWith(prefix, StringComparison.Ordinal))];
        return new ReadOutcome(ErrorCode.Ok, new StringListResponse(result));
    }

    private ReadOutcome SetWatches(SetWatchesRequest request, IClientConnection connection)
    {
        tree.SetWatches(request.RelativeZxid, request, connection);
        return new ReadOutcome(ErrorCode.Ok, null);
    }

    private ReadOutcome AddWatch(PathIntRequest request, IClientConnection connection)
    {
        var mode = request.Value switch
        {
            (int)AddWatchMode.Persistent => WatchMode.Persistent,
            (int)AddWatchMode.PersistentRecursive => WatchMode.PersistentRecursive,
            // ZooKeeper fails to decode an unknown mode and answers MarshallingError.
            _ => throw new KeeperException(ErrorCode.MarshallingError, request.Path),
        };
        tree.AddWatch(request.Path, connection, mode);

        // ZooKeeper answers addWatch with an ErrorResponse(0) body.
        return new ReadOutcome(ErrorCode.Ok, new IntResponse(0));
    }

    private ReadOutcome CheckOrRemoveWatches(PathIntRequest request, IClientConnection connection, bool remove)
    {
        var found = (WatcherType)request.Value switch
        {
            WatcherType.Children => Apply(tree.ChildWatches),
            WatcherType.Data => Apply(tree.DataWatches),
            WatcherType.Any => Apply(tree.DataWatches) | Apply(tree.ChildWatches),
            // ZooKeeper fails to convert an unknown type (a RuntimeException) and answers MarshallingError.
            _ => throw new KeeperException(ErrorCode.MarshallingError, request.Path),
        };
        return found ? new ReadOutcome(ErrorCode.Ok, null) : new ReadOutcome(ErrorCode.NoWatcher, null);

        bool Apply(WatchManager manager) =>
            remove ? manager.Remove(request.Path, connection) : manager.Contains(request.Path, connection);
    }

    private static WhoAmIResponse WhoAmI(IClientConnection connection) =>
        new([.. connection.AuthInfo.Select(id => new ClientInfo(id.Scheme, id.Scheme == AuthProviders.Digest ? UserOf(id.Ident) : id.Ident))]);

    private static string UserOf(string digestId)
    {
        var colon = digestId.IndexOf(':');
        return colon < 0 ? digestId : digestId[..colon];
    }

    private MultiResponse MultiRead(List<MultiOp> ops, IClientConnection connection)
    {
        var results = new List<MultiResult>(ops.Count);
        foreach (var op in ops)
        {
            try
            {
                // ZooKeeper rebuilds multiRead ops from the path alone: a watch flag on the wire never sets a watch.
                results.Add(op.Type switch
                {
                    OpCode.GetChildren => new MultiResult(OpCode.GetChildren, ErrorCode.Ok,
                        GetChildren(new PathWatchRequest(op.Request.Path, false), connection, withStat: false)),
                    OpCode.GetData => new MultiResult(OpCode.GetData, ErrorCode.Ok, GetData(new PathWatchRequest(op.Request.Path, false), connection)),
                    _ => throw new KeeperException(ErrorCode.BadArguments),
                });
            }
            catch (KeeperException e)
            {
                results.Add(MultiResult.Error(e.Code));
            }
        }

        return new MultiResponse(results);
    }

    private ReadOutcome Authenticate(AuthPacket auth, IClientConnection connection)
    {
        Id? id = auth.Scheme switch
        {
            AuthProviders.Digest => new Id(AuthProviders.Digest, AuthProviders.DigestOf(Encoding.UTF8.GetString(auth.Auth))),
            AuthProviders.Ip => new Id(AuthProviders.Ip, connection.RemoteAddress),
            _ => null,
        };
        if (id is null)
        {
            return new ReadOutcome(ErrorCode.AuthFailed, null, CloseConnection: true);
        }

        var ids = new List<Id>(connection.AuthInfo);
        if (id.Scheme == AuthProviders.Digest && superDigest is not null && id.Ident == superDigest)
        {
            ids.Add(new Id(AuthProviders.Super, ""));
        }

        if (!ids.Contains(id))
        {
            // Authenticated ids are listed before the connection's ip id, as ZooKeeper's whoAmI shows them.
            var ipIndex = ids.FindIndex(i => i.Scheme == AuthProviders.Ip);
            ids.Insert(ipIndex < 0 ? ids.Count : ipIndex, id);
        }

        connection.AuthInfo = ids;
        return new ReadOutcome(ErrorCode.Ok, null);
    }

    private DataNode Require(string path) => tree.GetNode(path) ?? throw new KeeperException(ErrorCode.NoNode, path);

    /// <summary>ZooKeeper's checkACL: NoAuth unless the session's ids are granted the permission, or skipACL turns checks off.</summary>
    private void CheckAcl(DataNode node, Perms perm, IClientConnection connection)
    {
        if (!skipAcl && !AclChecker.IsAllowed(node.Acl, perm, connection.AuthInfo))
        {
            throw new KeeperException(ErrorCode.NoAuth);
        }
    }
}
