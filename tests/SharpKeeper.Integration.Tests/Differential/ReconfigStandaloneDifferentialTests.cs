using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Integration.Tests.Differential;

/// <summary>
/// reconfigEnabled=true on standalone servers: every reconfig, whatever it asks and whoever asks, is
/// Unimplemented with a zxid of its own (an error txn), and /zookeeper/config stays empty, as Apache's.
/// </summary>
public sealed class ReconfigStandaloneDifferentialTests(ReconfigEnabledFixture fixture) : DifferentialTestBase(fixture), IClassFixture<ReconfigEnabledFixture>
{
    [Fact]
    public Task EveryReconfigIsUnimplemented() => AssertSameAsync(1, async t =>
    {
        await t.ReconfigAsync(0, new ReconfigRequest(null, "2", null, -1));
        await t.ReconfigAsync(0, new ReconfigRequest("server.4=127.0.0.1:2884:3884;2184", null, null, 0));
        await t.ReconfigAsync(0, new ReconfigRequest(null, null, "server.1=127.0.0.1:2881:3881;2181", 5));
        await t.ReconfigAsync(0, new ReconfigRequest(null, null, null, -1));
        await t.OpAsync(0, OpCode.GetData, Watch("/zookeeper/config", false));
        await t.OpAsync(0, OpCode.Exists, Watch("/zookeeper/config", false));
    });
}
