using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using SharpKeeper.Protocol.Jute;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Auth;
using SharpKeeper.Server.Persistence;
using SharpKeeper.Server.Quorum;
using SharpKeeper.Server.Quorum.Election;

namespace SharpKeeper.Fuzz;

/// <summary>
/// Seeds for the targets whose inputs fuzz/capture-seeds.py does not capture from Apache: written
/// with the encoders servers use on the wire (txn bodies taken from Apache's captured log), a JKS
/// store made by the JDK's keytool, and a PEM store as openssl writes one.
/// </summary>
public static class Seeds
{
    public static void Write(string corpus)
    {
        var txnBodies = TxnBodiesOf(Directory.GetFiles(Path.Combine(corpus, "txn-log")));
        for (var i = 0; i < txnBodies.Count; i++)
        {
            Save(corpus, "txn-body", $"apache-{i:D2}", txnBodies[i]);
        }

        Save(corpus, "quorum-packets", "follower-sync", Packets(
            new QuorumPacket(PacketType.FollowerInfo, Zxid.Make(1, 0), [0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            new QuorumPacket(PacketType.LeaderInfo, Zxid.Make(2, 0), [0, 1, 0, 0]),
            new QuorumPacket(PacketType.AckEpoch, Zxid.Make(1, 5), [0, 0, 0, 1]),
            new QuorumPacket(PacketType.Diff, Zxid.Make(1, 7)),
            new QuorumPacket(PacketType.Proposal, Zxid.Make(1, 6), txnBodies.FirstOrDefault()),
            new QuorumPacket(PacketType.Commit, Zxid.Make(1, 6)),
            new QuorumPacket(PacketType.NewLeader, Zxid.Make(2, 0), Encoding.UTF8.GetBytes("server.1=127.0.0.1:2888:3888:participant\nversion=0")),
            new QuorumPacket(PacketType.UpToDate, -1)));
        Save(corpus, "quorum-packets", "broadcast", Packets(
            new QuorumPacket(PacketType.Proposal, Zxid.Make(2, 1), txnBodies.LastOrDefault()),
            new QuorumPacket(PacketType.Ack, Zxid.Make(2, 1)),
            new QuorumPacket(PacketType.Inform, Zxid.Make(2, 2), txnBodies.FirstOrDefault()),
            new QuorumPacket(PacketType.Ping, Zxid.Make(2, 2), [0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0x75, 0x30]),
            new QuorumPacket(PacketType.Request, 0, ForwardedCreate(), [new Id("digest", "alice:x")]),
            new QuorumPacket(PacketType.Revalidate, 0, [0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0x75, 0x30]),
            new QuorumPacket(PacketType.Sync, 0, [0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 1, (byte)'/'])));

        Save(corpus, "election-notification", "v2-with-config",
            new Notification(PeerState.Looking, 3, Zxid.Make(1, 9), 4, 1, "server.1=127.0.0.1:2888:3888:participant\nversion=0").Encode());
        Save(corpus, "election-notification", "v0-28-bytes", new Notification(PeerState.Following, 2, 5, 1, 1).Encode()[..28]);
        Save(corpus, "election-notification", "v1-40-bytes", new Notification(PeerState.Leading, 2, 5, 1, 1).Encode()[..40]);

        var server = new DigestMd5Server(user => user == "test" ? "pw" : null, () => "n0nce", QuorumSasl.Protocol, QuorumSasl.ServerName);
        var client = new DigestMd5Client("test", "pw", QuorumSasl.Protocol, QuorumSasl.ServerName, () => "c0nce");
        var challenge = server.Evaluate([]);
        var response = client.Respond(challenge);
        var final = server.Evaluate(response);
        Save(corpus, "digest-md5-challenge", "quorum", challenge);
        Save(corpus, "digest-md5-challenge", "rspauth", final);
        var clientServer = new DigestMd5Server(user => user == "test" ? "pw" : null, () => "n0nce");
        var clientResponse = new DigestMd5Client("test", "pw", DigestMd5Server.Protocol, DigestMd5Server.Realm, () => "c0nce").Respond(clientServer.Evaluate([]));
        Save(corpus, "digest-md5-response", "client", clientResponse);
        Save(corpus, "quorum-auth", "learner-first", AuthPacket(QuorumSasl.InProgress, []));
        Save(corpus, "quorum-auth", "plain-learner", Packets(new QuorumPacket(PacketType.FollowerInfo, Zxid.Make(1, 0), new byte[20])));

        Save(corpus, "jaas", "server-and-quorum", Encoding.UTF8.GetBytes("""
            // Users of clients and of other servers.
            Server {
                org.apache.zookeeper.server.auth.DigestLoginModule required
                user_super="adminsecret"
                user_bob="bobsecret";
            };
            QuorumServer { org.apache.zookeeper.server.auth.DigestLoginModule required user_test="mypassword"; };
            QuorumLearner {
                org.apache.zookeeper.server.auth.DigestLoginModule required username="test" password="mypassword";
            };
            /* Kerberos, which SharpKeeper refuses by name. */
            Client { com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true keyTab="/etc/zk.keytab" storeKey=true principal="zk/host@EXAMPLE.COM"; };
            """));

        WriteClientStreams(corpus);
        var greeting = new byte[20 + 15];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(greeting, ElectionChannel.ProtocolVersionV1);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(greeting.AsSpan(8), 3);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(greeting.AsSpan(16), 15);
        "127.0.0.1:13888"u8.CopyTo(greeting.AsSpan(20));
        Save(corpus, "election-stream", "greeting-and-votes", [.. greeting,
            .. Framed(new Notification(PeerState.Looking, 3, Zxid.Make(1, 9), 4, 1, "server.1=127.0.0.1:2888:3888:participant\nversion=0").Encode()),
            .. Framed(new Notification(PeerState.Following, 2, 5, 1, 1).Encode()[..40])]);

        WriteStores(corpus);
    }

    /// <summary>The captured kazoo frames as whole connections: the ConnectRequest, then the requests; and a four-letter word.</summary>
    private static void WriteClientStreams(string corpus)
    {
        var connects = Directory.GetFiles(Path.Combine(corpus, "connect-request")).Order().ToList();
        var requests = Directory.GetFiles(Path.Combine(corpus, "client-request")).Order().ToList();
        if (connects.Count == 0)
        {
            return;
        }

        var stream = new List<byte>(Framed(File.ReadAllBytes(connects[0])));
        foreach (var request in requests)
        {
            stream.AddRange(Framed(File.ReadAllBytes(request)));
        }

        Save(corpus, "client-stream", "kazoo-session", [.. stream]);
        Save(corpus, "client-stream", "ruok", "ruok"u8.ToArray());
    }

    private static byte[] Framed(byte[] body)
    {
        var framed = new byte[4 + body.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(framed, body.Length);
        body.CopyTo(framed, 4);
        return framed;
    }

    private static List<byte[]> TxnBodiesOf(IEnumerable<string> logs)
    {
        var bodies = new List<byte[]>();
        using var scratch = new JuteWriter();
        foreach (var log in logs)
        {
            TxnLogReader.Read(log, (header, txn) =>
            {
                TxnLogFormat.WriteBody(scratch, header, txn);
                bodies.Add(scratch.ToArray());
            });
        }

        return bodies;
    }

    private static byte[] ForwardedCreate()
    {
        using var w = new JuteWriter();
        w.WriteLong(9);
        w.WriteInt(4);
        w.WriteInt((int)SharpKeeper.Protocol.OpCode.Create);
        RequestCodec.WritePathRequest(w, SharpKeeper.Protocol.OpCode.Create, new CreateRequest("/a", [1, 2], [.. Acl.OpenAclUnsafe], 0, 0));
        return w.ToArray();
    }

    private static byte[] Packets(params QuorumPacket[] packets)
    {
        using var w = new JuteWriter();
        foreach (var packet in packets)
        {
            packet.Write(w);
        }

        return w.ToArray();
    }

    private static byte[] AuthPacket(int status, byte[] token)
    {
        using var w = new JuteWriter();
        w.WriteLong(QuorumSasl.Magic);
        w.WriteInt(status);
        w.WriteBuffer(token);
        return w.ToArray();
    }

    /// <summary>A PEM store (chain and PKCS#8 key, plain and encrypted) and a JKS store made by keytool from the same key.</summary>
    private static void WriteStores(string corpus)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=fuzz seed,O=SharpKeeper", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2036, 1, 1, 0, 0, 0, TimeSpan.Zero));
        Save(corpus, "pem-store", "plain-key", Encoding.ASCII.GetBytes(certificate.ExportCertificatePem() + "\n" + key.ExportPkcs8PrivateKeyPem() + "\n"));
        var encrypted = key.ExportEncryptedPkcs8PrivateKeyPem(Targets.JksPassword, new PbeParameters(PbeEncryptionAlgorithm.Aes128Cbc, HashAlgorithmName.SHA256, 2));
        Save(corpus, "pem-store", "encrypted-key", Encoding.ASCII.GetBytes(certificate.ExportCertificatePem() + "\n" + encrypted + "\n"));

        var scratch = Directory.CreateTempSubdirectory("sharpkeeper-seeds-").FullName;
        try
        {
            var p12 = Path.Combine(scratch, "seed.p12");
            File.WriteAllBytes(p12, certificate.Export(X509ContentType.Pkcs12, Targets.JksPassword));
            var jks = Path.Combine(scratch, "seed.jks");
            Keytool("-importkeystore", "-srckeystore", p12, "-srcstoretype", "PKCS12", "-srcstorepass", Targets.JksPassword,
                "-destkeystore", jks, "-deststoretype", "JKS", "-deststorepass", Targets.JksPassword, "-destkeypass", Targets.JksPassword, "-noprompt");
            Save(corpus, "jks", "key-entry", File.ReadAllBytes(jks));
            var pem = Path.Combine(scratch, "seed.crt");
            File.WriteAllText(pem, certificate.ExportCertificatePem());
            var trust = Path.Combine(scratch, "trust.jks");
            Keytool("-importcert", "-noprompt", "-alias", "ca", "-file", pem, "-storetype", "JKS", "-keystore", trust, "-storepass", Targets.JksPassword);
            Save(corpus, "jks", "trusted-certificate", File.ReadAllBytes(trust));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    private static void Keytool(params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo("keytool", arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"keytool failed: {output}");
        }
    }

    private static void Save(string corpus, string target, string name, byte[]? content)
    {
        if (content is null)
        {
            return;
        }

        var directory = Path.Combine(corpus, target);
        Directory.CreateDirectory(directory);
        File.WriteAllBytes(Path.Combine(directory, name), content);
    }
}
