using System.Globalization;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Auth;
using SharpKeeper.Server.Data;

namespace SharpKeeper.Server.Processing;

/// <summary>A transaction the prepare stage produced, and the paths whose pending records it wrote.</summary>
public sealed record PreparedTxn(TxnHeader Header, Txn Txn, List<string> Touched);

/// <summary>
/// Turns a write request into a deterministic transaction: validates paths, versions and ACLs
/// against the pending view, assigns the zxid and fixes every derived value (sequential names,
/// parent cversion, ephemeral owner). A request that fails becomes an ErrorTxn, as in ZooKeeper.
/// </summary>
public sealed class RequestPreparer(PendingChanges pending, DataTree tree, bool extendedTypesEnabled, IReadOnlySet<string> providerSchemes, bool skipAcl = false,
    bool reconfigEnabled = false)
{
    public PreparedTxn Prepare(ClientRequest request, long zxid, long time, IReadOnlyList<Id> authInfo, IMembershipChanger? membership = null)
    {
        var touched = new List<string>();
        var header = new TxnHeader(request.SessionId, request.Xid, zxid, time, request.Type);
        try
        {
            if (request.Type == OpCode.Multi)
            {
                return new PreparedTxn(header, PrepareMulti(request, header, authInfo, touched), touched);
            }

            if (request.Type == OpCode.Reconfig)
            {
                return new PreparedTxn(header, PrepareReconfig(request.Reconfig!, header, authInfo, membership, touched), touched);
            }

            var txn = PrepareOne(request.Type, request.Body, request.SessionId, header, authInfo, touched);
            return new PreparedTxn(header, txn, touched);
        }
        catch (KeeperException e)
        {
            return new PreparedTxn(header with { Type = OpCode.Error }, new ErrorTxn(e.Code), touched);
        }
    }

    /// <summary>The closeSession txn for a session: its ephemerals as the pending view sees them.</summary>
    public PreparedTxn PrepareCloseSession(long sessionId, long zxid, long time)
    {
        var ephemerals = new HashSet<string>(tree.EphemeralsOf(sessionId), StringComparer.Ordinal);
        foreach (var change in pending.All)
        {
            if (!change.Exists)
            {
                ephemerals.Remove(change.Path);
            }
            else if (change.EphemeralOwner == sessionId)
            {
                ephemerals.Add(change.Path);
            }
        }

        var touched = new List<string>();
        foreach (var path in ephemerals)
        {
            pending.Add(new ChangeRecord { Zxid = zxid, Path = path, Exists = false });
            touched.Add(path);
        }

        var header = new TxnHeader(sessionId, 0, zxid, time, OpCode.CloseSession);
        return new PreparedTxn(header, new CloseSessionTxn([.. ephemerals.Order(StringComparer.Ordinal)]), touched);
    }

    private MultiTxn PrepareMulti(ClientRequest request, TxnHeader header, IReadOnlyList<Id> authInfo, List<string> touched)
    {
        var ops = request.MultiOps ?? [];
        var saved = pending.Save(ops.SelectMany(op => new[] { op.Request.Path, SafeParent(op.Request.Path) }));
        var subs = new List<SubTxn>(ops.Count);
        KeeperException? failure = null;
        foreach (var op in ops)
        {
            if (failure is not null)
            {
                subs.Add(new SubTxn(OpCode.Error, new ErrorTxn(ErrorCode.RuntimeInconsistency)));
                continue;
            }

            try
            {
                // ZooKeeper logs a create2 inside a multi as a plain create (its result carries no stat).
                var type = op.Type == OpCode.Create2 ? OpCode.Create : op.Type;
                subs.Add(new SubTxn(type, PrepareOne(op.Type, op.Request, request.SessionId, header, authInfo, touched)));
            }
            catch (KeeperException e)
            {
                failure = e;
                subs.Add(new SubTxn(OpCode.Error, new ErrorTxn(e.Code)));
                pending.Rollback(header.Zxid, saved);
            }
        }

        return new MultiTxn(subs);
    }

    private static string SafeParent(string path) => path.Contains('/') ? ZkPath.Parent(path) : path;

    private Txn PrepareOne(OpCode type, PathRequest? body, long sessionId, TxnHeader header, IReadOnlyList<Id> authInfo, List<string> touched)
    {
        switch (type, body)
        {
            case (OpCode.Create or OpCode.Create2 or OpCode.CreateContainer or OpCode.CreateTtl, CreateRequest create):
                return PrepareCreate(type, create, sessionId, header, authInfo, touched);

            case (OpCode.Delete, PathVersionRequest delete):
                {
                    var parentPath = ParentForChange(delete.Path);
                    var parent = pending.Get(parentPath);
                    CheckAcl(parent.Acl, Perms.Delete, authInfo);
                    var node = pending.Get(delete.Path);
                    CheckVersion(node.Version, delete.Version, delete.Path);
                    if (node.ChildCount > 0)
                    {
                        throw new KeeperException(ErrorCode.NotEmpty, delete.Path);
                    }

                    RecordDelete(parent, delete.Path, header.Zxid, touched);
                    return new DeleteTxn(delete.Path);
                }

            case (OpCode.DeleteContainer, PathVersionRequest delete):
                {
                    var parentPath = ParentForChange(delete.Path);
                    var node = pending.Get(delete.Path);
                    if (node.ChildCount > 0)
                    {
                        throw new KeeperException(ErrorCode.NotEmpty, delete.Path);
                    }

                    if (!EphemeralType.IsContainer(node.EphemeralOwner) && !EphemeralType.IsTtl(node.EphemeralOwner))
                    {
                        throw new KeeperException(ErrorCode.BadVersion, delete.Path);
                    }

                    RecordDelete(pending.Get(parentPath), delete.Path, header.Zxid, touched);
                    return new DeleteTxn(delete.Path);
                }

            case (OpCode.SetData, SetDataRequest setData):
                {
                    ValidatePath(setData.Path);
                    var node = pending.Get(setData.Path);
                    CheckAcl(node.Acl, Perms.Write, authInfo);
                    var newVersion = CheckVersion(node.Version, setData.Version, setData.Path);
                    var changed = node.Duplicate(header.Zxid);
                    changed.Version = newVersion;
                    Record(changed, touched);
                    return new SetDataTxn(setData.Path, setData.Data, newVersion);
                }

            case (OpCode.SetAcl, SetAclRequest setAcl):
                {
                    ValidatePath(setAcl.Path);
                    var acl = FixupAcl(setAcl.Acl, authInfo, setAcl.Path, providerSchemes);
                    var node = pending.Get(setAcl.Path);
                    CheckAcl(node.Acl, Perms.Admin, authInfo);
                    var newVersion = CheckVersion(node.Aversion, setAcl.Version, setAcl.Path);
                    var changed = node.Duplicate(header.Zxid);
                    changed.Aversion = newVersion;
                    changed.Acl = acl;
                    Record(changed, touched);
                    return new SetAclTxn(setAcl.Path, acl, newVersion);
                }

            case (OpCode.Check, PathVersionRequest check):
                {
                    ValidatePath(check.Path);
                    var node = pending.Get(check.Path);
                    CheckAcl(node.Acl, Perms.Read, authInfo);
                    return new CheckVersionTxn(check.Path, CheckVersion(node.Version, check.Version, check.Path));
                }

            default:
                throw new KeeperException(ErrorCode.Unimplemented);
        }
    }

    /// <summary>
    /// As Apache's PrepRequestProcessor: reconfigEnabled, then a leader (a standalone server answers
    /// Unimplemented), then the leader's checks of the new membership, and last the WRITE permission on
    /// /zookeeper/config (read-only for all unless changed: only super, or skipACL, may reconfig).
    /// </summary>
    private SetDataTxn PrepareReconfig(ReconfigRequest request, TxnHeader header, IReadOnlyList<Id> authInfo, IMembershipChanger? membership, List<string> touched)
    {
        if (!reconfigEnabled)
        {
            throw new KeeperException(ErrorCode.ReconfigDisabled);
        }

        if (membership is null)
        {
            throw new KeeperException(ErrorCode.Unimplemented);
        }

        var text = membership.PlanReconfig(request, header.Zxid);
        var node = pending.Get(DataTree.ConfigPath);
        CheckAcl(node.Acl, Perms.Write, authInfo);
        var changed = node.Duplicate(header.Zxid);
        changed.Version = -1;
        Record(changed, touched);
        return new SetDataTxn(DataTree.ConfigPath, System.Text.Encoding.UTF8.GetBytes(text), -1);
    }

    private Txn PrepareCreate(OpCode type, CreateRequest create, long sessionId, TxnHeader header, IReadOnlyList<Id> authInfo, List<string> touched)
    {
        if (!CreateModeExtensions.IsKnown(create.Flags))
        {
            throw new KeeperException(ErrorCode.BadArguments, create.Path);
        }

        var mode = (CreateMode)create.Flags;
        if (mode.IsTtl() && !extendedTypesEnabled)
        {
            throw new KeeperException(ErrorCode.Unimplemented, create.Path);
        }

        // As ZooKeeper: a TTL mode needs 0 < ttl <= max, and any other mode must not carry a TTL.
        var ttl = type == OpCode.CreateTtl ? create.Ttl : -1;
        if (mode.IsTtl() ? ttl <= 0 || ttl > EphemeralType.MaxTtl : ttl >= 0)
        {
            throw new KeeperException(ErrorCode.BadArguments, create.Path);
        }

        var lastSlash = create.Path.LastIndexOf('/');
        if (lastSlash < 0 || create.Path.Contains('\0'))
        {
            throw new KeeperException(ErrorCode.BadArguments, create.Path);
        }

        // Same order of checks as ZooKeeper: the parent is looked up before the full path is validated.
        var parentPath = lastSlash == 0 ? "/" : create.Path[..lastSlash];
        var acl = FixupAcl(create.Acl, authInfo, create.Path, providerSchemes);
        var parent = pending.Get(parentPath);
        CheckAcl(parent.Acl, Perms.Create, authInfo);

        var path = create.Path;
        if (mode.IsSequential())
        {
            path += FormatSequence(parent.Cversion);
        }

        ValidatePath(path);
        if (pending.Exists(path))
        {
            throw new KeeperException(ErrorCode.NodeExists, path);
        }

        if (parent.EphemeralOwner != 0 && !EphemeralType.IsContainer(parent.EphemeralOwner) && !EphemeralType.IsTtl(parent.EphemeralOwner))
        {
            throw new KeeperException(ErrorCode.NoChildrenForEphemerals, path);
        }

        var newCversion = parent.Cversion + 1;
        var owner = mode.IsContainer() ? EphemeralType.ContainerOwner
            : mode.IsTtl() ? EphemeralType.ForTtl(ttl)
            : mode.IsEphemeral() ? sessionId : 0;

        var changedParent = parent.Duplicate(header.Zxid);
        changedParent.ChildCount++;
        changedParent.Cversion = newCversion;
        Record(changedParent, touched);
        Record(new ChangeRecord { Zxid = header.Zxid, Path = path, Exists = true, EphemeralOwner = owner, Acl = acl }, touched);

        return new CreateTxn(path, create.Data, acl, mode.IsEphemeral(), newCversion, mode.IsTtl() ? ttl : 0);
    }

    /// <summary>Java's %010d: zero-padded to ten characters including the sign.</summary>
    public static string FormatSequence(int value) =>
        value >= 0 ? value.ToString("D10", CultureInfo.InvariantCulture) : "-" + (-(long)value).ToString("D9", CultureInfo.InvariantCulture);

    private void RecordDelete(ChangeRecord parent, string path, long zxid, List<string> touched)
    {
        var changedParent = parent.Duplicate(zxid);
        changedParent.ChildCount--;
        Record(changedParent, touched);
        Record(new ChangeRecord { Zxid = zxid, Path = path, Exists = false }, touched);
    }

    private void Record(ChangeRecord record, List<string> touched)
    {
        pending.Add(record);
        touched.Add(record.Path);
    }

    private static string ParentForChange(string path)
    {
        var lastSlash = path.LastIndexOf('/');
        if (lastSlash < 0 || path.Contains('\0') || DataTree.IsSpecialPath(path))
        {
            throw new KeeperException(ErrorCode.BadArguments, path);
        }

        return lastSlash == 0 ? "/" : path[..lastSlash];
    }

    private static void ValidatePath(string path, bool sequential = false)
    {
        if (!ZkPath.IsValid(path, sequential))
        {
            throw new KeeperException(ErrorCode.BadArguments, path);
        }
    }

    private static int CheckVersion(int current, int expected, string path)
    {
        if (expected != -1 && expected != current)
        {
            throw new KeeperException(ErrorCode.BadVersion, path);
        }

        return current + 1;
    }

    /// <summary>ZooKeeper's checkACL: NoAuth unless the session's ids are granted the permission, or skipACL turns checks off.</summary>
    private void CheckAcl(IReadOnlyList<Acl> acl, Perms perm, IReadOnlyList<Id> authInfo)
    {
        if (!skipAcl && !AclChecker.IsAllowed(acl, perm, authInfo))
        {
            throw new KeeperException(ErrorCode.NoAuth);
        }
    }

    /// <summary>Removes duplicates, rejects empty or invalid ACLs and expands the "auth" scheme to the session's ids.</summary>
    private static int IndexOf(IReadOnlyList<Acl> acl, Acl entry, int before)
    {
        for (var i = 0; i < before; i++)
        {
            if (acl[i] == entry)
            {
                return i;
            }
        }

        return -1;
    }

    public static List<Acl> FixupAcl(IReadOnlyList<Acl>? acl, IReadOnlyList<Id> authInfo, string path, IReadOnlySet<string> providerSchemes)
    {
        if (acl is null || acl.Count == 0)
        {
            throw new KeeperException(ErrorCode.InvalidAcl, path);
        }

        var result = new List<Acl>(acl.Count);
        for (var i = 0; i < acl.Count; i++)
        {
            // Duplicates count once (the first stands). Lists are short: a scan beats a set.
            var entry = acl[i];
            if (IndexOf(acl, entry, i) >= 0)
            {
                continue;
            }

            if (entry.Id.Scheme == AuthProviders.World && entry.Id.Ident == "anyone")
            {
                result.Add(entry);
            }
            else if (entry.Id.Scheme == AuthProviders.AuthScheme)
            {
                var any = false;
                foreach (var id in authInfo)
                {
                    if (AuthProviders.IsAuthenticated(id.Scheme) && AuthProviders.HasProvider(id.Scheme, providerSchemes))
                    {
                        any = true;
                        result.Add(new Acl(entry.Perms, id));
                    }
                }

                if (!any)
                {
                    throw new KeeperException(ErrorCode.InvalidAcl, path);
                }
            }
            else if (!AuthProviders.IsKnownScheme(entry.Id.Scheme) || !AuthProviders.IsValidAclId(entry.Id.Scheme, entry.Id.Ident)
                || (entry.Id.Scheme != AuthProviders.World && !AuthProviders.HasProvider(entry.Id.Scheme, providerSchemes)))
            {
                throw new KeeperException(ErrorCode.InvalidAcl, path);
            }
            else
            {
                result.Add(entry);
            }
        }

        return result;
    }
}
