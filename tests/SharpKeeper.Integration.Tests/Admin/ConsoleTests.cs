using System.Text;
using System.Text.Json;
using SharpKeeper.Client;
using SharpKeeper.Integration.Tests.Ensemble;
using SharpKeeper.Integration.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SharpKeeper.Integration.Tests.Admin;

/// <summary>
/// The web console at the AdminServer's root, in a real browser (Debian's headless Chromium through
/// chromedriver): it shows the server's mode, a znode just created with its data, and live charts;
/// it is read-only until the operator gives AdminServer credentials, and then creates znodes.
/// </summary>
[Collection(EnsembleCollection.Name)]
public sealed class ConsoleTests(ITestOutputHelper output)
{
    /// <summary>
    /// The ensemble view of a member of three: every server (found by the client address of its
    /// server line) with its mode, zxid, lag behind the leader and connections; the leader's
    /// death shows as an unreachable server and a new leader.
    /// </summary>
    [Fact]
    public async Task TheEnsembleViewShowsEveryServersModeZxidAndLag()
    {
        await using var cluster = EnsembleCluster.Create([MemberKind.SharpKeeper, MemberKind.SharpKeeper, MemberKind.SharpKeeper]);
        var serverLines = string.Join('\n', cluster.Members.Select(m => $"server.{m.Id}=127.0.0.1:{m.QuorumPort}:{m.ElectionPort};127.0.0.1:{m.ClientPort}"));
        var adminPort = FreePort.Pick();
        foreach (var member in cluster.Members)
        {
            member.ReplaceSettings(["server."], serverLines);
        }

        cluster[1].ReplaceSettings(["admin."], $"admin.serverAddress=127.0.0.1\nadmin.serverPort={adminPort}");
        cluster.StartAll();
        try
        {
            Assert.Equal(3, await cluster.WaitForLeaderAsync(MixedEnsembleTests.ElectionTimeout));
            await using (var client = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectString = cluster[3].ConnectString }))
            {
                await client.CreateAsync("/seen-everywhere", []);
            }

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
            var members = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{adminPort}/console/api/ensemble")).RootElement;
            output.WriteLine(members.ToString());
            Assert.Equal(["follower", "follower", "leader"], members.EnumerateArray().Select(m => m.GetProperty("mode").GetString()));
            Assert.All(members.EnumerateArray(), m =>
            {
                Assert.StartsWith("0x", m.GetProperty("zxid").GetString(), StringComparison.Ordinal);
                Assert.InRange(m.GetProperty("lag").GetInt64(), 0, 10);
                Assert.True(m.GetProperty("connections").GetInt64() >= 1);
            });

            await cluster[3].KillAsync();
            await EnsembleTests.PollAsync(async () =>
            {
                var view = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{adminPort}/console/api/ensemble")).RootElement;
                return view[2].GetProperty("mode").GetString() == "unreachable" && view.EnumerateArray().Any(m => m.GetProperty("mode").GetString() == "leader");
            }, "the console to show the dead leader unreachable and a new leader");
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }

    [Fact]
    public async Task TheConsoleShowsTheModeTheTreeAndChartsAndWritesOnlyWithAuthorization()
    {
        Assert.True(HeadlessChromium.IsInstalled, "Chromium is missing: run tests/compat/install-deps.sh (Debian packages chromium, chromium-driver)");
        var adminPort = FreePort.Pick();
        await using var server = await SharpKeeperProcess.StartAsync($"admin.serverAddress=127.0.0.1\nadmin.serverPort={adminPort}");
        await using var client = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectString = $"127.0.0.1:{server.Port}" });
        await client.CreateAsync("/console-test", Encoding.UTF8.GetBytes("{\"feature\":\"on\",\"limit\":3}"));

        await using var browser = await HeadlessChromium.StartAsync();
        await browser.OpenAsync($"http://127.0.0.1:{adminPort}/");
        await browser.WaitForAsync("return document.querySelector('#mode').textContent === 'standalone'", "the mode");
        await browser.WaitForAsync("return document.querySelector('#children li[data-path=\"/console-test\"]') !== null", "the new znode in the tree");
        await browser.WaitForAsync("return Number(document.querySelector('#chart-znodes svg').getAttribute('data-points')) >= 2", "two points on the znode chart");
        Assert.Equal("6", await browser.TextAsync("#chart-znodes .value"));
        await browser.WaitForAsync("return document.querySelector('#ensemble tbody tr[data-mode=\"standalone\"]') !== null", "the server in the ensemble table");

        // The znode's data as text, then as JSON; its Stat.
        await browser.ClickAsync("#children li[data-path=\"/console-test\"]");
        await browser.WaitForAsync("return document.querySelector('#data').textContent.includes('\"feature\":\"on\"')", "the data as text");
        await browser.ClickAsync("[data-view=\"json\"]");
        await browser.WaitForAsync("return document.querySelector('#data').textContent.includes('\"limit\": 3')", "the data as JSON");
        Assert.Contains("world:anyone cdrwa", await browser.TextAsync("#acl"), StringComparison.Ordinal);

        // Read-only without credentials: the server refuses, the page says why, nothing is created.
        await browser.TypeAsync("#write-path", "/from-browser");
        await browser.TypeAsync("#write-data", "typed in Chromium");
        await browser.ClickAsync("#create");
        await browser.WaitForAsync("return document.querySelector('#write-result').textContent.includes('Auth info is missing')", "the refusal");
        Assert.Null(await client.ExistsAsync("/from-browser"));

        await browser.TypeAsync("#auth", "digest admin:secret");
        await browser.ClickAsync("#create");
        await browser.WaitForAsync("return document.querySelector('#write-result').textContent === 'created /from-browser'", "the create");
        Assert.Equal("typed in Chromium", Encoding.UTF8.GetString((await client.GetDataAsync("/from-browser")).Data));
        await browser.WaitForAsync("return document.querySelector('#children li[data-path=\"/from-browser\"]') !== null", "the created znode in the tree");

        // A picture of the page, for the test's record (and README's screenshot).
        await browser.ClickAsync("#children li[data-path=\"/console-test\"]");
        await browser.WaitForAsync("return document.querySelector('#data').textContent.includes('\"limit\": 3')", "the data as JSON again");
        await browser.RunAsync("window.scrollTo(0, 0); return true;");
        var screenshot = await browser.ScreenshotAsync();
        Assert.True(screenshot.Length > 10_000, "a screenshot of the page");
        output.WriteLine($"screenshot: {screenshot.Length} bytes");
        if (Environment.GetEnvironmentVariable("SHARPKEEPER_CONSOLE_SCREENSHOT") is { Length: > 0 } file)
        {
            await File.WriteAllBytesAsync(file, screenshot);
        }
    }
}
