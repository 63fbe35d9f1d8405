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

public sealed class PathValidationTests
{
    [Theory]
    [InlineData("/a/.b")]
    [InlineData("/a/b.")]
    [InlineData("/...")]
    [InlineData("/a/...")]
    [InlineData("/.a")]
    [InlineData("/a\uf900")]
    [InlineData("/a\u00a0")]
    [InlineData("/0000000001")]
    public void MoreValidPaths(string path) => Assert.Null(ZkPath.Validate(path));

    [Theory]
    [InlineData(null, "Path cannot be null")]
    [InlineData("", "Path length must be > 0")]
    [InlineData("a", "Path must start with / character")]
    [InlineData("a/b", "Path must start with / character")]
    [InlineData("/a/", "Path must not end with / character")]
    [InlineData("//", "Path must not end with / character")]
    [InlineData("//a", "empty node name specified @1")]
    [InlineData("/a//b", "empty node name specified @3")]
    [InlineData("/.", "relative paths not allowed @1")]
    [InlineData("/..", "relative paths not allowed @2")]
    [InlineData("/a/./b", "relative paths not allowed @3")]
    [InlineData("/a/../b", "relative paths not allowed @4")]
    [InlineData("/a/..", "relative paths not allowed @4")]
    [InlineData("/a\u0000", "null character not allowed @2")]
    [InlineData("/ab\u001f", "invalid character @3")]
    [InlineData("/\u0085", "invalid character @1")]
    [InlineData("/a\u009f", "invalid character @2")]
    [InlineData("/a\ud83d\ude00", "invalid character @2")]
    [InlineData("/a\uf8ff", "invalid character @2")]
    [InlineData("/a\uffff", "invalid character @2")]
    public void InvalidPathsSayWhyAsZooKeeperDoes(string? path, string reason) => Assert.Equal(reason, ZkPath.Validate(path));

    [Theory]
    [InlineData("/", true)]
    [InlineData("/a/", true)]
    [InlineData("/a/b-", true)]
    [InlineData("", false)]
    [InlineData("//", false)]
    [InlineData("/a//", false)]
    [InlineData("/./", false)]
    [InlineData("/a/../", false)]
    public void SequentialPrefixesAreValidatedWithTheCounterAppended(string prefix, bool valid) =>
        Assert.Equal(valid, ZkPath.IsValid(prefix, sequential: true));

    [Fact]
    public void ValidPathsForAllRecordsAndReasonsForSequentialFailures()
    {
        Assert.True(ZkPath.IsValid("/zookeeper"));
        Assert.False(ZkPath.IsValid(null));
        Assert.Equal("Path must start with / character", ZkPath.Validate("a", sequential: true));
    }
}
