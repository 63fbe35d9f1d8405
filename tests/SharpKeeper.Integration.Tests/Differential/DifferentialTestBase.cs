using System.Text;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Integration.Tests.Differential;

/// <summary>Runs a script against Apache ZooKeeper and SharpKeeper and requires identical transcripts.</summary>
public abstract class DifferentialTestBase(ServerPairFixture fixture)
{
    protected static readonly List<Acl> Open = [.. Acl.OpenAclUnsafe];

    /// <summary>The root path of a case: the same on both servers, distinct between cases.</summary>
    protected static string NewRoot(string name) => $"/diff-{name}";

    protected async Task AssertSameAsync(int sessions, Func<Transcript, Task> script)
    {
        List<string> apache, sharp;
        try
        {
            apache = await RunAsync(fixture.ApachePort, sessions, script);
        }
        catch (IOException e)
        {
            throw new InvalidOperationException($"Apache ZooKeeper (port {fixture.ApachePort}) failed: {e.Message}", e);
        }

        try
        {
            sharp = await RunAsync(fixture.SharpPort, sessions, script);
        }
        catch (IOException e)
        {
            var log = fixture.SharpLog;
            throw new InvalidOperationException($"SharpKeeper (port {fixture.SharpPort}) failed: {e.Message}\n{log[Math.Max(0, log.Length - 6000)..]}", e);
        }

        if (!apache.SequenceEqual(sharp))
        {
            var report = new StringBuilder("Transcripts differ (A = Apache ZooKeeper 3.8, S = SharpKeeper):\n");
            for (var i = 0; i < Math.Max(apache.Count, sharp.Count); i++)
            {
                var a = i < apache.Count ? apache[i] : "<missing>";
                var s = i < sharp.Count ? sharp[i] : "<missing>";
                report.AppendLine(a == s ? $"  = {a}" : $"A ! {a}\nS ! {s}");
            }

            Assert.Fail(report.ToString());
        }

        Assert.NotEmpty(apache);
    }

    private static async Task<List<string>> RunAsync(int port, int sessions, Func<Transcript, Task> script)
    {
        await using var transcript = new Transcript(port);
        await transcript.OpenAsync(sessions);
        await script(transcript);
        await transcript.FlushEventsAsync();
        return [.. transcript.Lines];
    }

    protected static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    protected static CreateRequest Create(string path, string data = "", int flags = 0, List<Acl>? acl = null, long ttl = 0) =>
        new(path, Bytes(data), acl ?? Open, flags, ttl);

    protected static Task Create(Transcript t, int s, string path, string data = "", CreateMode mode = CreateMode.Persistent, OpCode op = OpCode.Create2) =>
        t.OpAsync(s, op, Create(path, data, (int)mode));

    protected static PathWatchRequest Watch(string path, bool watch = true) => new(path, watch);
}
