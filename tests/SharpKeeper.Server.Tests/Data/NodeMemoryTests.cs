using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Data;
using Xunit.Abstractions;

namespace SharpKeeper.Server.Tests.Data;

/// <summary>
/// What one znode costs on the managed heap, part by part (bench/README's bytes-per-znode
/// breakdown), measured with this thread's own allocation counter so other tests running at the
/// same time do not disturb it. The bound keeps the layout from growing unnoticed.
/// </summary>
public sealed class NodeMemoryTests(ITestOutputHelper output)
{
    private const int Nodes = 100_000;

    [Fact]
    public void AFlatZnodeOfAHundredBytesCostsAtMostItsMeasuredLayout()
    {
        var tree = new DataTree();
        var acl = tree.Acls.Intern(Acl.OpenAclUnsafe);
        var names = new string[Nodes];
        var data = new byte[Nodes][];
        var nodes = new DataNode[Nodes];

        // Names like a sequential node's (10 digits), values of 100 bytes.
        var nameBytes = Measure(() =>
        {
            for (var i = 0; i < Nodes; i++)
            {
                names[i] = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"n{i:D10}");
            }
        });
        var dataBytes = Measure(() =>
        {
            for (var i = 0; i < Nodes; i++)
            {
                data[i] = new byte[100];
            }
        });
        var nodeBytes = Measure(() =>
        {
            for (var i = 0; i < Nodes; i++)
            {
                nodes[i] = new DataNode(data[i], acl);
            }
        });

        // The parent's child index: what it holds at the end, not what its growth left behind.
        for (var i = 0; i < Nodes; i++)
        {
            tree.LoadNode(tree.Root, names[i], names[i].Length + 1, nodes[i], null, aclInterned: true);
        }

        var indexBytes = Measure(() =>
        {
            var copy = new Dictionary<string, DataNode>(tree.Root.ChildCount, StringComparer.Ordinal);
            foreach (var (name, child) in tree.Root.Children)
            {
                copy[name] = child;
            }

            GC.KeepAlive(copy);
        }) * 4 / 3; // a growing index is between half and fully used: count it 3/4 full

        var total = nameBytes + dataBytes + nodeBytes + indexBytes;
        output.WriteLine($"per znode: DataNode {nodeBytes:F0} B, data {dataBytes:F0} B, name {nameBytes:F0} B, child index {indexBytes:F0} B; total {total:F0} B");
        Assert.Equal(104, nodeBytes, 1);
        Assert.Equal(128, dataBytes, 1);
        Assert.InRange(total, 300, 330);
    }

    private static double Measure(Action allocate)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        allocate();
        return (GC.GetAllocatedBytesForCurrentThread() - before) / (double)Nodes;
    }
}
