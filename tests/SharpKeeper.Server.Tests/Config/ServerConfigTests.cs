using SharpKeeper.Server.Config;

namespace SharpKeeper.Server.Tests.Config;

public sealed class ServerConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sk-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ServerConfig Parse(string text) => ServerConfig.Parse(text.Replace("DATADIR", _dir, StringComparison.Ordinal), "zoo.cfg");

    [Fact]
    public void DefaultsFollowApache()
    {
        var config = Parse("dataDir=DATADIR\nclientPort=2181\ntickTime=2000\n");
        Assert.Equal(4000, config.MinSessionTimeout);
        Assert.Equal(40000, config.MaxSessionTimeout);
        Assert.Equal(60, config.MaxClientCnxns);
        Assert.Equal(_dir, config.DataLogDir);
        Assert.Equal(3, config.AutopurgeSnapRetainCount);
        Assert.Equal(0, config.AutopurgePurgeInterval);
        Assert.Equal(100000, config.SnapCount);
        Assert.Equal(64L * 1024 * 1024, config.PreAllocSize);
        Assert.Equal(0xFFFFF, config.JuteMaxBuffer);
        Assert.True(config.ForceSync);
        Assert.False(config.ExtendedTypesEnabled);
        Assert.True(config.IsFourLetterWordAllowed("srvr"));
        Assert.False(config.IsFourLetterWordAllowed("mntr"));
        Assert.True(config.IsStandalone);
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void EveryStandaloneKeyIsRead()
    {
        var config = Parse("""
            # comment
            ! also a comment
            tickTime = 1000
            dataDir=DATADIR
            dataLogDir: DATADIR/logs
            clientPort 2999
            clientPortAddress=127.0.0.1
            maxClientCnxns=5
            minSessionTimeout=3000
            maxSessionTimeout=9000
            4lw.commands.whitelist=stat, ruok,mntr
            autopurge.snapRetainCount=5
            autopurge.purgeInterval=2
            snapCount=50
            preAllocSize=1024
            jute.maxbuffer=2048
            globalOutstandingLimit=77
            extendedTypesEnabled=true
            forceSync=no
            DigestAuthenticationProvider.superDigest=super:abc
            znode.container.checkIntervalMs=500
            """);
        Assert.Equal(1000, config.TickTime);
        Assert.Equal(Path.Combine(_dir, "logs"), config.DataLogDir);
        Assert.Equal(2999, config.ClientPort);
        Assert.Equal("127.0.0.1", config.ClientPortAddress);
        Assert.Equal(5, config.MaxClientCnxns);
        Assert.Equal((3000, 9000), (config.MinSessionTimeout, config.MaxSessionTimeout));
        Assert.True(config.IsFourLetterWordAllowed("mntr"));
        Assert.False(config.IsFourLetterWordAllowed("conf"));
        Assert.Equal((5, 2, 50), (config.AutopurgeSnapRetainCount, config.AutopurgePurgeInterval, config.SnapCount));
        Assert.Equal(1024L * 1024, config.PreAllocSize);
        Assert.Equal((2048, 77), (config.JuteMaxBuffer, config.GlobalOutstandingLimit));
        Assert.True(config.ExtendedTypesEnabled);
        Assert.False(config.ForceSync);
        Assert.Equal("super:abc", config.SuperDigest);
        Assert.Equal(500, config.ContainerCheckIntervalMs);
        Assert.Empty(config.Warnings);
    }

    [Theory]
    [InlineData("tickTime=abc", 2, "tickTime")]
    [InlineData("clientPort=70000", 2, "clientPort")]
    [InlineData("maxClientCnxns=-1", 2, "maxClientCnxns")]
    [InlineData("forceSync=maybe", 2, "forceSync")]
    [InlineData("minSessionTimeout=9000\nmaxSessionTimeout=4000", 2, "minSessionTimeout")]
    [InlineData("server.1=host", 2, "server.1")]
    [InlineData("server.x=host:1:2", 2, "server.x")]
    [InlineData("server.1=host:1:2:voter", 2, "server.1")]
    [InlineData("server.1=host:1:99999", 2, "server.1")]
    [InlineData("peerType=boss", 2, "peerType")]
    public void BadValuesNameFileLineAndKey(string line, int lineNumber, string key)
    {
        var e = Assert.Throws<ConfigException>(() => Parse("dataDir=DATADIR\n" + line + "\ninitLimit=5\nsyncLimit=2\n"));
        Assert.Equal("zoo.cfg", e.File);
        Assert.Equal(lineNumber, e.Line);
        Assert.Equal(key, e.Key);
        Assert.StartsWith($"zoo.cfg:{lineNumber}: {key}: ", e.Message);
    }

    [Fact]
    public void MissingDataDirIsAnError() =>
        Assert.Equal("dataDir", Assert.Throws<ConfigException>(() => Parse("clientPort=2181\n")).Key);

    [Fact]
    public void UnknownKeysAreWarningsWithTheirLine()
    {
        var config = Parse("dataDir=DATADIR\ntickTimee=2000\n");
        var warning = Assert.Single(config.Warnings);
        Assert.Equal(("zoo.cfg", 2, "tickTimee"), (warning.File, warning.Line, warning.Key));
    }

    [Fact]
    public void RetainCountBelowThreeIsRaisedWithAWarning()
    {
        var config = Parse("dataDir=DATADIR\nautopurge.snapRetainCount=1\n");
        Assert.Equal(3, config.AutopurgeSnapRetainCount);
        Assert.Contains(config.Warnings, w => w.Key == "autopurge.snapRetainCount");
    }

    [Fact]
    public void EnsembleLinesAndMyId()
    {
        File.WriteAllText(Path.Combine(_dir, "myid"), "2\n");
        var config = Parse("""
            dataDir=DATADIR
            initLimit=10
            syncLimit=5
            server.1=zk1:2888:3888
            server.2=zk2:2888:3888:participant;0.0.0.0:2181
            server.3=[::1]:2889:3889:observer;2182
            """);
        Assert.Equal(2, config.MyId);
        Assert.False(config.IsStandalone);
        Assert.Equal(new ServerSpec(2, "zk2", 2888, 3888, ServerRole.Participant, "0.0.0.0", 2181), config.Servers[2]);
        Assert.Equal(new ServerSpec(3, "::1", 2889, 3889, ServerRole.Observer, null, 2182), config.Servers[3]);
    }

    [Fact]
    public void MissingOrForeignMyIdIsAStartupError()
    {
        const string text = "dataDir=DATADIR\ninitLimit=10\nsyncLimit=5\nserver.1=a:1:2\nserver.2=b:1:2\n";
        Assert.Contains("myid", Assert.Throws<ConfigException>(() => Parse(text)).Message);
        File.WriteAllText(Path.Combine(_dir, "myid"), "7");
        Assert.Contains("matches no server", Assert.Throws<ConfigException>(() => Parse(text)).Message);
    }

    [Fact]
    public void DuplicateServerAddressesAreRejected() =>
        Assert.Contains("already used", Assert.Throws<ConfigException>(() =>
            Parse("dataDir=DATADIR\ninitLimit=1\nsyncLimit=1\nserver.1=a:1:2\nserver.2=a:1:3\n")).Message);

    [Fact]
    public void EmbeddedDefaultIsLoopbackWithMonitoringWords()
    {
        var config = ServerConfig.EmbeddedDefault(_dir);
        Assert.Equal(("127.0.0.1", 2181), (config.ClientPortAddress, config.ClientPort));
        Assert.Equal(Path.Combine(_dir, "data"), config.DataDir);
        Assert.True(config.IsFourLetterWordAllowed("mntr"));
        Assert.False(config.DataDirIsUnderTmp && !_dir.StartsWith("/tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void TmpDataDirIsFlagged() => Assert.True(Parse("dataDir=/tmp/zookeeper\n").DataDirIsUnderTmp);
}
