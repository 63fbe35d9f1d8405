using SharpKeeper.Server.Config;

namespace SharpKeeper.Server.Tests.Config;

public sealed class ServerLineTests
{
    private static ServerSpec Parse(string value, long id = 1) =>
        ServerLine.Parse(id, new ConfigEntry($"server.{id}", value, "zoo.cfg", 7));

    [Fact]
    public void HostAndTwoPortsMakeAParticipantWithoutClientAddress() =>
        Assert.Equal(new ServerSpec(1, "zk1.example.com", 2888, 3888, ServerRole.Participant, null, null), Parse("zk1.example.com:2888:3888"));

    [Theory]
    [InlineData("zk1:2888:3888:observer", ServerRole.Observer)]
    [InlineData("zk1:2888:3888:OBSERVER", ServerRole.Observer)]
    [InlineData("zk1:2888:3888: observer ", ServerRole.Observer)]
    [InlineData("zk1:2888:3888:participant", ServerRole.Participant)]
    public void RoleIsReadInAnyCase(string value, ServerRole role) => Assert.Equal(role, Parse(value).Role);

    [Fact]
    public void ClientPortAloneMeansAllInterfaces()
    {
        var spec = Parse("zk1:2888:3888;2181");
        Assert.Equal((null, 2181), (spec.ClientAddress, spec.ClientPort));
    }

    [Fact]
    public void ClientAddressAndPort()
    {
        var spec = Parse("zk1:2888:3888:participant;10.0.0.1:2182");
        Assert.Equal(("10.0.0.1", 2182), (spec.ClientAddress, spec.ClientPort));
    }

    [Fact]
    public void IPv6AddressesGoInBrackets()
    {
        var spec = Parse("[2001:db8::1]:2888:3888:observer;[::1]:2181");
        Assert.Equal(new ServerSpec(1, "2001:db8::1", 2888, 3888, ServerRole.Observer, "::1", 2181), spec);
    }

    [Fact]
    public void AnEmptyClientPartIsNoClientPart() => Assert.Null(Parse("zk1:2888:3888;").ClientPort);

    [Theory]
    [InlineData("zk1", "is not host:quorumPort")]
    [InlineData("zk1:2888", "is not host:quorumPort")]
    [InlineData("zk1:2888:3888:observer:extra", "is not host:quorumPort")]
    [InlineData("2001:db8::1:2888:3888", "in brackets")]
    [InlineData(":2888:3888", "no host")]
    [InlineData("zk1:abc:3888", "quorum port 'abc'")]
    [InlineData("zk1:2888:99999", "election port '99999'")]
    [InlineData("zk1:0:3888", "quorum port '0'")]
    [InlineData("zk1:-1:3888", "quorum port '-1'")]
    [InlineData("zk1:2888:2888", "must differ")]
    [InlineData("zk1:2888:3888:voter", "'voter' is not participant or observer")]
    [InlineData("zk1:2888:3888;a:b:2181", "is not [clientAddress:]clientPort")]
    [InlineData("zk1:2888:3888;host:x", "client port 'x'")]
    [InlineData("zk1:2888:3888;2181;2182", "more than one ';'")]
    [InlineData("zk1:2888:3888|zk1b:2888:3888", "several addresses")]
    [InlineData("[::1:2888:3888", "no matching ']'")]
    [InlineData("[::1]2888:3888", "no ':' after ']'")]
    public void MalformedLinesAreErrorsOnTheirLine(string value, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => Parse(value, 3));
        Assert.Equal(("zoo.cfg", 7, "server.3"), (e.File, e.Line, e.Key));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("zoo.cfg:7: server.3: ", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("zk1:2888:3888", "zk1:2888:3888:participant")]
    [InlineData("zk1:2888:3888:observer;2181", "zk1:2888:3888:observer;0.0.0.0:2181")]
    [InlineData("[::1]:2888:3888;[::1]:2181", "[::1]:2888:3888:participant;[::1]:2181")]
    public void ToConfigValueWritesApachesDynamicConfigForm(string value, string expected)
    {
        var spec = Parse(value);
        Assert.Equal(expected, spec.ToConfigValue());
        Assert.Equal(expected, Parse(spec.ToConfigValue()).ToConfigValue());
    }

    [Fact]
    public void WithMultiAddressEnabledALineListsSeveralAddressesAndTheFirstIsTheServersHost()
    {
        var spec = ServerLine.Parse(1, new ConfigEntry("server.1", "10.0.0.2:2889:3889|10.0.0.1:2888:3888:observer;2181", "zoo.cfg", 7), multiAddressEnabled: true);
        Assert.Equal([new ServerAddress("10.0.0.2", 2889, 3889), new ServerAddress("10.0.0.1", 2888, 3888)], spec.Addresses);
        Assert.Equal(("10.0.0.2", 2889, 3889, ServerRole.Observer), (spec.Host, spec.QuorumPort, spec.ElectionPort, spec.Role));

        // As Apache prints its address sets: each sorted by host.
        Assert.Equal("10.0.0.1:2888:3888|10.0.0.2:2889:3889:observer;0.0.0.0:2181", spec.ToConfigValue());
        Assert.Equal("10.0.0.2:3889|10.0.0.1:3888", spec.ElectionAddressText());
    }

    [Fact]
    public void SeveralAddressesWithoutMultiAddressEnabledNameTheLineAndTheSetting()
    {
        var error = Assert.Throws<ConfigException>(() => Parse("10.0.0.1:2888:3888|10.0.0.2:2888:3888"));
        Assert.Contains("zoo.cfg", error.Message);
        Assert.Contains("7", error.Message);
        Assert.Contains("multiAddress.enabled", error.Message);
    }

    [Fact]
    public void SeveralAddressesMustNotGiveDifferentRoles()
    {
        var error = Assert.Throws<ConfigException>(() => ServerLine.Parse(
            1, new ConfigEntry("server.1", "10.0.0.1:2888:3888:observer|10.0.0.2:2888:3888:participant", "zoo.cfg", 7), multiAddressEnabled: true));
        Assert.Contains("different roles", error.Message);
    }
}
