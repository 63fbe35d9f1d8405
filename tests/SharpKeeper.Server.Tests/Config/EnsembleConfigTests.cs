using SharpKeeper.Server.Config;

namespace SharpKeeper.Server.Tests.Config;

public sealed class EnsembleConfigTests : IDisposable
{
    private const string Three = """
        server.1=zk1:2888:3888
        server.2=zk2:2888:3888
        server.3=zk3:2888:3888
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("sk-ensemble-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string MyIdPath => Path.Combine(_dir, "myid");

    private ServerConfig Parse(string text) =>
        ServerConfig.Parse($"tickTime=2000\ndataDir={_dir}\ninitLimit=10\nsyncLimit=5\n" + text, "zoo.cfg", _dir);

    private void WriteMyId(string text) => File.WriteAllText(MyIdPath, text);

    [Fact]
    public void AThreeServerEnsemble()
    {
        WriteMyId("2\n");
        var config = Parse("""
            clientPort=2181
            server.1=zk1:2888:3888
            server.2=zk2:2888:3888:participant;0.0.0.0:2181
            server.3=[2001:db8::3]:2889:3889:observer;2182
            server.4=zk4:2888:3888
            """);
        Assert.False(config.IsStandalone);
        Assert.Equal(2, config.MyId);
        Assert.Equal(ServerRole.Participant, config.PeerType);
        Assert.Equal([1L, 2L, 3L, 4L], config.Servers.Keys);
        Assert.Equal(new ServerSpec(2, "zk2", 2888, 3888, ServerRole.Participant, "0.0.0.0", 2181), config.Servers[2]);
        Assert.Equal(new ServerSpec(3, "2001:db8::3", 2889, 3889, ServerRole.Observer, null, 2182), config.Servers[3]);
        Assert.Equal((10, 5), (config.InitLimit, config.SyncLimit));
        Assert.Equal("zk1:2888:3888", config.Raw["server.1"]);
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void AnObserverTakesItsRoleFromItsLine()
    {
        WriteMyId("4");
        var config = Parse(Three + "\nserver.4=zk4:2888:3888:observer\npeerType=observer\n");
        Assert.Equal(ServerRole.Observer, config.PeerType);
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void PeerTypeDisagreeingWithTheServerListIsAWarning()
    {
        WriteMyId("1");
        var config = Parse(Three + "\npeerType=observer\n");
        Assert.Equal(ServerRole.Participant, config.PeerType);
        var warning = Assert.Single(config.Warnings);
        Assert.Equal((8, "peerType"), (warning.Line, warning.Key));
    }

    [Fact]
    public void ClientAddressComesFromThisServersLine()
    {
        WriteMyId("2");
        var config = Parse("""
            server.1=zk1:2888:3888;10.0.0.1:2181
            server.2=zk2:2888:3888;10.0.0.2:2182
            server.3=zk3:2888:3888;2183
            """);
        Assert.Equal((2182, "10.0.0.2"), (config.ClientPort, config.ClientPortAddress));

        WriteMyId("3");
        config = Parse("clientPort=2183\n" + """
            server.1=zk1:2888:3888;10.0.0.1:2181
            server.2=zk2:2888:3888;10.0.0.2:2182
            server.3=zk3:2888:3888;2183
            """);
        Assert.Equal((2183, null), (config.ClientPort, config.ClientPortAddress));
    }

    [Fact]
    public void ClientPortContradictingThisServersLineIsAnError()
    {
        WriteMyId("1");
        var e = Assert.Throws<ConfigException>(() => Parse("clientPort=2181\n" + Three.Replace("zk1:2888:3888", "zk1:2888:3888;2190", StringComparison.Ordinal)));
        Assert.Equal(("zoo.cfg", 5, "clientPort"), (e.File, e.Line, e.Key));
        Assert.Contains("server.1", e.Message, StringComparison.Ordinal);

        var address = Assert.Throws<ConfigException>(() => Parse("clientPort=2181\nclientPortAddress=10.0.0.9\n" + Three.Replace("zk1:2888:3888", "zk1:2888:3888;10.0.0.1:2181", StringComparison.Ordinal)));
        Assert.Equal("clientPort", address.Key);
    }

    [Fact]
    public void MissingMyIdIsAStartupError()
    {
        var e = Assert.Throws<ConfigException>(() => Parse(Three));
        Assert.Equal(("zoo.cfg", 0, "myid"), (e.File, e.Line, e.Key));
        Assert.Contains(MyIdPath, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("abc", "'abc' is not a server id")]
    [InlineData("", "'' is not a server id")]
    [InlineData("-1", "is not a server id")]
    [InlineData("7", "matches no server.N line")]
    public void BadMyIdIsAStartupErrorNamingTheFile(string content, string expected)
    {
        WriteMyId(content);
        var e = Assert.Throws<ConfigException>(() => Parse(Three));
        Assert.Equal((MyIdPath, 1, "myid"), (e.File, e.Line, e.Key));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MyIdIsReadFromItsFirstLine()
    {
        WriteMyId(" 3 \r\nanything else");
        Assert.Equal(3, Parse(Three).MyId);
    }

    [Fact]
    public void WithoutServerLinesMyIdIsNotRead()
    {
        WriteMyId("not even a number");
        Assert.Null(Parse("").MyId);
    }

    [Theory]
    [InlineData("initLimit")]
    [InlineData("syncLimit")]
    public void AnEnsembleNeedsInitLimitAndSyncLimit(string key)
    {
        WriteMyId("1");
        var text = $"tickTime=2000\ndataDir={_dir}\ninitLimit=10\nsyncLimit=5\n{Three}"
            .Replace($"{key}=", $"#{key}=", StringComparison.Ordinal);
        var missing = Assert.Throws<ConfigException>(() => ServerConfig.Parse(text, "zoo.cfg"));
        Assert.Equal(("zoo.cfg", 0, key), (missing.File, missing.Line, missing.Key));

        var zero = Assert.Throws<ConfigException>(() => ServerConfig.Parse(text + $"\n{key}=0\n", "zoo.cfg"));
        Assert.Equal((8, key), (zero.Line, zero.Key));
    }

    [Fact]
    public void AStandaloneServerNeedsNeitherLimitNorMyId()
    {
        var config = ServerConfig.Parse($"dataDir={_dir}\nclientPort=2181\n", "zoo.cfg");
        Assert.True(config.IsStandalone);
        Assert.Equal((0, 0), (config.InitLimit, config.SyncLimit));
    }

    [Theory]
    [InlineData("server.1=zk1:2888:3888\nserver.01=zk9:2888:3888", 6, "server.01", "already defined by server.1 at line 5")]
    [InlineData("server.1=zk1:2888:3888\nserver.1=zk9:2888:3888", 6, "server.1", "already defined")]
    [InlineData("server.1=zk1:2888:3888\nserver.2=zk1:2888:3889", 6, "server.2", "quorum address zk1:2888 is already the quorum address of server.1")]
    [InlineData("server.1=zk1:2888:3888\nserver.2=ZK1:3888:3889", 6, "server.2", "is already the election address of server.1")]
    [InlineData("server.1=zk1:2888:3888;10.0.0.1:2181\nserver.2=zk2:2888:3888;10.0.0.1:2181", 6, "server.2", "client address")]
    [InlineData("server.one=zk1:2888:3888", 5, "server.one", "is not a server id")]
    [InlineData("server.=zk1:2888:3888", 5, "server.", "is not a server id")]
    [InlineData("server.-1=zk1:2888:3888", 5, "server.-1", "is not a server id")]
    [InlineData("server.1=zk1:2888", 5, "server.1", "is not host:quorumPort")]
    [InlineData("group.1=1:2:3", 5, "group.1", "hierarchical quorums")]
    [InlineData("weight.1=2", 5, "weight.1", "hierarchical quorums")]
    public void BadServerLinesAreErrorsOnTheirLine(string lines, int line, string key, string expected)
    {
        WriteMyId("1");
        var e = Assert.Throws<ConfigException>(() => Parse(lines));
        Assert.Equal(("zoo.cfg", line, key), (e.File, e.Line, e.Key));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LocalEnsemblesShareAHostOnDifferentPorts()
    {
        WriteMyId("1");
        var config = Parse("""
            server.1=127.0.0.1:2888:3888;2181
            server.2=127.0.0.1:2889:3889;2182
            server.3=127.0.0.1:2890:3890;2183
            """);
        Assert.Equal(3, config.Servers.Count);
        Assert.Equal(2181, config.ClientPort);
    }

    [Fact]
    public void ASingleServerLineRunsStandaloneWithAWarning()
    {
        var config = Parse("clientPort=2181\nserver.1=zk1:2888:3888\n");
        Assert.True(config.IsStandalone);
        Assert.Null(config.MyId);
        var warning = Assert.Single(config.Warnings);
        Assert.Equal((6, "server.1"), (warning.Line, warning.Key));
    }

    [Fact]
    public void StandaloneEnabledFalseMakesOneServerAnEnsemble()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("standaloneEnabled=false\nserver.1=zk1:2888:3888\n"));
        Assert.Equal("myid", e.Key);

        WriteMyId("1");
        var config = Parse("standaloneEnabled=false\nserver.1=zk1:2888:3888\n");
        Assert.False(config.IsStandalone);
        Assert.Equal(1, config.MyId);

        Assert.Equal("standaloneEnabled", Assert.Throws<ConfigException>(() => Parse("standaloneEnabled=false\n")).Key);
    }

    [Fact]
    public void ObserversNeedAQuorumOfParticipants()
    {
        var onlyObservers = Assert.Throws<ConfigException>(() => Parse("server.1=zk1:2888:3888:observer\n"));
        Assert.Equal((5, "server.1"), (onlyObservers.Line, onlyObservers.Key));

        var oneParticipant = Assert.Throws<ConfigException>(() => Parse("server.1=zk1:2888:3888\nserver.2=zk2:2888:3888:observer\n"));
        Assert.Equal((6, "server.2"), (oneParticipant.Line, oneParticipant.Key));
    }

    [Theory]
    [InlineData(2, "tolerate no server failure")]
    [InlineData(4, "consider an odd number")]
    public void FragileEnsembleSizesAreWarnedAbout(int count, string expected)
    {
        WriteMyId("1");
        var lines = string.Join("\n", Enumerable.Range(1, count).Select(i => $"server.{i}=zk{i}:2888:3888"));
        var warning = Assert.Single(Parse(lines).Warnings);
        Assert.Equal((0, "server.N"), (warning.Line, warning.Key));
        Assert.Contains(expected, warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ExtendedTypesNeedAOneByteServerId()
    {
        WriteMyId("300");
        var e = Assert.Throws<ConfigException>(() => Parse("extendedTypesEnabled=true\nserver.300=zk1:2888:3888\nserver.2=zk2:2888:3888\nserver.3=zk3:2888:3888\n"));
        Assert.Equal((5, "extendedTypesEnabled"), (e.Line, e.Key));
    }

    [Fact]
    public void TheVersionKeyIsHexadecimal()
    {
        WriteMyId("1");
        Assert.Equal(0x100000000, Parse(Three + "\nversion=100000000\n").QuorumConfigVersion);
    }

    [Fact]
    public void ServerLinesMayComeFromADynamicConfigFile()
    {
        WriteMyId("3");
        var dynamicPath = Path.Combine(_dir, "zoo.cfg.dynamic.100000000");
        File.WriteAllText(dynamicPath, Three + "\n");
        var config = Parse($"dynamicConfigFile={dynamicPath}\n");
        Assert.Equal(dynamicPath, config.DynamicConfigFile);
        Assert.Equal(0x100000000, config.QuorumConfigVersion);
        Assert.Equal(3, config.MyId);
        Assert.Equal([1L, 2L, 3L], config.Servers.Keys);
        Assert.Equal("zk3:2888:3888", config.Raw["server.3"]);
        Assert.Empty(config.Warnings);

        // Relative to the working (here: base) directory, and without a version suffix.
        File.WriteAllText(Path.Combine(_dir, "zoo.cfg.dynamic"), Three);
        Assert.Equal(0, Parse("dynamicConfigFile=./zoo.cfg.dynamic\n").QuorumConfigVersion);
    }

    [Fact]
    public void DynamicConfigFileMistakesAreErrors()
    {
        WriteMyId("1");
        var dynamicPath = Path.Combine(_dir, "zoo.cfg.dynamic.1");

        File.WriteAllText(dynamicPath, Three);
        var both = Assert.Throws<ConfigException>(() => Parse($"dynamicConfigFile={dynamicPath}\nserver.1=zk1:2888:3888\n"));
        Assert.Equal(("zoo.cfg", 6, "server.1"), (both.File, both.Line, both.Key));

        File.WriteAllText(dynamicPath, Three + "\nversion=5\n");
        var version = Assert.Throws<ConfigException>(() => Parse($"dynamicConfigFile={dynamicPath}\n"));
        Assert.Equal((dynamicPath, 4, "version"), (version.File, version.Line, version.Key));

        File.WriteAllText(dynamicPath, "tickTime=2000\n" + Three);
        var stray = Assert.Throws<ConfigException>(() => Parse($"dynamicConfigFile={dynamicPath}\n"));
        Assert.Equal((dynamicPath, 1, "tickTime"), (stray.File, stray.Line, stray.Key));

        File.WriteAllText(dynamicPath, "server.1=zk1:2888:3888\nserver.2=zk2\n");
        var bad = Assert.Throws<ConfigException>(() => Parse($"dynamicConfigFile={dynamicPath}\n"));
        Assert.Equal((dynamicPath, 2, "server.2"), (bad.File, bad.Line, bad.Key));

        var missing = Assert.Throws<ConfigException>(() => Parse($"dynamicConfigFile={dynamicPath}.nope\n"));
        Assert.Equal(("zoo.cfg", 5, "dynamicConfigFile"), (missing.File, missing.Line, missing.Key));
    }
}
