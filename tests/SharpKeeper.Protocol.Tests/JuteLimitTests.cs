using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Protocol.Tests;

public sealed class JuteLimitTests
{
    // 2 GiB - 1 and the sign bit: lengths no frame can hold.
    public static TheoryData<int> HugeLengths => new() { int.MaxValue, unchecked((int)0x80000000), 0x40000000, 17 };

    private static byte[] LengthThenFewBytes(int length) => new Jute().Int(length).Raw([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]).Bytes;

    [Theory]
    [MemberData(nameof(HugeLengths))]
    public void BufferAndStringLengthsBeyondTheFrameThrow(int length)
    {
        var bytes = LengthThenFewBytes(length);
        Assert.Throws<JuteException>(() => new JuteReader(bytes).ReadBuffer());
        Assert.Throws<JuteException>(() => new JuteReader(bytes).ReadString());
        Assert.Throws<JuteException>(() => new JuteReader(bytes).ReadBufferSpan(out _).Length);
    }

    [Theory]
    [MemberData(nameof(HugeLengths))]
    public void VectorCountsBeyondTheFrameThrow(int count)
    {
        var bytes = LengthThenFewBytes(count);
        Assert.Throws<JuteException>(() => new JuteReader(bytes).ReadStringVector());
        Assert.Throws<JuteException>(() =>
        {
            var r = new JuteReader(bytes);
            Acl.ReadList(ref r);
        });
    }

    [Fact]
    public void AHugeLengthInsideARecordThrows()
    {
        var create = new Jute().Str("/a").Int(int.MaxValue).Raw(new byte[32]).Bytes;
        Assert.Throws<JuteException>(() =>
        {
            var r = new JuteReader(create);
            CreateRequest.Read(ref r, withTtl: false);
        });
        var connect = new Jute().Int(0).Long(0).Int(30000).Long(0).Int(int.MaxValue).Bytes;
        Assert.Throws<JuteException>(() =>
        {
            var r = new JuteReader(connect);
            ConnectRequest.Read(ref r);
        });
    }

    [Fact]
    public void NullLengthsDecodeAsNull()
    {
        var bytes = new Jute().Int(-1).Int(-1).Int(-1).Int(-1).Bytes;
        var r = new JuteReader(bytes);
        Assert.Null(r.ReadBuffer());
        Assert.Null(r.ReadString());
        Assert.Null(r.ReadStringVector());
        Assert.Equal("", r.ReadRequiredString());
        Assert.True(r.AtEnd);
    }

    [Fact]
    public void ExactLengthsAreFine()
    {
        var bytes = new Jute().Buf([1, 2, 3]).Bytes;
        var r = new JuteReader(bytes);
        Assert.Equal([1, 2, 3], r.ReadBufferSpan(out var isNull).ToArray());
        Assert.False(isNull);
        Assert.Equal(0, r.Remaining);
    }

    [Fact]
    public void ReadsPastTheEndThrow()
    {
        var r = new JuteReader([1, 2, 3]);
        Assert.Throws<JuteException>(() =>
        {
            var copy = new JuteReader([1, 2, 3]);
            return copy.ReadInt();
        });
        Assert.True(r.ReadBool());
        Assert.Equal(1, r.Position);
        Assert.Throws<JuteException>(() => new JuteReader([1, 2, 3, 4, 5, 6, 7]).ReadLong());
        Assert.Throws<JuteException>(() => new JuteReader([]).ReadBool());
    }

    [Fact]
    public void TheWriterGrowsAndFramesNest()
    {
        using var w = new JuteWriter(1);
        w.BeginFrame();
        var big = Enumerable.Range(0, 10_000).Select(i => (byte)i).ToArray();
        w.WriteBuffer(big);
        w.EndFrame();
        var bytes = w.ToArray();
        Assert.Equal(4 + 4 + 10_000, bytes.Length);
        var r = new JuteReader(bytes);
        Assert.Equal(10_004, r.ReadInt());
        Assert.Equal(big, r.ReadBuffer());

        w.Reset();
        Assert.Equal(0, w.Length);
        w.WriteString("é");
        Assert.Equal([0, 0, 0, 2, 0xC3, 0xA9], w.ToArray());
        Assert.Throws<InvalidOperationException>(w.EndFrame);
    }

    [Fact]
    public void StringVectorsRoundTripIncludingNullAndEmpty()
    {
        using var w = new JuteWriter();
        w.WriteStringVector(null);
        w.WriteStringVector([]);
        w.WriteStringVector(["a", "", "ü"]);
        var r = new JuteReader(w.WrittenSpan);
        Assert.Null(r.ReadStringVector());
        Assert.Empty(r.ReadStringVector()!);
        Assert.Equal(["a", "", "ü"], r.ReadStringVector());
        Assert.True(r.AtEnd);
    }
}
