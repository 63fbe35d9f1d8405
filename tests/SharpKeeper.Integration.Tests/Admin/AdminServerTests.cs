using System.Text.Json;
using SharpKeeper.Integration.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SharpKeeper.Integration.Tests.Admin;

/// <summary>
/// The AdminServer (HTTP, /commands) of a SharpKeeper process beside Apache 3.8's (Jetty, from
/// Debian's jetty9 packages): each command SharpKeeper has answers, by its name and its aliases,
/// a JSON object with the keys Apache's has (nested objects too) and the same values where they
/// do not depend on timing or on the process.
/// </summary>
public sealed class AdminServerTests(ITestOutputHelper output)
{
    /// <summary>Values that are the server's own (sizes, times, paths, versions, the JVM): compared by key and JSON type only.</summary>
    private static readonly HashSet<string> Volatile =
    [
        "datadir_size", "logdir_size", "data_dir_size", "log_dir_size", "data_dir", "data_log_dir", "client_port", "uptime", "version",
        "open_file_descriptor_count", "max_file_descriptor_count", "approximate_data_size", "tracemask", "packets_received", "packets_sent", "avg_latency",
    ];

    public static TheoryData<string, string> Commands => new()
    {
        { "ruok", "ruok" },
        { "is_read_only", "isro" },
        { "get_trace_mask", "gtmk" },
        { "dirs", "dirs" },
        { "configuration", "conf" },
        { "server_stats", "srvr" },
        { "watch_summary", "wchs" },
        { "hash", "hash" },
        { "connection_stat_reset", "crst" },
        { "stat_reset", "srst" },
        { "unknown_thing", "unknown_thing" },
        { "environment", "envi" },
        { "initial_configuration", "icfg" },
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task EachCommandAnswersWithApachesKeysAndValues(string name, string alias)
    {
        Assert.True(ApacheZooKeeperProcess.IsInstalled, "Apache ZooKeeper is missing: run tests/compat/install-deps.sh");
        var apachePort = FreePort.Pick();
        var sharpPort = FreePort.Pick();
        await using var apache = await ApacheZooKeeperProcess.StartAsync(extraConfig: $"admin.serverAddress=127.0.0.1\nadmin.serverPort={apachePort}");
        await using var sharp = await SharpKeeperProcess.StartAsync($"admin.serverAddress=127.0.0.1\nadmin.serverPort={sharpPort}");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        var expected = await GetJsonAsync(http, apachePort, name);
        foreach (var path in new[] { name, alias })
        {
            var actual = await GetJsonAsync(http, sharpPort, path);
            output.WriteLine($"{path}: {actual}");
            if (name is "environment" or "initial_configuration")
            {
                // The process's own facts and its own file: the same keys, and no error.
                Assert.Equal(expected.EnumerateObject().Select(p => p.Name).Order(), actual.EnumerateObject().Select(p => p.Name).Order());
                Assert.Equal(JsonValueKind.Null, actual.GetProperty("error").ValueKind);
                continue;
            }

            AssertSameShape(expected, actual, name);
        }
    }

    /// <summary>monitor has every gauge of mntr that Apache has, with the same JSON types, and the same values where they are not the process's own.</summary>
    [Fact]
    public async Task MonitorHasApachesGaugesAndMntrsValues()
    {
        var apachePort = FreePort.Pick();
        var sharpPort = FreePort.Pick();
        await using var apache = await ApacheZooKeeperProcess.StartAsync(extraConfig: $"admin.serverAddress=127.0.0.1\nadmin.serverPort={apachePort}");
        await using var sharp = await SharpKeeperProcess.StartAsync($"admin.serverAddress=127.0.0.1\nadmin.serverPort={sharpPort}");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        var expected = await GetJsonAsync(http, apachePort, "monitor");
        var actual = await GetJsonAsync(http, sharpPort, "mntr");
        var mntr = await FourLetter.SendAsync(sharp.Port, "mntr", TimeSpan.FromSeconds(10)) ?? "";
        var keys = mntr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\t')[0]["zk_".Length..]).ToList();
        Assert.NotEmpty(keys);
        foreach (var key in keys)
        {
            Assert.True(actual.TryGetProperty(key, out var value), $"monitor lacks mntr's {key}");
            if (expected.TryGetProperty(key, out var apacheValue))
            {
                Assert.Equal(apacheValue.ValueKind, value.ValueKind);
                if (key is "server_state" or "znode_count" or "ephemerals_count" or "watch_count" or "outstanding_requests" or "global_sessions")
                {
                    Assert.True(Same(apacheValue, value), $"monitor.{key}: Apache {apacheValue}, SharpKeeper {value}");
                }
            }
        }

        Assert.Equal(("monitor", JsonValueKind.Null), (actual.GetProperty("command").GetString(), actual.GetProperty("error").ValueKind));
    }

    private static async Task<JsonElement> GetJsonAsync(HttpClient http, int port, string command)
    {
        var text = await http.GetStringAsync($"http://127.0.0.1:{port}/commands/{command}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static void AssertSameShape(JsonElement expected, JsonElement actual, string where)
    {
        Assert.Equal(expected.ValueKind, actual.ValueKind);
        if (expected.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        var expectedKeys = expected.EnumerateObject().Select(p => p.Name).Order().ToList();
        var actualKeys = actual.EnumerateObject().Select(p => p.Name).Order().ToList();
        Assert.True(expectedKeys.SequenceEqual(actualKeys), $"{where}: Apache has [{string.Join(", ", expectedKeys)}], SharpKeeper [{string.Join(", ", actualKeys)}]");
        foreach (var property in expected.EnumerateObject())
        {
            var value = actual.GetProperty(property.Name);
            Assert.Equal(property.Value.ValueKind is JsonValueKind.True or JsonValueKind.False ? "bool" : property.Value.ValueKind.ToString(),
                value.ValueKind is JsonValueKind.True or JsonValueKind.False ? "bool" : value.ValueKind.ToString());
            if (property.Value.ValueKind == JsonValueKind.Object)
            {
                AssertSameShape(property.Value, value, where + "." + property.Name);
            }
            else if (!Volatile.Contains(property.Name))
            {
                Assert.True(Same(property.Value, value), $"{where}.{property.Name}: Apache {property.Value}, SharpKeeper {value}");
            }
        }
    }

    /// <summary>Equal JSON values: numbers by value (0.0 is 0), arrays element by element.</summary>
    private static bool Same(JsonElement a, JsonElement b) => a.ValueKind switch
    {
        _ when a.ValueKind != b.ValueKind => false,
        JsonValueKind.Number => a.GetDouble() == b.GetDouble(),
        JsonValueKind.Array => a.GetArrayLength() == b.GetArrayLength() && a.EnumerateArray().Zip(b.EnumerateArray()).All(p => Same(p.First, p.Second)),
        _ => a.ToString() == b.ToString(),
    };
}
