using System.Text;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Integration.Tests.Infrastructure;

/// <summary>Every znode under a path with its data, full Stat and ACL, read over the client protocol (digest-authenticated as given).</summary>
public static class TreeDump
{
    public static async Task<List<string>> ReadAsync(int port, string root, params string[] digestCredentials)
    {
        await using var session = await RawSession.ConnectAsync(port);
        foreach (var credentials in digestCredentials)
        {
            await session.SendAsync(OpCode.Auth, w => new AuthPacket(0, "digest", Encoding.UTF8.GetBytes(credentials)).Write(w), Xids.Auth);
        }

        var lines = new List<string>();
        var pending = new Stack<string>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            var path = pending.Pop();
            var (header, body) = await session.SendAsync(OpCode.GetData, new PathWatchRequest(path, false));
            if (header.Err != ErrorCode.Ok)
            {
                lines.Add($"{path} {header.Err}");
                continue;
            }

            var data = (GetDataResponse)body!;
            var (_, aclBody) = await session.SendAsync(OpCode.GetAcl, new PathOnlyRequest(path));
            var acl = aclBody is GetAclResponse a ? string.Join(",", a.Acl.Select(x => $"{(int)x.Perms}:{x.Id}")) : "?";
            lines.Add($"{path} data={Convert.ToBase64String(data.Data ?? [])} {data.Stat} acl={acl}");
            var (_, children) = await session.SendAsync(OpCode.GetChildren, new PathWatchRequest(path, false));
            foreach (var child in ((GetChildrenResponse)children!).Children)
            {
                pending.Push(path == "/" ? "/" + child : path + "/" + child);
            }
        }

        lines.Sort(StringComparer.Ordinal);
        return lines;
    }
}
