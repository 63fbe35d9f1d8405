using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Protocol.Tests;

public sealed class JuteTests
{
    private static byte[] Encode(Action<JuteWriter> write)
    {
        using var w = new JuteWriter(4);
        write(w);
        return w.ToArray();
    }

    [Fact]
    public void PrimitivesAreBigEndianWithLengthPrefixes()
    {
        var bytes = Encode(w =>
        {
            w.WriteInt(0x01020304);
            w.WriteLong(-2);
            w.WriteBool(true);
            w.WriteString("hé");
            w.WriteString(null);
            w.WriteBuffer((byte[]?)null);
            w.WriteBuffer([9]);
        });
        Assert.Equal(
            [1, 2, 3, 4, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 1, 0, 0, 0, 3, (byte)'h', 0xC3, 0xA9, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1, 9],
            bytes);
        var r = new JuteReader(bytes);
        Assert.Equal(0x01020304, r.ReadInt());
        Assert.Equal(-2, r.ReadLong());
        Assert.True(r.ReadBool());
        Assert.Equal("hé", r.ReadString());
        Assert.Null(r.ReadString());
        Assert.Null(r.ReadBuffer());
        Assert.Equal([9], r.ReadBuffer());
        Assert.True(r.AtEnd);
    }

    [Fact]
    public void FramesCarryTheirLength()
    {
        var bytes = Encode(w =>
        {
            w.BeginFrame();
            new RequestHeader(7, OpCode.GetData).Write(w);
            w.EndFrame();
        });
        Assert.Equal([0, 0, 0, 8, 0, 0, 0, 7, 0, 0, 0, 4], bytes);
    }

    [Fact]
    public void TruncatedInputThrowsInsteadOfReadingPastTheEnd()
    {
        var full = Encode(w => new ConnectRequest(0, 5, 30000, 0x1234, new byte[16], false).Write(w));
        for (var length = 0; length < full.Length - 1; length++)
        {
            var prefix = full[..length];
            Assert.Throws<JuteException>(() =>
            {
                var r = new JuteReader(prefix);
                ConnectRequest.Read(ref r);
            });
        }
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(-2)]
    [InlineData(1000)]
    public void ImpossibleLengthsAreRejected(int length)
    {
        var bytes = Encode(w =>
        {
            w.WriteInt(length);
            w.WriteInt(0);
        });
        Assert.Throws<JuteException>(() =>
        {
            var r = new JuteReader(bytes);
            r.ReadBuffer();
        });
        Assert.Throws<JuteException>(() =>
        {
            var r = new JuteReader(bytes);
            r.ReadStringVector();
        });
    }

    [Fact]
    public void InvalidUtf8IsRejected()
    {
        var bytes = Encode(w => w.WriteBuffer([0xC3, 0x28]));
        Assert.Throws<JuteException>(() =>
        {
            var r = new JuteReader(bytes);
            r.ReadString();
        });
    }

    [Fact]
    public void ConnectRequestWithoutReadOnlyFlagFromOldClients()
    {
        var bytes = Encode(w =>
        {
            w.WriteInt(0);
            w.WriteLong(9);
            w.WriteInt(10000);
            w.WriteLong(0);
            w.WriteBuffer(new byte[16]);
        });
        var r = new JuteReader(bytes);
        var request = ConnectRequest.Read(ref r);
        Assert.Equal(9, request.LastZxidSeen);
        Assert.False(request.ReadOnly);
    }

    public static TheoryData<OpCode, PathRequest> Requests => new()
    {
        { OpCode.Create, new CreateRequest("/a", [1, 2], [.. Acl.OpenAclUnsafe], 3) },
        { OpCode.CreateTtl, new CreateRequest("/t", null, [new Acl(Perms.Read, new Id("ip", "10.0.0.0/8"))], 5, 1234) },
        { OpCode.Delete, new PathVersionRequest("/d", 4) },
        { OpCode.GetData, new PathWatchRequest("/g", true) },
        { OpCode.Sync, new PathOnlyRequest("/s") },
        { OpCode.SetData, new SetDataRequest("/s", [7], -1) },
        { OpCode.SetAcl, new SetAclRequest("/s", [new Acl(Perms.All, Id.Anyone)], 2) },
        { OpCode.AddWatch, new PathIntRequest("/w", 1) },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public void RequestsRoundTrip(OpCode op, PathRequest request)
    {
        var bytes = Encode(w => RequestCodec.WritePathRequest(w, op, request));
        var r = new JuteReader(bytes);
        var decoded = RequestCodec.ReadPathRequest(op, ref r);
        Assert.True(r.AtEnd);
        Assert.Equal(Describe(request), Describe(decoded!));
    }

    private static string Describe(PathRequest request) => request switch
    {
        CreateRequest c => $"{c.Path} {Convert.ToHexString(c.Data ?? [])} {string.Join(",", c.Acl)} {c.Flags} {c.Ttl}",
        SetAclRequest s => $"{s.Path} {string.Join(",", s.Acl)} {s.Version}",
        SetDataRequest s => $"{s.Path} {Convert.ToHexString(s.Data ?? [])} {s.Version}",
        _ => request.ToString(),
    };

    [Fact]
    public void MultiRequestAndResponseRoundTrip()
    {
        List<MultiOp> ops =
        [
            new(OpCode.Create, new CreateRequest("/m", [], [.. Acl.OpenAclUnsafe], 0)),
            new(OpCode.Check, new PathVersionRequest("/m", 0)),
            new(OpCode.SetData, new SetDataRequest("/m", [1], -1)),
            new(OpCode.Delete, new PathVersionRequest("/m", -1)),
        ];
        var bytes = Encode(w => RequestCodec.WriteMulti(w, ops));
        var r = new JuteReader(bytes);
        var decoded = RequestCodec.ReadMulti(ref r);
        Assert.Equal(ops.Select(o => o.Type), decoded.Select(o => o.Type));

        var stat = new Stat(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
        var response = new MultiResponse(
        [
            new MultiResult(OpCode.Create, ErrorCode.Ok, new CreateResponse("/m", null)),
            new MultiResult(OpCode.SetData, ErrorCode.Ok, new StatResponse(stat)),
            MultiResult.Error(ErrorCode.BadVersion),
        ]);
        var encoded = Encode(response.Write);
        var rr = new JuteReader(encoded);
        var back = MultiResponse.Read(ref rr);
        Assert.Equal([OpCode.Create, OpCode.SetData, OpCode.Error], back.Results.Select(x => x.Type));
        Assert.Equal(stat, ((StatResponse)back.Results[1].Body).Stat);
        Assert.Equal(ErrorCode.BadVersion, back.Results[2].Err);
    }

    [Fact]
    public void TxnsRoundTripIncludingMulti()
    {
        var multi = new MultiTxn(
        [
            new SubTxn(OpCode.Create, new CreateTxn("/a", [1], [.. Acl.OpenAclUnsafe], true, 3)),
            new SubTxn(OpCode.Error, new ErrorTxn(ErrorCode.NodeExists)),
        ]);
        var bytes = Encode(w => TxnCodec.WriteBody(w, OpCode.Multi, multi));
        var r = new JuteReader(bytes);
        var back = Assert.IsType<MultiTxn>(TxnCodec.ReadBody(ref r, OpCode.Multi));
        var create = Assert.IsType<CreateTxn>(back.Txns[0].Body);
        Assert.Equal(("/a", true, 3), (create.Path, create.Ephemeral, create.ParentCVersion));
        Assert.Equal(ErrorCode.NodeExists, Assert.IsType<ErrorTxn>(back.Txns[1].Body).Err);
    }
}
