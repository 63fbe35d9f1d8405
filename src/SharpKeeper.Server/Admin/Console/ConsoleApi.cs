using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using SharpKeeper.Client;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Quorum;

namespace SharpKeeper.Server.Admin.Console;

/// <summary>
/// The web console's JSON API beside the AdminServer's commands. The tree is read and written
/// through a ZooKeeper session on this server's own client port, so ACLs apply as to any client:
/// reads anonymously, writes (create, set, delete) only for callers whose Authorization header
/// passes the AdminServer's check (every permission on the root), with their digest credentials.
/// </summary>
public sealed class ConsoleApi(SharpKeeperServer server, AdminAuthorization authorization, ILogger logger) : IAsyncDisposable
{
    private static readonly TimeSpan SessionTimeout = TimeSpan.FromSeconds(30);
    private readonly SemaphoreSlim _readerGate = new(1, 1);
    private ZooKeeperClient? _reader;

    public void Map(WebApplication app)
    {
        app.MapGet("/", () => ConsoleAssets.Result("index.html"));
        app.MapGet("/console/{asset}", (string asset) => ConsoleAssets.Result(asset));
        app.MapGet("/console/api/overview", OverviewAsync);
        app.MapGet("/console/api/ensemble", EnsembleAsync);
        app.MapGet("/console/api/node", (string? path) => ReadAsync(path ?? "/"));
        app.MapPost("/console/api/node", (HttpContext context, NodeWrite body) => WriteAsync(context, client => client.CreateAsync(body.Path, Bytes(body.Data))));
        app.MapPut("/console/api/node", (HttpContext context, NodeWrite body) => WriteAsync(context, client => client.SetDataAsync(body.Path, Bytes(body.Data), body.Version ?? -1)));
        app.MapDelete("/console/api/node", (HttpContext context, string path, int? version) => WriteAsync(context, async client =>
        {
            await client.DeleteAsync(path, version ?? -1).ConfigureAwait(false);
            return path;
        }));
    }

    /// <summary>A write's body: the path, the data as text (UTF-8), and for a set the expected version.</summary>
    public sealed record NodeWrite(string Path, string? Data, int? Version);

    /// <summary>The figures the console charts, with this server's mode: mntr's entries, numbers as numbers.</summary>
    private async Task<IResult> OverviewAsync()
    {
        var openFds = ProcessFacts.OpenFileDescriptors();
        var maxFds = ProcessFacts.MaxFileDescriptors();
        var (entries, zxid, serving) = await server.Core.InvokeAsync(() =>
            (server.Admin.MonitorEntries(openFds, maxFds), server.Core.Tree.LastProcessedZxid, server.Admin.ModeInfo.IsServing)).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        var overview = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["server_id"] = server.Admin.ModeInfo.ServerId,
            ["serving"] = serving,
            ["zxid"] = "0x" + zxid.ToString("x", CultureInfo.InvariantCulture),
            ["unix_millis"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        };
        foreach (var (key, value) in entries)
        {
            overview[key] = double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && key != "version" ? number : value;
        }

        return Results.Json(overview);
    }

