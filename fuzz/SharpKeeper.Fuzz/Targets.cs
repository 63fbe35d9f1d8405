using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Auth;
using SharpKeeper.Server.Config;
using SharpKeeper.Server.Network;
using SharpKeeper.Server.Persistence;
using SharpKeeper.Server.Quorum;
using SharpKeeper.Server.Quorum.Election;

namespace SharpKeeper.Fuzz;

/// <summary>Every parser that reads bytes from outside: the network (clients and other servers), the disk, and security files.</summary>
public static class Targets
{
    public const string JksPassword = "changeit";
    private const int MaxBuffer = 1 << 20;

    public static readonly IReadOnlyList<FuzzTarget> All =
    [
        new("connect-request", "a client's ConnectRequest frame body", ConnectRequestBody, typeof(JuteException)),
        new("client-request", "a client's request frame body after the handshake (header and body by type)", ClientRequestBody, typeof(JuteException)),
        new("client-stream", "a client connection's bytes: framing, four-letter words, the ConnectRequest, then requests",
            ClientStream, typeof(JuteException), typeof(ClientFraming.FrameTooLargeException)),
        new("election-stream", "an election connection's bytes: the dialer's greeting, then framed notifications",
            ElectionStream, typeof(InvalidDataException), typeof(EndOfStreamException)),
        new("quorum-packets", "the packets a learner or leader sends on the quorum port, and the txns and forwarded requests inside them",
            QuorumPackets, typeof(JuteException), typeof(InvalidDataException), typeof(EndOfStreamException)),
        new("election-notification", "an election notification (all layouts)", ElectionNotification),
        new("quorum-auth", "the quorum SASL exchange as the accepting server sees it", QuorumAuth,
            typeof(QuorumTransportException), typeof(EndOfStreamException)),
        new("txn-body", "a txn record's body (header and txn by type)", TxnBody, typeof(JuteException)),
        new("txn-log", "a transaction log file", TxnLogFile, typeof(CorruptStoreException)),
        new("snapshot", "a snapshot file", SnapshotFileInput, typeof(CorruptStoreException)),
        new("jks", "a JKS key store (the harness appends the integrity digest, so the fuzzer reaches the entries)",
            JksStoreInput, typeof(CryptographicException)),
        new("pem-store", "a PEM key store file", PemStore, typeof(ConfigException)),
        new("digest-md5-response", "a client's DIGEST-MD5 response, as the server checks it", DigestMd5Response, typeof(SaslFailure)),
        new("digest-md5-challenge", "a server's DIGEST-MD5 challenge and final token, as a learner reads them", DigestMd5Challenge, typeof(SaslFailure)),
        new("jaas", "a JAAS login configuration file", JaasFile, typeof(FormatException)),
    ];

    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);

    private static void ConnectRequestBody(byte[] input)
    {
        var reader = new JuteReader(input);
        ConnectRequest.Read(ref reader);
    }

    private static void ClientRequestBody(byte[] input)
    {
        var reader = new JuteReader(input);
        RequestDecoding.Decode(ref reader);
    }

    private static void ClientStream(byte[] input)
    {
        var buffer = new System.Buffers.ReadOnlySequence<byte>(input);
        var handshaken = false;
        while (ClientFraming.TryTakeFrame(ref buffer, handshaken, MaxBuffer, out var frame, out var word))
        {
            if (word is not null)
            {
                return;
            }

            var reader = new JuteReader(System.Buffers.BuffersExtensions.ToArray(frame));
            if (handshaken)
            {
                RequestDecoding.Decode(ref reader);
            }
            else
            {
                ConnectRequest.Read(ref reader);
                handshaken = true;
            }
        }
    }

    private static void ElectionStream(byte[] input)
    {
        var stream = new MemoryStream(input, writable: false);
        ElectionChannel.ReadGreetingAsync(stream, CancellationToken.None).GetAwaiter().GetResult();
        var length = new byte[4];
        while (stream.Position < stream.Length)
        {
            Notification.Decode(ElectionChannel.ReadMessageAsync(stream, length, CancellationToken.None).GetAwaiter().GetResult());
        }
    }

    private static void QuorumPackets(byte[] input)
    {
        var stream = new PacketStream(new MemoryStream(input), Stream.Null, MaxBuffer);
        while (true)
        {
            QuorumPacket packet;
            try
            {
                packet = stream.ReadAsync(CancellationToken.None).GetAwaiter().GetResult();
            }
            catch (EndOfStreamException)
            {
                return;
            }

            switch (packet.Type)
            {
                case PacketType.Proposal or PacketType.Inform when packet.Data is { } data:
                    TxnLogFormat.DecodeBody(data);
                    break;
                case PacketType.Request when packet.Data is { Length: >= 16 } data:
                    var type = (SharpKeeper.Protocol.OpCode)System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(12));
                    ForwardedRequest.Decode(data.AsSpan(16), 1, 1, type, packet.AuthInfo);
                    break;
            }
        }
    }

    private static void ElectionNotification(byte[] input) => Notification.Decode(input);

    /// <summary>Made on first use: instrumented code must not run before the fuzzer's runner starts (it writes the coverage map).</summary>
    private static QuorumSasl? _sasl;

    private static void QuorumAuth(byte[] input)
    {
        using var stream = new InputOnlyStream(input);
        _sasl ??= new QuorumSasl(
            new QuorumSaslSettings { ServerRequiresSasl = true, LearnerRequiresSasl = true, LearnerUser = "test", LearnerPassword = "pw", ServerUsers = new Dictionary<string, string> { ["test"] = "pw" } },
            MaxBuffer, NullLogger.Instance);
        _sasl.AuthenticateAsServerAsync(stream, "fuzz", CancellationToken.None).GetAwaiter().GetResult();
    }

    private static void TxnBody(byte[] input) => TxnLogFormat.DecodeBody(input);

    private static void TxnLogFile(byte[] input)
    {
        var path = ScratchFile("log.1", input);
        TxnLogReader.Read(path, (_, _) => { });
    }

    private static void SnapshotFileInput(byte[] input)
    {
        var path = ScratchFile("snapshot.0", input);
        SnapshotFile.Read(path);
    }

    private static readonly byte[] JksWhitener = [.. Encoding.BigEndianUnicode.GetBytes(JksPassword), .. "Mighty Aphrodite"u8];

    private static void JksStoreInput(byte[] body)
    {
        // Corpus files are whole stores: their own digest is dropped and a right one appended.
        var content = body.Length >= 20 ? body.AsSpan(0, body.Length - 20) : body;
        var digest = SHA1.HashData([.. JksWhitener, .. content]);
        JksStore.Read([.. content, .. digest], JksPassword);
    }

    private static void PemStore(byte[] input)
    {
        var path = ScratchFile("store.pem", input);
        CertificateStores.LoadKeyStore(new StoreSettings(path, JksPassword, "PEM", new ConfigSource("zoo.cfg", 1, "ssl.keyStore.location")));
    }

    private static void DigestMd5Response(byte[] input)
    {
        var server = new DigestMd5Server(user => user == "test" ? "pw" : null, () => "n0nce");
        server.Evaluate([]);
        server.Evaluate(input);
    }

    private static void DigestMd5Challenge(byte[] input)
    {
        var client = new DigestMd5Client("test", "pw", QuorumSasl.Protocol, QuorumSasl.ServerName, () => "c0nce");
        client.Respond(input);
        client.Verify(input);
    }

    private static void JaasFile(byte[] input) => JaasConfig.Parse(Encoding.UTF8.GetString(input));

    private static readonly string ScratchDirectory = CreateScratchDirectory();

    private static string CreateScratchDirectory()
    {
        var directory = Directory.CreateTempSubdirectory("sharpkeeper-fuzz-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(directory, recursive: true);
        return directory;
    }

    private static string ScratchFile(string name, byte[] content)
    {
        var path = Path.Combine(ScratchDirectory, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    /// <summary>Reads the fuzzer's input; what the code under test writes back goes nowhere.</summary>
    private sealed class InputOnlyStream(byte[] input) : MemoryStream(input, writable: false)
    {
        public override bool CanWrite => true;

        public override void Write(byte[] buffer, int offset, int count)
        {
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.CompletedTask;

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
    }
}
