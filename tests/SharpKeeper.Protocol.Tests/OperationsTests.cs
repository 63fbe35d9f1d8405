using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Protocol.Tests;

/// <summary>The one table of operations: complete, and what the codecs read by it.</summary>
public sealed class OperationsTests
{
    [Fact]
    public void EveryRequestOpcodeHasExactlyOneOperation()
    {
        var requests = Enum.GetValues<OpCode>().Where(c => c is not (OpCode.Notification or OpCode.Error)).ToList();
        Assert.Equal(requests.Order(), Operations.All.Select(o => o.Code).Order());
        Assert.Equal(Operations.All.Count, Operations.All.Select(o => o.Code).Distinct().Count());
    }

    [Fact]
    public void AMultiHoldsWritesAndAMultiReadHoldsReads()
    {
        Assert.All(Operations.All.Where(o => o.InMulti), o => Assert.True(o.IsWrite, $"{o.Code} in a multi"));
        Assert.All(Operations.All.Where(o => o.InMultiRead), o => Assert.False(o.IsWrite, $"{o.Code} in a multiRead"));
        Assert.Equal([OpCode.GetData, OpCode.GetChildren], Operations.All.Where(o => o.InMultiRead).Select(o => o.Code));
    }

    [Theory]
    [InlineData(OpCode.Create2, typeof(CreateRequest))]
    [InlineData(OpCode.CreateTtl, typeof(CreateRequest))]
    [InlineData(OpCode.Delete, typeof(PathVersionRequest))]
    [InlineData(OpCode.GetData, typeof(PathWatchRequest))]
    [InlineData(OpCode.Sync, typeof(PathOnlyRequest))]
    [InlineData(OpCode.SetData, typeof(SetDataRequest))]
    [InlineData(OpCode.SetAcl, typeof(SetAclRequest))]
    [InlineData(OpCode.AddWatch, typeof(PathIntRequest))]
    public void ThePathRequestCodecReadsTheRecordTheTableNames(OpCode code, Type record)
    {
        PathRequest request = Operations.Find(code)!.Request switch
        {
            RequestBody.Create or RequestBody.CreateTtl => new CreateRequest("/a", [1], [.. Acl.OpenAclUnsafe], 0, 5000),
            RequestBody.PathVersion => new PathVersionRequest("/a", 3),
            RequestBody.PathWatch => new PathWatchRequest("/a", true),
            RequestBody.PathOnly => new PathOnlyRequest("/a"),
            RequestBody.SetData => new SetDataRequest("/a", [2], 1),
            RequestBody.SetAcl => new SetAclRequest("/a", [.. Acl.OpenAclUnsafe], 1),
            _ => new PathIntRequest("/a", 1),
        };
        var w = new JuteWriter(64);
        RequestCodec.WritePathRequest(w, code, request);
        var r = new JuteReader(w.WrittenSpan.ToArray());
        var read = RequestCodec.ReadPathRequest(code, ref r);
        Assert.IsType(record, read);
        Assert.Equal("/a", read!.Path);
        Assert.True(r.AtEnd);
    }

    [Fact]
    public void ShortNamesAreThoseConsShows()
    {
        Assert.Equal(("CREA", "GETD", "MLTR", "STW2", "HOMI", "NA"),
            (Operations.ShortName(OpCode.CreateTtl), Operations.ShortName(OpCode.GetData), Operations.ShortName(OpCode.MultiRead),
             Operations.ShortName(OpCode.SetWatches2), Operations.ShortName(OpCode.WhoAmI), Operations.ShortName((OpCode)999)));
    }

    [Fact]
    public void AReconfigRequestKeepsItsNullStringsApartFromEmptyOnes()
    {
        var request = new ReconfigRequest("server.4=h:1:2;3", null, "", 0x100000002);
        var w = new JuteWriter(64);
        request.Write(w);
        var bytes = w.WrittenSpan.ToArray();

        // -1 is the length of a null string; "" has length 0.
        Assert.Equal([0xff, 0xff, 0xff, 0xff], bytes[(4 + 16)..(4 + 16 + 4)]);
        var r = new JuteReader(bytes);
        Assert.Equal(request, ReconfigRequest.Read(ref r));
        Assert.True(r.AtEnd);
        Assert.Equal((RequestBody.Reconfig, ReplyBody.GetData), (Operations.Find(OpCode.Reconfig)!.Request, Operations.Find(OpCode.Reconfig)!.Reply));
    }
}
