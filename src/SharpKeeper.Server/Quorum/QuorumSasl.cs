using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using SharpKeeper.Server.Auth;
using SharpKeeper.Server.Config;
using SharpKeeper.Server.Network;

namespace SharpKeeper.Server.Quorum;

/// <summary>
/// Apache's quorum SASL exchange, run on every connection between servers before its protocol
/// (before FOLLOWERINFO on the quorum port; after the initial message on the election port): the
/// server that connected is the SASL client ("learner"), the one that accepted the SASL server. Each
/// message is a QuorumAuthPacket (long magic, int status, buffer token) without a length prefix;
/// DIGEST-MD5 takes four: the learner's empty token, the challenge, the response, and SUCCESS with
/// rspauth. A server that does not require SASL looks at the first 8 bytes and, when they are not
/// the magic, gives them back to the protocol: a learner without SASL is let in.
/// </summary>
public sealed class QuorumSasl(QuorumSaslSettings settings, int maxToken, ILogger logger)
{
    /// <summary>The magic Apache writes as -0xa0dbcafecafe1234L, which Java's long arithmetic makes this positive value.</summary>
    public const long Magic = 0x5F2435013501EDCC;
    public const string Protocol = "zookeeper-quorum";
    public const string ServerName = "zk-quorum-sasl-md5";
    public const int InProgress = 0;
    public const int Success = 1;
    public const int Error = -1;
    private const int MaxRounds = 5;

    /// <summary>As the server that connected: proves this server's credentials (when learnerRequireSasl); throws <see cref="QuorumTransportException"/> when refused.</summary>
    public async Task AuthenticateAsLearnerAsync(Stream stream, string server, CancellationToken cancellationToken)
    {
        if (!settings.LearnerRequiresSasl)
        {
            return;
        }

        var client = new DigestMd5Client(settings.LearnerUser!, settings.LearnerPassword!, Protocol, ServerName);
        await WriteAsync(stream, InProgress, [], cancellationToken).ConfigureAwait(false);
        for (var round = 0; ; round++)
        {
            var (status, token) = await ReadAsync(stream, cancellationToken).ConfigureAwait(false);
            try
            {
                switch (status)
                {
                    case Success:
                        client.Verify(token ?? []);
                        logger.LogDebug("Authenticated to server {Server} with SASL DIGEST-MD5 as {User}", server, settings.LearnerUser);
                        return;
                    case InProgress when round < MaxRounds && token is not null:
                        await WriteAsync(stream, InProgress, client.Respond(token), cancellationToken).ConfigureAwait(false);
                        break;
                    default:
                        throw new SaslFailure($"the server answered status {status}");
                }
            }
            catch (SaslFailure e)
            {
                throw new QuorumTransportException($"SASL authentication as {settings.LearnerUser} failed against server {server}: {e.Message}");
            }
        }
    }

    /// <summary>
    /// As the server that accepted: checks the connecting server's credentials. Returns the stream to
    /// go on with (the bytes looked at are given back when it did not try SASL and none is required);
    /// throws <see cref="QuorumTransportException"/> when it is refused.
    /// </summary>
    public async Task<Stream> AuthenticateAsServerAsync(Stream stream, string learner, CancellationToken cancellationToken)
    {
        var head = new byte[8];
        var read = await stream.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (read < head.Length || BinaryPrimitives.ReadInt64BigEndian(head) != Magic)
        {
            if (settings.ServerRequiresSasl)
            {
                throw Refused(learner, "it did not try to authenticate and quorum.auth.serverRequireSasl is set");
            }

            return new PrefixedStream(stream, head.AsMemory(0, read));
        }

        var server = new DigestMd5Server(user => settings.ServerUsers.GetValueOrDefault(user), protocol: Protocol, realm: ServerName);
        try
        {
            var (_, token) = await ReadAfterMagicAsync(stream, cancellationToken).ConfigureAwait(false);
            for (var round = 0; ; round++)
            {
                var answer = server.Evaluate(token ?? []);
                if (server.IsComplete)
                {
                    await WriteAsync(stream, Success, answer, cancellationToken).ConfigureAwait(false);
                    logger.LogInformation("Server at {Learner} authenticated with SASL DIGEST-MD5 as {User}", learner, server.AuthorizationId);
                    return stream;
                }

                if (round >= MaxRounds)
                {
                    throw new SaslFailure($"no result after {MaxRounds} rounds");
                }

                await WriteAsync(stream, InProgress, answer, cancellationToken).ConfigureAwait(false);
                (var status, token) = await ReadAsync(stream, cancellationToken).ConfigureAwait(false);
                if (status != InProgress)
                {
                    throw new SaslFailure($"the learner sent status {status}");
                }
            }
        }
        catch (SaslFailure e)
        {
            await WriteAsync(stream, Error, [], cancellationToken).ConfigureAwait(false);
            if (settings.ServerRequiresSasl)
            {
                throw Refused(learner, e.Message);
            }

            logger.LogWarning("Server at {Learner} failed SASL authentication ({Reason}); let in, as quorum.auth.serverRequireSasl is not set", learner, e.Message);
            return stream;
        }
    }

    private QuorumTransportException Refused(string learner, string reason)
    {
        logger.LogError("Refused server at {Learner}: SASL authentication failed ({Reason})", learner, reason);
        return new QuorumTransportException($"SASL authentication of {learner} failed: {reason}");
    }

    private async Task<(int Status, byte[]? Token)> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var magic = new byte[8];
        await stream.ReadExactlyAsync(magic, cancellationToken).ConfigureAwait(false);
        if (BinaryPrimitives.ReadInt64BigEndian(magic) != Magic)
        {
            throw new SaslFailure($"a quorum auth packet with magic 0x{BinaryPrimitives.ReadInt64BigEndian(magic):x}");
        }

        return await ReadAfterMagicAsync(stream, cancellationToken).ConfigureAwait(false);
    }

    private async Task<(int Status, byte[]? Token)> ReadAfterMagicAsync(Stream stream, CancellationToken cancellationToken)
    {
        var header = new byte[8];
        await stream.ReadExactlyAsync(header, cancellationToken).ConfigureAwait(false);
        var status = BinaryPrimitives.ReadInt32BigEndian(header);
        var length = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(4));
        if (length < -1 || length > maxToken)
        {
            throw new SaslFailure($"a quorum auth token of {length} bytes");
        }

        if (length < 0)
        {
            return (status, null);
        }

        var token = new byte[length];
        await stream.ReadExactlyAsync(token, cancellationToken).ConfigureAwait(false);
        return (status, token);
    }

    private static async Task WriteAsync(Stream stream, int status, byte[] token, CancellationToken cancellationToken)
    {
        var packet = new byte[16 + token.Length];
        BinaryPrimitives.WriteInt64BigEndian(packet, Magic);
        BinaryPrimitives.WriteInt32BigEndian(packet.AsSpan(8), status);
        BinaryPrimitives.WriteInt32BigEndian(packet.AsSpan(12), token.Length);
        token.CopyTo(packet, 16);
        await stream.WriteAsync(packet, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