    /// <summary>
    /// Every member's mode, zxid, lag behind the leader and connections, each asked with srvr (the
    /// one four-letter word Apache allows by default) on its client port: the port of its server
    /// line, or this server's own when the line names none.
    /// </summary>
    private async Task<IResult> EnsembleAsync()
    {
        var ownPort = server.ClientEndPoint?.Port ?? server.Config.ClientPort ?? 2181;
        var members = server.Config.Servers.Count == 0
            ? [(Id: server.Admin.ModeInfo.ServerId, Host: "127.0.0.1", Port: ownPort, Role: "standalone")]
            : server.Config.Servers.Values.Select(s => (s.Id, Host: ClientHost(s.ClientAddress, s.Host), Port: s.ClientPort ?? ownPort, Role: s.Role.ToString().ToLowerInvariant())).ToList();
        var answers = await Task.WhenAll(members.Select(m => SrvrAsync(m.Host, m.Port))).ConfigureAwait(false);
        var leaderZxid = answers.Zip(members).FirstOrDefault(a => a.First?.Mode == "leader").First?.Zxid;
        return Results.Json(members.Zip(answers).Select(pair =>
        {
            var (member, answer) = pair;
            long? lag = answer is { } a && leaderZxid is { } leader && Zxid.EpochOf(leader) == Zxid.EpochOf(a.Zxid) ? Math.Max(0, leader - a.Zxid) : null;
            return new
            {
                id = member.Id,
                address = $"{member.Host}:{member.Port}",
                role = member.Role,
                mode = answer?.Mode ?? "unreachable",
                zxid = answer is null ? null : "0x" + answer.Zxid.ToString("x", CultureInfo.InvariantCulture),
                lag,
                connections = answer?.Connections,
                outstanding = answer?.Outstanding,
            };
        }));
    }

    private static string ClientHost(string? clientAddress, string serverHost) =>
        clientAddress is { Length: > 0 } address && address is not ("0.0.0.0" or "::" or "[::]") ? address : serverHost;

    private sealed record SrvrAnswer(string Mode, long Zxid, long Connections, long Outstanding);

    private static async Task<SrvrAnswer?> SrvrAsync(string host, int port)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            using var socket = new TcpClient();
            await socket.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
            var stream = socket.GetStream();
            await stream.WriteAsync("srvr"u8.ToArray(), timeout.Token).ConfigureAwait(false);
            using var reader = new StreamReader(stream, Encoding.ASCII);
            var text = await reader.ReadToEndAsync(timeout.Token).ConfigureAwait(false);
            var fields = text.Split('\n').Select(l => l.Split(": ", 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1].Trim(), StringComparer.Ordinal);
            if (!fields.TryGetValue("Mode", out var mode))
            {
                return null;
            }

