using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using SharpKeeper.Server.Auth;
using SharpKeeper.Server.Config;
using SharpKeeper.Server.Quorum;

namespace SharpKeeper.Server.Tests.Quorum;

/// <summary>The quorum SASL exchange (Apache's QuorumAuthPacket and DIGEST-MD5) between two ends of a loopback connection.</summary>
public sealed class QuorumSaslTests
{
    private static readonly QuorumSaslSettings Strict = new()
    {
        LearnerRequiresSasl = true,
        ServerRequiresSasl = true,
        LearnerUser = "test",
        LearnerPassword = "mypassword",
        ServerUsers = new Dictionary<string, string> { ["test"] = "mypassword" },
    };

    private static QuorumSasl Sasl(QuorumSaslSettings settings) => new(settings, 1 << 20, NullLogger.Instance);

    [Fact]
    public async Task TheRightPasswordAuthenticatesAndTheProtocolGoesOn()
    {
        var (learnerEnd, serverEnd) = await ConnectedPairAsync();
        await using (learnerEnd)
        await using (serverEnd)
        {
            var learner = Sasl(Strict).AuthenticateAsLearnerAsync(learnerEnd, "leader", CancellationToken.None);
            var server = Sasl(Strict).AuthenticateAsServerAsync(serverEnd, "learner", CancellationToken.None);
            await learner;
            var stream = await server;

            await learnerEnd.WriteAsync("after"u8.ToArray());
            var after = new byte[5];
            await stream.ReadExactlyAsync(after);
            Assert.Equal("after", Encoding.ASCII.GetString(after));
        }
    }

    [Fact]
    public async Task TheFirstPacketIsApachesMagicWithAnEmptyToken()
    {
        var (learnerEnd, serverEnd) = await ConnectedPairAsync();
        await using (learnerEnd)
        await using (serverEnd)
        {
            _ = Sasl(Strict).AuthenticateAsLearnerAsync(learnerEnd, "leader", CancellationToken.None);
            var first = new byte[16];
            await serverEnd.ReadExactlyAsync(first);
            Assert.Equal("5f2435013501edcc" + "00000000" + "00000000", Convert.ToHexStringLower(first));
        }
    }

    [Fact]
    public async Task AWrongPasswordIsRefusedOnBothSides()
    {
        var (learnerEnd, serverEnd) = await ConnectedPairAsync();
        await using (learnerEnd)
        await using (serverEnd)
        {
            var learner = Sasl(Strict with { LearnerPassword = "wrong" }).AuthenticateAsLearnerAsync(learnerEnd, "leader", CancellationToken.None);
            var server = Sasl(Strict).AuthenticateAsServerAsync(serverEnd, "learner", CancellationToken.None);
            var refused = await Assert.ThrowsAsync<QuorumTransportException>(() => server);
            Assert.Contains("wrong password for test", refused.Message);
            var failed = await Assert.ThrowsAsync<QuorumTransportException>(() => learner);
            Assert.Contains("status -1", failed.Message);
        }
    }

    [Fact]
    public async Task ALearnerWithoutSaslIsLetInUnlessTheServerRequiresIt()
    {
        var plainLearner = Strict with { LearnerRequiresSasl = false, ServerRequiresSasl = false };
        var (learnerEnd, serverEnd) = await ConnectedPairAsync();
        await using (learnerEnd)
        await using (serverEnd)
        {
            await Sasl(plainLearner).AuthenticateAsLearnerAsync(learnerEnd, "leader", CancellationToken.None);
            var packet = new byte[12];
            BinaryPrimitives.WriteInt32BigEndian(packet, 11);
            BinaryPrimitives.WriteInt64BigEndian(packet.AsSpan(4), 0x100000000L);
            await learnerEnd.WriteAsync(packet);

            // The 8 bytes looked at are given back to the protocol.
            var stream = await Sasl(plainLearner).AuthenticateAsServerAsync(serverEnd, "learner", CancellationToken.None);
            var again = new byte[12];
            await stream.ReadExactlyAsync(again);
            Assert.Equal(packet, again);
        }

        (learnerEnd, serverEnd) = await ConnectedPairAsync();
        await using (learnerEnd)
        await using (serverEnd)
        {
            await learnerEnd.WriteAsync(new byte[12]);
            var refused = await Assert.ThrowsAsync<QuorumTransportException>(() => Sasl(Strict).AuthenticateAsServerAsync(serverEnd, "learner", CancellationToken.None));
            Assert.Contains("did not try to authenticate", refused.Message);
        }
    }

    [Fact]
    public async Task AHostileTokenLengthIsRefused()
    {
        var (learnerEnd, serverEnd) = await ConnectedPairAsync();
        await using (learnerEnd)
        await using (serverEnd)
        {
            var packet = new byte[16];
            BinaryPrimitives.WriteInt64BigEndian(packet, QuorumSasl.Magic);
            BinaryPrimitives.WriteInt32BigEndian(packet.AsSpan(12), int.MaxValue);
            await learnerEnd.WriteAsync(packet);
            var refused = await Assert.ThrowsAsync<QuorumTransportException>(() => Sasl(Strict).AuthenticateAsServerAsync(serverEnd, "learner", CancellationToken.None));
            Assert.Contains("2147483647 bytes", refused.Message);
        }
    }

    [Fact]
    public void TheClientsResponseIsWhatTheServerExpectsAndItChecksRspauth()
    {
        var server = new DigestMd5Server(user => user == "test" ? "pw" : null, () => "n0nce", QuorumSasl.Protocol, QuorumSasl.ServerName);
        var client = new DigestMd5Client("test", "pw", QuorumSasl.Protocol, QuorumSasl.ServerName, () => "c0nce");
        var challenge = server.Evaluate([]);
        var response = Encoding.UTF8.GetString(client.Respond(challenge));
        Assert.Contains("digest-uri=\"zookeeper-quorum/zk-quorum-sasl-md5\"", response);
        Assert.Contains("realm=\"zk-quorum-sasl-md5\"", response);
        var final = server.Evaluate(Encoding.UTF8.GetBytes(response));
        Assert.True(server.IsComplete);
        client.Verify(final);
        Assert.Throws<SaslFailure>(() => client.Verify("rspauth=00000000000000000000000000000000"u8.ToArray()));
    }

    private static async Task<(NetworkStream Learner, NetworkStream Server)> ConnectedPairAsync()
    {
        using var listener = new Socket(SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!);
        var accepted = await listener.AcceptAsync();
        return (new NetworkStream(client, ownsSocket: true), new NetworkStream(accepted, ownsSocket: true));
    }
}
