using Microsoft.Extensions.Logging.Abstractions;
using SharpKeeper.Server.Quorum.Reconfig;

namespace SharpKeeper.Server.Tests.Quorum.Reconfig;

public sealed class DynamicConfigFilesTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sharpkeeper-dyn-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    // Lines sorted as Java sorts strings: "server.10=" before "server.1=" ('0' < '=').
    public void ACommittedMembershipMovesTheServerLinesOutOfZooCfgAsApacheDoes()
    {
        var cfg = Path.Combine(_directory, "zoo.cfg");
        File.WriteAllText(cfg, "# comment\ntickTime=500\nclientPort=2181\nserver.1=127.0.0.1:2881:3881\nserver.2=127.0.0.1:2882:3882\nserver.10=127.0.0.1:2890:3890\nreconfigEnabled=true\n");
        var membership = new QuorumMembership(
            QuorumVerifier.Parse(File.ReadAllText(cfg).Replace("# comment\ntickTime=500\nclientPort=2181\n", "", StringComparison.Ordinal).Replace("reconfigEnabled=true\n", "", StringComparison.Ordinal), cfg, false),
            files: new DynamicConfigFiles(cfg, 1, NullLogger.Instance));
        var proposed = membership.Committed.WithVersion(0x100000003);

        Assert.True(membership.SetLastSeen(proposed));
        Assert.True(membership.IsReconfigPending);
        Assert.Equal(
            "server.10=127.0.0.1:2890:3890:participant\nserver.1=127.0.0.1:2881:3881:participant\nserver.2=127.0.0.1:2882:3882:participant\nversion=100000003",
            File.ReadAllText(cfg + ".dynamic.next"));

        Assert.NotNull(membership.Activate(proposed));
        Assert.False(membership.IsReconfigPending);
        Assert.False(File.Exists(cfg + ".dynamic.next"));
        Assert.Equal(
            "server.10=127.0.0.1:2890:3890:participant\nserver.1=127.0.0.1:2881:3881:participant\nserver.2=127.0.0.1:2882:3882:participant",
            File.ReadAllText(cfg + ".dynamic.100000003"));
        Assert.Equal(
            $"tickTime=500\nclientPort=2181\nreconfigEnabled=true\ndynamicConfigFile={cfg}.dynamic.100000003\n",
            File.ReadAllText(cfg));
        Assert.StartsWith("# comment", File.ReadAllText(cfg + ".bak"), StringComparison.Ordinal);

        // An older or equal version changes nothing.
        Assert.Null(membership.Activate(proposed));
        Assert.False(membership.SetLastSeen(proposed));
    }
}