            return new SrvrAnswer(
                mode,
                fields.TryGetValue("Zxid", out var zxid) ? long.Parse(zxid.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture) : 0,
                fields.TryGetValue("Connections", out var connections) ? long.Parse(connections, CultureInfo.InvariantCulture) : 0,
                fields.TryGetValue("Outstanding", out var outstanding) ? long.Parse(outstanding, CultureInfo.InvariantCulture) : 0);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or FormatException)
        {
            return null;
        }
    }

    /// <summary>A znode as the anonymous session sees it: data (base64), Stat, ACL and children, or the error the server answered.</summary>
    private async Task<IResult> ReadAsync(string path)
    {
        try
        {
            var client = await ReaderAsync().ConfigureAwait(false);
            var stat = await client.ExistsAsync(path).ConfigureAwait(false) ?? throw new KeeperException(ErrorCode.NoNode, path);

            // The node's ACL may refuse an anonymous session its data and children; its Stat always shows.
            byte[]? data = null;
            IReadOnlyList<string> children = [];
            IReadOnlyList<Acl> acl = [];
            string? dataError = null;
            try
            {
                (data, stat) = await client.GetDataAsync(path).ConfigureAwait(false);
                (children, _) = await client.GetChildrenAsync(path).ConfigureAwait(false);
                (acl, _) = await client.GetAclAsync(path).ConfigureAwait(false);
            }
            catch (KeeperException e) when (e.Code == ErrorCode.NoAuth)
            {
                dataError = "the node's ACL does not let an anonymous session read it";
            }

            return Results.Json(new
            {
                path,
                data = data is null ? null : Convert.ToBase64String(data),
                data_error = dataError,
                stat = StatFields(stat),
                acl = acl.Select(a => new { scheme = a.Id.Scheme, id = a.Id.Ident, perms = PermsText(a.Perms) }),
                children = children.Order(StringComparer.Ordinal),
            });
        }
        catch (KeeperException e)
        {
            return Results.Json(new { path, error = e.Code.ToString() }, statusCode: e.Code == ErrorCode.NoNode ? 404 : 409);
        }
        catch (Exception e) when (e is IOException or TimeoutException or SocketException or InvalidOperationException or ArgumentException)
        {
            return Results.Json(new { path, error = e.Message }, statusCode: 503);
        }
    }

    private async Task<IResult> WriteAsync<T>(HttpContext context, Func<ZooKeeperClient, Task<T>> write)
    {
        var request = AdminRequest.From(context);
        if (await authorization.CheckAsync(request).ConfigureAwait(false) is { } refusal)
        {
            return Results.Json(new { error = refusal.Error }, statusCode: refusal.Status);
        }

        try
        {
            await using var client = await ConnectAsync().ConfigureAwait(false);
            if (request.Authorization!.Split(' ', 2) is ["digest", var credentials])
            {
                await client.AddAuthAsync("digest", Encoding.UTF8.GetBytes(credentials)).ConfigureAwait(false);
            }

            var result = await write(client).ConfigureAwait(false);
            logger.LogInformation("Console {Method} by {Remote}: {Result}", context.Request.Method, context.Connection.RemoteIpAddress, result);
            return Results.Json(new { ok = true });
        }
        catch (KeeperException e)
        {
            return Results.Json(new { error = e.Code.ToString() }, statusCode: 409);
        }
        catch (Exception e) when (e is IOException or TimeoutException or SocketException or InvalidOperationException or ArgumentException)
        {
            return Results.Json(new { error = e.Message }, statusCode: 400);
        }
    }

    private async Task<ZooKeeperClient> ReaderAsync()
    {
        await _readerGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_reader is { IsConnected: true } reader)
            {
                return reader;
            }

            if (_reader is not null)
            {
                await _reader.DisposeAsync().ConfigureAwait(false);
            }

            return _reader = await ConnectAsync().ConfigureAwait(false);
        }
        finally
        {
            _readerGate.Release();
        }
    }

    /// <summary>A session on this server's plain client port, over loopback when it listens on every address.</summary>
    private Task<ZooKeeperClient> ConnectAsync()
    {
        if (server.ClientEndPoint is not { } endPoint)
        {
            throw new InvalidOperationException("the console needs a plain client port (clientPort) to reach the tree");
        }

        var address = endPoint.Address.Equals(IPAddress.Any) || endPoint.Address.Equals(IPAddress.IPv6Any) ? IPAddress.Loopback : endPoint.Address;
        var host = address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
        return ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectString = $"{host}:{endPoint.Port}", SessionTimeout = SessionTimeout });
    }

    private static byte[] Bytes(string? text) => text is null ? [] : Encoding.UTF8.GetBytes(text);

    private static object StatFields(Stat s) => new
    {
        czxid = "0x" + s.Czxid.ToString("x", CultureInfo.InvariantCulture),
        mzxid = "0x" + s.Mzxid.ToString("x", CultureInfo.InvariantCulture),
        pzxid = "0x" + s.Pzxid.ToString("x", CultureInfo.InvariantCulture),
        ctime = s.Ctime,
        mtime = s.Mtime,
        version = s.Version,
        cversion = s.Cversion,
        aversion = s.Aversion,
        ephemeral_owner = "0x" + s.EphemeralOwner.ToString("x", CultureInfo.InvariantCulture),
        data_length = s.DataLength,
        num_children = s.NumChildren,
    };

    /// <summary>Permissions as zkCli's getAcl prints them: cdrwa.</summary>
    private static string PermsText(Perms perms) => string.Concat(
        perms.HasFlag(Perms.Create) ? "c" : "", perms.HasFlag(Perms.Delete) ? "d" : "", perms.HasFlag(Perms.Read) ? "r" : "",
        perms.HasFlag(Perms.Write) ? "w" : "", perms.HasFlag(Perms.Admin) ? "a" : "");

    public async ValueTask DisposeAsync()
    {
        if (_reader is not null)
        {
            await _reader.DisposeAsync().ConfigureAwait(false);
        }

        _readerGate.Dispose();
    }
}
