using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SharpKeeper.Integration.Tests.Infrastructure;

/// <summary>
/// Debian's Chromium driven headless through chromedriver (the W3C WebDriver protocol over HTTP on
/// a free loopback port): open a page, find and click elements, type, run a script, take a
/// screenshot. The driver and the browser it starts are stopped by PID on dispose.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    private const string ElementKey = "element-6066-11e4-a52e-4f735466cecf";
    public const string Browser = "/usr/bin/chromium";
    public const string Driver = "/usr/bin/chromedriver";

    private readonly Process _driver;
    private readonly HttpClient _http;
    private readonly string _session;

    private HeadlessChromium(Process driver, HttpClient http, string session)
    {
        _driver = driver;
        _http = http;
        _session = session;
    }

    public static bool IsInstalled => File.Exists(Browser) && File.Exists(Driver);

    public static async Task<HeadlessChromium> StartAsync()
    {
        var port = FreePort.Pick();
        var start = new ProcessStartInfo(Driver) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add($"--port={port}");
        var driver = Process.Start(start) ?? throw new InvalidOperationException("chromedriver did not start");
        driver.OutputDataReceived += (_, _) => { };
        driver.ErrorDataReceived += (_, _) => { };
        driver.BeginOutputReadLine();
        driver.BeginErrorReadLine();
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(60) };
        try
        {
            await PollAsync(async () =>
            {
                try
                {
                    var status = await http.GetFromJsonAsync<JsonObject>("status");
                    return status?["value"]?["ready"]?.GetValue<bool>() == true;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(30), "chromedriver to be ready");

            var capabilities = new JsonObject
            {
                ["capabilities"] = new JsonObject
                {
                    ["alwaysMatch"] = new JsonObject
                    {
                        ["browserName"] = "chrome",
                        ["goog:chromeOptions"] = new JsonObject
                        {
                            ["binary"] = Browser,
                            ["args"] = new JsonArray("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"),
                        },
                    },
                },
            };
            var created = await SendAsync(http, HttpMethod.Post, "session", capabilities);
            return new HeadlessChromium(driver, http, created["sessionId"]!.GetValue<string>());
        }
        catch
        {
            http.Dispose();
            Stop(driver);
            throw;
        }
    }

    public Task OpenAsync(string url) => CommandAsync(HttpMethod.Post, "url", new JsonObject { ["url"] = url });

    /// <summary>Runs a script in the page and answers its return value.</summary>
    public async Task<JsonNode?> RunAsync(string script)
    {
        var result = await CommandAsync(HttpMethod.Post, "execute/sync", new JsonObject { ["script"] = script, ["args"] = new JsonArray() });
        return result;
    }

    /// <summary>Polls a script (with a deadline) until it returns true.</summary>
    public Task WaitForAsync(string script, string what, TimeSpan? timeout = null) =>
        PollAsync(async () => (await RunAsync(script))?.GetValueKind() == JsonValueKind.True, timeout ?? TimeSpan.FromSeconds(30), what);

    public async Task ClickAsync(string selector) => await CommandAsync(HttpMethod.Post, $"element/{await FindAsync(selector)}/click", new JsonObject());

    public async Task TypeAsync(string selector, string text)
    {
        var element = await FindAsync(selector);
        await CommandAsync(HttpMethod.Post, $"element/{element}/clear", new JsonObject());
        await CommandAsync(HttpMethod.Post, $"element/{element}/value", new JsonObject { ["text"] = text });
    }

    public async Task<string> TextAsync(string selector) =>
        (await CommandAsync(HttpMethod.Get, $"element/{await FindAsync(selector)}/text", null))?.GetValue<string>() ?? "";

    public async Task<byte[]> ScreenshotAsync() =>
        Convert.FromBase64String((await CommandAsync(HttpMethod.Get, "screenshot", null))!.GetValue<string>());

    private async Task<string> FindAsync(string selector)
    {
        var found = await CommandAsync(HttpMethod.Post, "element", new JsonObject { ["using"] = "css selector", ["value"] = selector });
        return found?[ElementKey]?.GetValue<string>() ?? throw new InvalidOperationException($"no element {selector}");
    }

    private async Task<JsonNode?> CommandAsync(HttpMethod method, string path, JsonObject? body) =>
        (await SendAsync(_http, method, $"session/{_session}/{path}", body))["value"];

    private static async Task<JsonObject> SendAsync(HttpClient http, HttpMethod method, string path, JsonObject? body)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            // With a length, not chunked: chromedriver's HTTP server does not read chunked bodies.
            request.Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var json = JsonNode.Parse(text) as JsonObject ?? throw new InvalidOperationException($"WebDriver answered {text}");
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"WebDriver {method} {path}: {(int)response.StatusCode} {json["value"]?["message"]}");
        }

        return json["sessionId"] is not null ? json : json["value"] is JsonObject { } value && value["sessionId"] is not null ? value : json;
    }

    private static async Task PollAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting for {what}");
            }

            await Task.Delay(100);
        }
    }

    private static void Stop(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        process.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await SendAsync(_http, HttpMethod.Delete, $"session/{_session}", null);
        }
        catch (Exception e) when (e is HttpRequestException or InvalidOperationException or TaskCanceledException)
        {
            // The driver is stopped below either way, with the browser it started.
        }

        _http.Dispose();
        Stop(_driver);
    }
}
