using System.Text.Json;
using SharpKeeper.Integration.Tests.Ensemble;
using SharpKeeper.Integration.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SharpKeeper.Integration.Tests.Admin;

/// <summary>
/// The AdminServer's ensemble commands (leader, zabstate, voting_view) on a mixed ensemble: a
/// SharpKeeper follower and an Apache follower of the same Apache leader answer with the same keys
/// at every level and the same values, but for each one's own id and client address.
/// </summary>
[Collection(EnsembleCollection.Name)]
public sealed class EnsembleAdminTests(ITestOutputHelper output)
{
    [Fact]
    public async Task FollowersOfBothKindsAnswerTheEnsembleCommandsAlike()
    {
        Assert.True(ApacheZooKeeperProcess.IsInstalled, "Apache ZooKeeper is missing: run tests/compat/install-deps.sh");
        await using var cluster = EnsembleCluster.Create([MemberKind.SharpKeeper, MemberKind.Apache, MemberKind.Apache]);
        var adminPorts = new Dictionary<int, int>();
        foreach (var member in cluster.Members)
        {
            adminPorts[member.Id] = FreePort.Pick();
            member.ReplaceSettings(["admin."], $"admin.serverAddress=127.0.0.1\nadmin.serverPort={adminPorts[member.Id]}");
        }

        cluster.StartAll();
        try
        {
            Assert.Equal(3, await cluster.WaitForLeaderAsync(MixedEnsembleTests.ElectionTimeout));
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
            foreach (var command in new[] { "leader", "zabstate", "voting_view" })
            {
                var apache = await GetJsonAsync(http, adminPorts[2], command);
                var sharp = await GetJsonAsync(http, adminPorts[1], command);
                output.WriteLine($"{command}: Apache {apache}\nSharpKeeper {sharp}");
                AssertAlike(apache, sharp, command);
            }
        }
        catch
        {
            output.WriteLine(cluster.Logs());
            throw;
        }
    }

    private static async Task<JsonElement> GetJsonAsync(HttpClient http, int port, string command) =>
        JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/commands/{command}")).RootElement.Clone();

    /// <summary>Same keys everywhere; same values but for the member's own id, ports and client address, and the zxid a follower has applied.</summary>
    private static void AssertAlike(JsonElement apache, JsonElement sharp, string where)
    {
        Assert.True(apache.ValueKind == sharp.ValueKind, $"{where}: Apache {apache.ValueKind}, SharpKeeper {sharp.ValueKind}");
        switch (apache.ValueKind)
        {
            case JsonValueKind.Object:
                var keys = apache.EnumerateObject().Select(p => p.Name).Order().ToList();
                Assert.True(keys.SequenceEqual(sharp.EnumerateObject().Select(p => p.Name).Order()),
                    $"{where}: Apache [{string.Join(", ", keys)}], SharpKeeper [{string.Join(", ", sharp.EnumerateObject().Select(p => p.Name).Order())}]");
                foreach (var key in keys)
                {
                    if (key is "myid" or "quorum_address" or "election_address" or "client_address" or "last_zxid" or "zab_counter" or "zab_epoch")
                    {
                        Assert.Equal(apache.GetProperty(key).ValueKind, sharp.GetProperty(key).ValueKind);
                        continue;
                    }

                    AssertAlike(apache.GetProperty(key), sharp.GetProperty(key), where + "." + key);
                }

                break;
            case JsonValueKind.Array:
                Assert.Equal(apache.GetArrayLength(), sharp.GetArrayLength());
                foreach (var (a, s) in apache.EnumerateArray().Zip(sharp.EnumerateArray()))
                {
                    AssertAlike(a, s, where + "[]");
                }

                break;
            default:
                Assert.True(apache.ToString() == sharp.ToString(), $"{where}: Apache {apache}, SharpKeeper {sharp}");
                break;
        }
    }
}
