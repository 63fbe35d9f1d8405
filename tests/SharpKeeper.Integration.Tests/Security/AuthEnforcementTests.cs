using SharpKeeper.Integration.Tests.Infrastructure;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Integration.Tests.Security;

/// <summary>
/// Servers that refuse unauthenticated clients (enforce.auth.enabled with enforce.auth.schemes, as
/// Apache 3.8): the same requests to Apache and SharpKeeper, compared reply by reply. Before it
/// authenticates, a client's request is answered SESSIONCLOSEDREQUIRESASLAUTH (zxid 0) and its
/// connection closed; after addAuth with a required scheme it is served.
/// </summary>
public sealed class AuthEnforcementTests
{
    private const string Enforced = """
        enforce.auth.enabled=true
        enforce.auth.schemes=digest
        """;

    [Fact]
    public async Task AnUnauthenticatedRequestIsRefusedAndClosedAsApacheDoes()
    {
        Assert.True(ApacheZooKeeperProcess.IsInstalled, "Apache ZooKeeper is missing: run tests/compat/install-deps.sh");
        await using var apache = await ApacheZooKeeperProcess.StartAsync(extraConfig: Enforced);
        await using var sharp = await SharpKeeperProcess.StartAsync(Enforced);
        var apacheTranscript = await TranscriptAsync(apache.Port);
        var sharpTranscript = await TranscriptAsync(sharp.Port);
        Assert.Equal(apacheTranscript, sharpTranscript);
        Assert.Contains("getData before auth: err SessionClosedRequireSaslAuth zxid 0", sharpTranscript);
        Assert.Contains("closed: True", sharpTranscript);
    }

    private static async Task<string> TranscriptAsync(int port)
    {
        var lines = new List<string>();
        await using (var anonymous = await RawSession.ConnectAsync(port))
        {
            var (header, _) = await anonymous.SendAsync(OpCode.GetData, new PathWatchRequest("/zookeeper", false));
            lines.Add($"getData before auth: err {header.Err} zxid {header.Zxid}");
            lines.Add($"closed: {await anonymous.IsClosedByServerAsync(TimeSpan.FromSeconds(10))}");
        }

        await using (var authenticated = await RawSession.ConnectAsync(port))
        {
            var (auth, _) = await authenticated.SendAsync(OpCode.Auth, w => new AuthPacket(0, "digest", "alice:secret"u8.ToArray()).Write(w), xid: Xids.Auth);
            lines.Add($"auth: err {auth.Err}");
            var (header, _) = await authenticated.SendAsync(OpCode.Exists, new PathWatchRequest("/zookeeper", false));
            lines.Add($"exists after auth: err {header.Err}");
        }

        return string.Join("\n", lines);
    }
}
