using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Config;
using SharpKeeper.Server.Quorum.Reconfig;

namespace SharpKeeper.Server.Tests.Quorum.Reconfig;

public sealed class ReconfigPlannerTests
{
    private static readonly QuorumVerifier Three = QuorumVerifier.Parse(
        "server.1=127.0.0.1:2881:3881\nserver.2=127.0.0.1:2882:3882:participant;2182\nserver.3=127.0.0.1:2883:3883\nversion=100000000", "test", false);

    private static QuorumVerifier Plan(string? joining, string? leaving, string? members, bool standaloneEnabled = true) =>
        ReconfigPlanner.Plan(new ReconfigRequest(joining, leaving, members, -1), Three, 0x100000005, standaloneEnabled, multiAddressEnabled: false);

    private static ErrorCode Refusal(string? joining, string? leaving, string? members, bool standaloneEnabled = true) =>
        Assert.Throws<KeeperException>(() => Plan(joining, leaving, members, standaloneEnabled)).Code;

    [Fact]
    public void TheTextIsApachesServerLinesByIdThenTheHexVersionWithoutANewline()
    {
        Assert.Equal(
            "server.1=127.0.0.1:2881:3881:participant\nserver.2=127.0.0.1:2882:3882:participant;0.0.0.0:2182\nserver.3=127.0.0.1:2883:3883:participant\nversion=100000000",
            Three.Text);
        Assert.Equal(Three.Text, QuorumVerifier.Parse(Three.Text, "again", false).Text);
    }

    [Fact]
    public void LeavingAndJoiningChangeTheMembersAndTakeTheTxnsZxidAsVersion()
    {
        var next = Plan("server.4=127.0.0.1:2884:3884:observer;2184, 5=127.0.0.1:2885:3885;127.0.0.1:2185", "3, ,", null);
        Assert.Equal([1L, 2, 4, 5], next.Members.Keys);
        Assert.Equal([1L, 2, 5], next.Voters.Order());
        Assert.Equal(ServerRole.Observer, next.Members[4].Role);
        Assert.Equal(0x100000005, next.Version);
        Assert.EndsWith("server.5=127.0.0.1:2885:3885:participant;127.0.0.1:2185\nversion=100000005", next.Text);
    }

    [Fact]
    public void AJoinerReplacesTheServerWithItsIdAndAnUnknownLeaverIsIgnored()
    {
        var next = Plan("server.3=127.0.0.1:2883:3883:observer;2183", "9", null);
        Assert.Equal(ServerRole.Observer, next.Members[3].Role);
        Assert.Equal([1L, 2], next.Voters.Order());
    }

    [Fact]
    public void NoChangeAtAllIsANewVersionOfTheSameMembers()
    {
        var next = Plan(null, null, null);
        Assert.True(next.HasSameMembers(Three));
        Assert.True(next.IsEquivalentTo(Three));
        Assert.Equal(0x100000005, next.Version);
    }

    [Fact]
    public void NewMembersReplaceTheWholeMembershipAndTheirVersionLineIsIgnored()
    {
        var next = Plan(null, null, "server.1=127.0.0.1:2881:3881;2181,server.7=127.0.0.1:2887:3887;2187,version=5");
        Assert.Equal([1L, 7], next.Members.Keys);
        Assert.Equal(0x100000005, next.Version);
    }

    [Theory]
    [InlineData("server.4=127.0.0.1:2884:3884", null, null)] // no client port
    [InlineData("server.4", null, null)] // not id=spec
    [InlineData("server.4=127.0.0.1:2884", null, null)] // too few ports
    [InlineData("server.4=127.0.0.1:2884:2884;2184", null, null)] // quorum port == election port
    [InlineData("server.4=127.0.0.1:2884:3884:voter;2184", null, null)] // unknown role
    [InlineData("server.4=10.0.0.2:2884:3884;2184,server.5=10.0.0.2:2884:3885;2185", null, null)] // address taken
    [InlineData(null, "2,3", null)] // one participant left
    [InlineData(null, null, "server.1=127.0.0.1:2881:3881;2181,weight.1=2")] // not a server key
    public void WrongRequestsAreBadArguments(string? joining, string? leaving, string? members) =>
        Assert.Equal(ErrorCode.BadArguments, Refusal(joining, leaving, members));

    [Fact]
    public void OneParticipantIsEnoughWithoutStandaloneMode()
    {
        Assert.Equal([1L], Plan(null, "2,3", null, standaloneEnabled: false).Voters);
        Assert.Equal(ErrorCode.BadArguments, Refusal(null, "1,2,3", null, standaloneEnabled: false));
    }

    [Theory]
    [InlineData(null, "two", null)] // Long.parseLong fails in Apache: a runtime error
    [InlineData("server.x=127.0.0.1:2884:3884;2184", null, null)]
    [InlineData(null, null, "server.4=127.0.0.1:2884:3884:observer;2184")] // observers without participants
    public void WhatApacheFailsWithARuntimeErrorIsAMarshallingError(string? joining, string? leaving, string? members) =>
        Assert.Equal(ErrorCode.MarshallingError, Refusal(joining, leaving, members));

    [Fact]
    public void AQuorumIsMoreThanHalfOfTheParticipants()
    {
        var next = Plan("server.4=127.0.0.1:2884:3884;2184", null, null);
        Assert.False(next.ContainsQuorum([1, 2]));
        Assert.True(next.ContainsQuorum([1, 2, 4, 9]));
        Assert.False(Three.ContainsQuorum([1, 1, 9]));
    }
}
