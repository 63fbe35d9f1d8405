namespace SharpKeeper.Protocol.Tests;

public sealed class PathTests
{
    [Theory]
    [InlineData("/")]
    [InlineData("/a")]
    [InlineData("/a/b.c/d..e")]
    [InlineData("/zookeeper/quota")]
    [InlineData("/ünïcode")]
    public void ValidPaths(string path) => Assert.Null(ZkPath.Validate(path));

    [Theory]
    [InlineData("")]
    [InlineData("a")]
    [InlineData("/a/")]
    [InlineData("//")]
    [InlineData("/a//b")]
    [InlineData("/.")]
    [InlineData("/..")]
    [InlineData("/a/./b")]
    [InlineData("/a/../b")]
    [InlineData("/a\u0000b")]
    [InlineData("/a\u0001")]
    [InlineData("/a\u007f")]
    [InlineData("/a\ud800")]
    [InlineData("/a\ufff5")]
    public void InvalidPaths(string path) => Assert.NotNull(ZkPath.Validate(path));

    [Fact]
    public void SequentialPrefixMayEndWithASlash()
    {
        Assert.Null(ZkPath.Validate("/a/", sequential: true));
        Assert.NotNull(ZkPath.Validate("/a/", sequential: false));
    }

    [Theory]
    [InlineData("/a", "/", "a")]
    [InlineData("/a/b/c", "/a/b", "c")]
    public void ParentAndName(string path, string parent, string name)
    {
        Assert.Equal(parent, ZkPath.Parent(path));
        Assert.Equal(name, ZkPath.Name(path));
        Assert.Equal(path, ZkPath.Join(parent, name));
    }

    [Theory]
    [InlineData(CreateMode.Persistent, false, false, false, false)]
    [InlineData(CreateMode.EphemeralSequential, true, true, false, false)]
    [InlineData(CreateMode.Container, false, false, true, false)]
    [InlineData(CreateMode.PersistentSequentialWithTtl, false, true, false, true)]
    public void CreateModes(CreateMode mode, bool ephemeral, bool sequential, bool container, bool ttl) =>
        Assert.Equal((ephemeral, sequential, container, ttl), (mode.IsEphemeral(), mode.IsSequential(), mode.IsContainer(), mode.IsTtl()));

    [Fact]
    public void TtlOwnersEncodeAsApacheDoes()
    {
        Assert.Equal(unchecked((long)0xFF00000000000001UL), EphemeralType.ForTtl(1));
        Assert.True(EphemeralType.IsTtl(EphemeralType.ForTtl(5000)));
        Assert.Equal(5000, EphemeralType.TtlOf(EphemeralType.ForTtl(5000)));
        Assert.False(EphemeralType.IsTtl(EphemeralType.ContainerOwner));
        Assert.False(EphemeralType.IsTtl(0x0100000000000001));
    }
}
