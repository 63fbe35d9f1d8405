using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using SharpKeeper.Client;
using SharpKeeper.Integration.Tests.Infrastructure;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Auth;
using Xunit.Abstractions;

namespace SharpKeeper.Integration.Tests.Admin;

/// <summary>
/// Apache 3.9's snapshot and restore AdminServer commands on a SharpKeeper server: authorization by
/// the Authorization header against the root's ACL (401, 403), the snapshot streamed with its
/// last_zxid and snapshot_size headers and loadable by Apache 3.8, a restore that replaces the tree
/// and survives a restart, and the refusals (a damaged body, the rate limit, the enable flags).
/// </summary>
public sealed class SnapshotRestoreTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SnapshotStreamsAFileApacheLoadsAndRestoreBringsItBackDurably()
    {
        var adminPort = FreePort.Pick();
        var directory = Path.Combine(Path.GetTempPath(), "sharpkeeper-it-" + Guid.NewGuid().ToString("N")[..12]);
        var config = $"admin.serverAddress=127.0.0.1\nadmin.serverPort={adminPort}\nadmin.rateLimiterIntervalInMS=0";
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            var url = $"http://127.0.0.1:{adminPort}/commands";
            byte[] snapshot;
            string lastZxid;
            await using (var server = await SharpKeeperProcess.StartAsync(config, directory))
            {
                await using (var client = await ConnectAsync(server.Port))
                {
                    for (var i = 0; i < 5; i++)
                    {
                        await client.CreateAsync($"/kept{i}", Encoding.UTF8.GetBytes($"value {i}"));
                    }
                }

                using var response = await http.SendAsync(Get($"{url}/snap", "digest anyone:at-all"));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
                snapshot = await response.Content.ReadAsByteArrayAsync();
                lastZxid = response.Headers.GetValues("last_zxid").Single();
                Assert.Equal(snapshot.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers.GetValues("snapshot_size").Single());
                Assert.Matches("^0x[0-9a-f]+$", lastZxid);
                output.WriteLine($"snapshot {snapshot.Length} bytes at {lastZxid}");

                // The tree moves on, then the snapshot is restored over it.
                await using (var client = await ConnectAsync(server.Port))
                {
                    await client.DeleteAsync("/kept0");
                    await client.CreateAsync("/later", []);
                }

                using var restored = await http.SendAsync(Post($"{url}/restore", snapshot, "ip"));
                var body = await restored.Content.ReadAsStringAsync();
                Assert.True(restored.StatusCode == HttpStatusCode.OK, body);
                Assert.Equal(JsonValueKind.Number, JsonDocument.Parse(body).RootElement.GetProperty("last_zxid").ValueKind);
                await using (var client = await ConnectAsync(server.Port))
                {
                    Assert.Equal(["kept0", "kept1", "kept2", "kept3", "kept4", "zookeeper"], (await client.GetChildrenAsync("/")).Children.Order());
                    await client.CreateAsync("/after-restore", []);
                }

                // A damaged body is refused and changes nothing.
                var damaged = snapshot.ToArray();
                damaged[damaged.Length / 2] ^= 0x5A;
                using var refused = await http.SendAsync(Post($"{url}/restore", damaged, "ip"));
                Assert.Equal(HttpStatusCode.InternalServerError, refused.StatusCode);
                output.WriteLine(await refused.Content.ReadAsStringAsync());
            }

            // The restore and what followed it survive a restart.
            await using (var server = await SharpKeeperProcess.StartAsync(config, directory))
            await using (var client = await ConnectAsync(server.Port))
            {
                Assert.Equal(["after-restore", "kept0", "kept1", "kept2", "kept3", "kept4", "zookeeper"], (await client.GetChildrenAsync("/")).Children.Order());
            }

            // Apache 3.8 loads the streamed snapshot as its own.
            var apacheDirectory = Path.Combine(Path.GetTempPath(), "apache-zk-it-" + Guid.NewGuid().ToString("N")[..12]);
            Directory.CreateDirectory(Path.Combine(apacheDirectory, "data", "version-2"));
            await File.WriteAllBytesAsync(Path.Combine(apacheDirectory, "data", "version-2", "snapshot." + lastZxid[2..]), snapshot);
            await using var apache = await ApacheZooKeeperProcess.StartAsync(apacheDirectory);
            await using var apacheClient = await ConnectAsync(apache.Port);
            Assert.Equal("value 3", Encoding.UTF8.GetString((await apacheClient.GetDataAsync("/kept3")).Data ?? []));
            Directory.Delete(apacheDirectory, recursive: true);
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    [Fact]
    public async Task TheHeaderMustAuthenticateIdsHoldingEveryPermissionOnTheRoot()
    {
        var adminPort = FreePort.Pick();
        await using var server = await SharpKeeperProcess.StartAsync($"admin.serverAddress=127.0.0.1\nadmin.serverPort={adminPort}\nadmin.rateLimiterIntervalInMS=0");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var url = $"http://127.0.0.1:{adminPort}/commands/snapshot?streaming=false";

        await AssertRefusedAsync(http, Get(url, null), HttpStatusCode.Unauthorized, "Auth info is missing for the command");
        await AssertRefusedAsync(http, Get(url, "digest"), HttpStatusCode.Unauthorized, "Not authenticated");
        await AssertRefusedAsync(http, Get(url, "kerberos someone"), HttpStatusCode.Unauthorized, "Not authenticated");

        // The root open to one digest user only: another is refused, that one is let through.
        await using (var client = await ConnectAsync(server.Port))
        {
            await client.AddAuthAsync("digest", Encoding.UTF8.GetBytes("admin:secret"));
            await client.SetAclAsync("/", [new Acl(Perms.All, new Id("digest", AuthProviders.DigestOf("admin:secret")))]);
        }

        await AssertRefusedAsync(http, Get(url, "digest admin:wrong"), HttpStatusCode.Forbidden, "Not authorized");
        await AssertRefusedAsync(http, Get(url, "ip"), HttpStatusCode.Forbidden, "Not authorized");
        using var allowed = await http.SendAsync(Get(url, "digest admin:secret"));
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.True(allowed.Headers.Contains("last_zxid"));
        var json = JsonDocument.Parse(await allowed.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(("snapshot", JsonValueKind.Null), (json.GetProperty("command").GetString(), json.GetProperty("error").ValueKind));

        // restore is POSTed; both are listed among the commands.
        using var wrongMethod = await http.SendAsync(Get($"http://127.0.0.1:{adminPort}/commands/restore", "digest admin:secret"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, wrongMethod.StatusCode);
        var listing = await http.GetStringAsync($"http://127.0.0.1:{adminPort}/commands");
        Assert.Contains("/commands/snapshot\"", listing, StringComparison.Ordinal);
        Assert.Contains("/commands/restore\"", listing, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheRateLimitAndTheEnableFlagsRefuseAsApacheDoes()
    {
        var adminPort = FreePort.Pick();
        await using (var server = await SharpKeeperProcess.StartAsync($"admin.serverAddress=127.0.0.1\nadmin.serverPort={adminPort}"))
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            var url = $"http://127.0.0.1:{adminPort}/commands/snapshot?streaming=false";
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(Get(url, "ip"))).StatusCode);

            // The default interval is five minutes: the second at once is refused.
            await AssertRefusedAsync(http, Get(url, "ip"), (HttpStatusCode)429, null);
        }

        adminPort = FreePort.Pick();
        await using (var server = await SharpKeeperProcess.StartAsync($"admin.serverAddress=127.0.0.1\nadmin.serverPort={adminPort}\nadmin.snapshot.enabled=false\nadmin.restore.enabled=false"))
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            await AssertRefusedAsync(http, Get($"http://127.0.0.1:{adminPort}/commands/snapshot", "ip"), HttpStatusCode.ServiceUnavailable, null);
            await AssertRefusedAsync(http, Post($"http://127.0.0.1:{adminPort}/commands/restore", [1, 2, 3], "ip"), HttpStatusCode.ServiceUnavailable, null);
        }
    }

    private static async Task AssertRefusedAsync(HttpClient http, HttpRequestMessage request, HttpStatusCode status, string? error)
    {
        using var response = await http.SendAsync(request);
        Assert.Equal(status, response.StatusCode);
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        if (error is not null)
        {
            Assert.Equal(error, json.GetProperty("error").GetString());
        }

        Assert.True(json.TryGetProperty("command", out _));
    }

    private static HttpRequestMessage Get(string url, string? authorization)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        return request;
    }

    private static HttpRequestMessage Post(string url, byte[] body, string authorization)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        return request;
    }

    private static Task<ZooKeeperClient> ConnectAsync(int port) =>
        ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectString = $"127.0.0.1:{port}" });
}
