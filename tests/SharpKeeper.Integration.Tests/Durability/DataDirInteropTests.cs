using System.Text;
using SharpKeeper.Integration.Tests.Infrastructure;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Auth;

namespace SharpKeeper.Integration.Tests.Durability;

/// <summary>
/// An operator can move a dataDir between Apache ZooKeeper 3.8 and SharpKeeper in either direction:
/// every znode comes back with the same data, Stat (times included) and ACL.
/// </summary>
public sealed class DataDirInteropTests
{
    private const string Root = "/interop";
    private const string Credentials = "alice:secret";

    /// <summary>Small snapCount so that the run produces several log files and snapshots.</summary>
    private const string Settings = "snapCount=20\nextendedTypesEnabled=true";

    [Fact]
    public async Task ApacheStartsOnADataDirSharpKeeperWrote()
    {
        var directory = Directory.CreateTempSubdirectory("interop-sk-").FullName;
        try
        {
            List<string> written;
            await using (var sharp = await SharpKeeperProcess.StartAsync(Settings, directory))
            {
                await PopulateAsync(sharp.Port);
                written = await TreeDump.ReadAsync(sharp.Port, Root, Credentials);
                await sharp.KillAsync();
            }

            Assert.True(Directory.GetFiles(Path.Combine(directory, "data", "version-2"), "log.*").Length >= 2, "expected several log files");
            await using var apache = await ApacheZooKeeperProcess.StartAsync(directory, Settings);
            var read = await TreeDump.ReadAsync(apache.Port, Root, Credentials);
            Assert.Equal(written, read);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task SharpKeeperStartsOnADataDirApacheWrote()
    {
        var directory = Directory.CreateTempSubdirectory("interop-apache-").FullName;
        try
        {
            List<string> written;
            await using (var apache = await ApacheZooKeeperProcess.StartAsync(directory, Settings))
            {
                await PopulateAsync(apache.Port);
                written = await TreeDump.ReadAsync(apache.Port, Root, Credentials);
            }

            Assert.True(Directory.GetFiles(Path.Combine(directory, "data", "version-2"), "log.*").Length >= 2, "expected several log files");
            await using var sharp = await SharpKeeperProcess.StartAsync(Settings, directory);
            var read = await TreeDump.ReadAsync(sharp.Port, Root, Credentials);
            Assert.Equal(written, read);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Sequentials, ephemerals (of a session left open), containers, TTL nodes, ACLs, updates, deletes and a multi.</summary>
    private static async Task PopulateAsync(int port)
    {
        var open = new List<Acl>(Acl.OpenAclUnsafe);
        var alice = new List<Acl> { new(Perms.All, new Id(AuthProviders.Digest, AuthProviders.DigestOf(Credentials))) };
        var session = await RawSession.ConnectAsync(port);
        await Expect(session.SendAsync(OpCode.Create2, new CreateRequest(Root, Encoding.UTF8.GetBytes("root"), open, 0)));
        for (var i = 0; i < 30; i++)
        {
            await Expect(session.SendAsync(OpCode.Create2, new CreateRequest(Root + "/seq-", [(byte)i], open, (int)CreateMode.PersistentSequential)));
        }

        for (var i = 0; i < 10; i++)
        {
            await Expect(session.SendAsync(OpCode.SetData, new SetDataRequest(Root + "/seq-" + i.ToString("D10"), Encoding.UTF8.GetBytes("v" + i), -1)));
        }

        await Expect(session.SendAsync(OpCode.Delete, new PathVersionRequest(Root + "/seq-0000000029", -1)));
        await Expect(session.SendAsync(OpCode.Create2, new CreateRequest(Root + "/eph", [1], open, (int)CreateMode.Ephemeral)));
        await Expect(session.SendAsync(OpCode.CreateContainer, new CreateRequest(Root + "/container", [], open, (int)CreateMode.Container)));
        await Expect(session.SendAsync(OpCode.Create2, new CreateRequest(Root + "/container/kid", [], open, 0)));
        await Expect(session.SendAsync(OpCode.CreateTtl, new CreateRequest(Root + "/ttl", [], open, (int)CreateMode.PersistentWithTtl, 3_600_000)));
        await Expect(session.SendAsync(OpCode.Create2, new CreateRequest(Root + "/private", Encoding.UTF8.GetBytes("s"), alice, 0)));
        await Expect(session.SendAsync(OpCode.SetAcl, new SetAclRequest(Root + "/seq-0000000001", [new Acl(Perms.Read, Id.Anyone)], -1)));
        await Expect(session.MultiAsync(
        [
            new MultiOp(OpCode.Create, new CreateRequest(Root + "/m1", [], open, 0)),
            new MultiOp(OpCode.SetData, new SetDataRequest(Root, Encoding.UTF8.GetBytes("multi"), -1)),
        ]));

        // The session stays open (its socket is not closed) so its ephemeral is in the data directory.
        static async Task Expect(Task<(ReplyHeader Header, Response? Body)> reply) => Assert.Equal(ErrorCode.Ok, (await reply).Header.Err);
    }
}
