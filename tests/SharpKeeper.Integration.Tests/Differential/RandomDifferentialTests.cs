using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Integration.Tests.Differential;

/// <summary>
/// Seeded random operation sequences from several sessions over a small tree, so that operations
/// collide (existing nodes, wrong versions, non-empty deletes, watches firing). A failing seed is
/// rerun by its number.
/// </summary>
[Collection(DifferentialCollection.Name)]
public sealed class RandomDifferentialTests(DifferentialFixture fixture) : DifferentialTestBase(fixture)
{
    private const int OpsPerSeed = 150;

    public static TheoryData<int> Seeds => [1, 2, 3, 4, 5, 6, 7, 8];

    [Theory]
    [MemberData(nameof(Seeds))]
    public Task RandomSequenceMatchesApache(int seed)
    {
        var root = NewRoot($"random{seed}");
        return AssertSameAsync(3, async t =>
        {
            // The random choices are drawn inside the script from the same seed on both servers.
            var random = new Random(seed);
            await Create(t, 0, root);
            string[] names = ["a", "b", "c"];
            for (var i = 0; i < OpsPerSeed; i++)
            {
                var session = random.Next(3);
                var depth = random.Next(1, 4);
                var path = root;
                for (var d = 0; d < depth; d++)
                {
                    path += "/" + names[random.Next(names.Length)];
                }

                var version = random.Next(4) == 0 ? random.Next(3) : -1;
                switch (random.Next(13))
                {
                    case 0 or 1:
                        await t.OpAsync(session, OpCode.Create2, Create(path, $"d{i}", random.Next(4) switch { 0 => (int)CreateMode.Ephemeral, 1 => (int)CreateMode.PersistentSequential, _ => 0 }));
                        break;
                    case 2:
                        await t.OpAsync(session, OpCode.Create, Create(path, $"d{i}"));
                        break;
                    case 3:
                        await t.OpAsync(session, OpCode.Delete, new PathVersionRequest(path, version));
                        break;
                    case 4:
                        await t.OpAsync(session, OpCode.SetData, new SetDataRequest(path, Bytes($"s{i}"), version));
                        break;
                    case 5:
                        await t.OpAsync(session, OpCode.GetData, Watch(path, random.Next(2) == 0));
                        break;
                    case 6:
                        await t.OpAsync(session, OpCode.Exists, Watch(path, random.Next(2) == 0));
                        break;
                    case 7:
                        await t.OpAsync(session, OpCode.GetChildren2, Watch(path, random.Next(2) == 0));
                        break;
                    case 8:
                        await t.OpAsync(session, OpCode.GetChildren, Watch(ZkPath.Parent(path), random.Next(2) == 0));
                        break;
                    case 9:
                        await t.MultiAsync(session,
                        [
                            new MultiOp(OpCode.Create, Create(path + "/m", "m")),
                            new MultiOp(OpCode.SetData, new SetDataRequest(path, Bytes("m"), version)),
                            new MultiOp(OpCode.Check, new PathVersionRequest(path, random.Next(3))),
                        ]);
                        break;
                    case 10:
                        await t.OpAsync(session, OpCode.SetAcl, new SetAclRequest(path, Open, version));
                        break;
                    case 11:
                        await t.OpAsync(session, OpCode.GetAllChildrenNumber, new PathOnlyRequest(path));
                        break;
                    default:
                        await t.FlushEventsAsync();
                        break;
                }
            }
        });
    }
}
