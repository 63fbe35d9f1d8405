using System.Text.RegularExpressions;
using SharpKeeper.Integration.Tests.Differential;
using SharpKeeper.Integration.Tests.Infrastructure;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Integration.Tests.Admin;

/// <summary>
/// Each four-letter word's output has the shape Apache ZooKeeper 3.8 gives it. Every pattern is
/// checked against Apache itself too, so a pattern that drifted from the real format fails.
/// </summary>
[Collection(DifferentialCollection.Name)]
public sealed class FourLetterWordTests(DifferentialFixture fixture)
{
    public static TheoryData<string, string> Formats => new()
    {
        { "ruok", @"^imok$" },
        { "isro", @"^rw$" },
        { "srvr", @"^Zookeeper version: 3\.8\.\d+-.*, built on .*\nLatency min/avg/max: \d+/\d+\.\d+/\d+\nReceived: \d+\nSent: \d+\nConnections: \d+\nOutstanding: \d+\nZxid: 0x[0-9a-f]+\nMode: standalone\nNode count: \d+\n$" },
        { "stat", @"^Zookeeper version: .*\nClients:\n( /127\.0\.0\.1:\d+\[\d\]\(queued=\d+,recved=\d+,sent=\d+\)\n)+\nLatency min/avg/max: \d+/\d+\.\d+/\d+\nReceived: \d+\nSent: \d+\nConnections: \d+\nOutstanding: \d+\nZxid: 0x[0-9a-f]+\nMode: standalone\nNode count: \d+\n$" },
        { "cons", @"^( /127\.0\.0\.1:\d+\[\d\]\(queued=\d+,recved=\d+,sent=\d+(,sid=0x[0-9a-f]+,lop=\w+,est=\d+,to=\d+(,lcxid=0x[0-9a-f]+,lzxid=0x[0-9a-f]+,lresp=\d+,llat=\d+,minlat=\d+,avglat=\d+,maxlat=\d+)?)?\)\n)+\n$" },
        { "conf", @"^clientPort=\d+\nsecureClientPort=-1\ndataDir=.*/version-2\ndataDirSize=\d+\ndataLogDir=.*/version-2\ndataLogSize=\d+\ntickTime=2000\nmaxClientCnxns=60\nminSessionTimeout=4000\nmaxSessionTimeout=40000\nclientPortListenBacklog=-1\nserverId=0\n$" },
        { "envi", @"^Environment:\nzookeeper\.version=3\.8\.\d+-.*\nhost\.name=.*\njava\.version=.*\n(.*\n)*os\.name=Linux\n(.*\n)*user\.dir=.*\n(.*\n)*$" },
        { "mntr", @"^zk_version\t3\.8\.\d+-.*\nzk_server_state\tstandalone\nzk_ephemerals_count\t\d+\nzk_num_alive_connections\t\d+\nzk_avg_latency\t\d+\.\d+\nzk_outstanding_requests\t\d+\nzk_znode_count\t\d+\n(zk_[^\t\n]+\t.*\n)+$" },
        { "wchs", @"^\d+ connections watching \d+ paths\nTotal watches:\d+\n$" },
        { "wchc", @"^(0x[0-9a-f]+\n(\t/.*\n)+)+\n$" },
        { "wchp", @"^(/.*\n(\t0x[0-9a-f]+\n)+)+\n$" },
        { "dump", @"^SessionTracker dump:\nSession Sets \(\d+\)/\(\d+\):\n(.|\n)*ephemeral nodes dump:\nSessions with Ephemerals \(\d+\):\n(.|\n)*Connections dump:\n(.|\n)*$" },
        { "dirs", @"^datadir_size: \d+\nlogdir_size: \d+\n$" },
        { "crst", @"^Connection stats reset\.\n$" },
        { "srst", @"^Server stats reset\.\n$" },
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task OutputHasApacheShape(string word, string pattern)
    {
        foreach (var (name, port) in new[] { ("Apache", fixture.ApachePort), ("SharpKeeper", fixture.SharpPort) })
        {
            // A session with a watch and an ephemeral, so that every word has something to list.
            await using var session = await RawSession.ConnectAsync(port);
            var path = $"/4lw-{word}-{Guid.NewGuid():N}";
            Assert.Equal(ErrorCode.Ok, (await session.SendAsync(OpCode.Create2, new CreateRequest(path, [], [.. Acl.OpenAclUnsafe], (int)CreateMode.Ephemeral))).Header.Err);
            await session.SendAsync(OpCode.GetData, new PathWatchRequest(path, true));
            var text = await FourLetter.SendAsync(port, word);
            Assert.NotNull(text);
            Assert.True(Regex.IsMatch(text, pattern), $"{name} {word} output does not match {pattern}:\n{text}");
        }
    }

    [Fact]
    public async Task WordsOutsideTheWhitelistAreRefusedAsApacheDoes()
    {
        // The later line wins over the harness's "*", as in a Java properties file.
        await using var server = await SharpKeeperProcess.StartAsync("4lw.commands.whitelist=srvr, ruok");
        Assert.Equal("imok", await FourLetter.SendAsync(server.Port, "ruok"));
        Assert.Contains("Mode: standalone", await FourLetter.SendAsync(server.Port, "srvr"));
        Assert.Equal("mntr is not executed because it is not in the whitelist.\n", await FourLetter.SendAsync(server.Port, "mntr"));
        Assert.Equal("stat is not executed because it is not in the whitelist.\n", await FourLetter.SendAsync(server.Port, "stat"));
    }
}
