using System.Text.Json;
using SharpKeeper.Integration.Tests.Ensemble;
using SharpKeeper.Integration.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SharpKeeper.Integration.Tests.Admin;

/// <summary>
/// The AdminServer's ensemble commands (leader, zabstate, voting_view, observers, orst) on mixed
/// ensembles with an observer: a SharpKeeper follower and an Apache follower of the same Apache
/// leader, a SharpKeeper and an Apache leader, and a SharpKeeper and an Apache observer, answer with the same keys at every level
/// and the same values, but for each one's own id, addresses and traffic figures.
/// </summary>
[Collection(EnsembleCollection.Name)]
public sealed class EnsembleAdminTests(ITestOutputHelper output)
{
    /// <summary>Values that are the member's own (ids, addresses, traffic): compared by JSON type only.</summary>
    private static readonly HashSet<string> OwnValues =
    [
        "myid", "quorum_address", "election_address", "client_address", "last_zxid", "zab_counter", "zab_epoch",
        "remote_socket_address", "established", "queued_packets", "queued_packets_size", "packets_received", "packets_sent", "requests",
    ];

    /// <summary>Values that differ between two ensembles (their ports).</summary>
    private static readonly string[] EnsembleOwnValues = ["server_addresses", "election_addresses"];

    private static readonly string[] EnsembleCommands = ["leader", "zabstate", "voting_view", "observers", "observer_connection_stat_reset"];

    [Fact]
    public async Task MembersOfBothKindsAnswerTheEnsembleCommandsAlikeInEachRole()
    {
        Assert.True(ApacheZooKeeperProcess.IsInstalled, "Apache ZooKeeper is missing: run tests/compat/install-deps.sh");

        // An Apache leader (3) with a follower of each kind and an Apache observer (4).
        var apacheLed = await AnswersAsync([MemberKind.SharpKeeper, MemberKind.Apache, MemberKind.Apache, MemberKind.Apache]);
        foreach (var command in EnsembleCommands)
        {
            output.WriteLine($"{command}: Apache follower {apacheLed[2][command]}\nSharpKeeper follower {apacheLed[1][command]}");
            AssertAlike(apacheLed[2][command], apacheLed[1][command], "follower " + command, OwnValues);
        }

        // A SharpKeeper leader (3) of two Apache followers and a SharpKeeper observer (4).
        var sharpLed = await AnswersAsync([MemberKind.Apache, MemberKind.Apache, MemberKind.SharpKeeper, MemberKind.SharpKeeper]);
        foreach (var command in EnsembleCommands)
        {
            output.WriteLine($"{command}: Apache leader {apacheLed[3][command]}\nSharpKeeper leader {sharpLed[3][command]}");
            AssertAlike(apacheLed[3][command], sharpLed[3][command], "leader " + command, new HashSet<string>([.. OwnValues, .. EnsembleOwnValues]));
            output.WriteLine($"{command}: Apache observer {apacheLed[4][command]}\nSharpKeeper observer {sharpLed[4][command]}");
            AssertAlike(apacheLed[4][command], sharpLed[4][command], "observer " + command, new HashSet<string>([.. OwnValues, .. EnsembleOwnValues]));
        }

        // The leader lists its observer, as Apache's does.
        var observer = Assert.Single(sharpLed[3]["observers"].GetProperty("observers").EnumerateArray());
        Assert.Equal(4, observer.GetProperty("sid").GetInt64());
        Assert.Equal(1, sharpLed[3]["observers"].GetProperty("synced_observers").GetInt64());
    }

    /// <summary>Starts an ensemble of these kinds with member 4 an observer, and asks each member every ensemble command once 3 leads.</summary>
    private async Task<Dictionary<int, Dictionary<string, JsonElement>>> AnswersAsync(IReadOnlyList<MemberKind> kinds)
    {
        await using var cluster = EnsembleCluster.Create(kinds, observers: new HashSet<int> { 4 });
        var adminPorts = new Dictionary<int, int>();
        foreach (var member in cluster.Members)
        {
            adminPorts[member.Id] = FreePort.Pick();
            member.ReplaceSettings(["admin."], $"admin.serverAddress=127.0.0.1\nadmin.serverPort={adminPorts[member.Id]}");
        }

        // Server 3 first, listening, so that it is among the first two to vote and wins as the highest id
        // (two others that start first would elect one of themselves).
        cluster[3].Start();
        await EnsembleTests.PollAsync(async () =>
        {
            try
            {
                using var probe = new System.Net.Sockets.TcpClient();
                await probe.ConnectAsync("127.0.0.1", cluster[3].ElectionPort);
                return true;
            }
            catch (System.Net.Sockets.SocketException)
            {
                return false;
            }
        }, "server 3 to listen on its election port");
        foreach (var id in new[] { 4, 1, 2 })
        {
            cluster[id].Start();
        }

        try
        {
            Assert.Equal(3, await cluster.WaitForLeaderAsync(MixedEnsembleTests.ElectionTimeout));
            await EnsembleTests.PollAsync(async () => await cluster[4].ModeAsync() == "observer", "the observer to serve");
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
            var answers = new Dictionary<int, Dictionary<string, JsonElement>>();
            foreach (var id in new[] { 1, 2, 3, 4 })
            {
                answers[id] = [];
                foreach (var command in EnsembleCommands)
                {
                    try
                    {
                        answers[id][command] = await GetJsonAsync(http, adminPorts[id], command);
                    }
                    catch (HttpRequestException e)
                    {
                        throw new InvalidOperationException($"server {id} ({kinds[id - 1]}) failed '{command}': {e.Message}", e);
                    }
                }
            }

            return answers;
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
    private static void AssertAlike(JsonElement apache, JsonElement sharp, string where, IReadOnlySet<string> ownValues)
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
                    if (ownValues.Contains(key))
                    {
                        Assert.Equal(apache.GetProperty(key).ValueKind, sharp.GetProperty(key).ValueKind);
                        continue;
                    }

                    AssertAlike(apache.GetProperty(key), sharp.GetProperty(key), where + "." + key, ownValues);
                }

                break;
            case JsonValueKind.Array:
                Assert.Equal(apache.GetArrayLength(), sharp.GetArrayLength());
                foreach (var (a, s) in apache.EnumerateArray().Zip(sharp.EnumerateArray()))
                {
                    AssertAlike(a, s, where + "[]", ownValues);
                }

                break;
            default:
                Assert.True(apache.ToString() == sharp.ToString(), $"{where}: Apache {apache}, SharpKeeper {sharp}");
                break;
        }
    }
}
