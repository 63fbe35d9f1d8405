using System.Buffers.Binary;
using System.Text;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Config;
using SharpKeeper.Server.Persistence;

namespace SharpKeeper.Server.Quorum.Reconfig;

/// <summary>
/// A reconfig's txn (type 16) carries its membership as the data of a SetDataTxn on /zookeeper/config;
/// learners read the proposed membership from the PROPOSAL, as Apache's do.
/// </summary>
public static class ReconfigTxn
{
    /// <summary>Where the type sits in a serialized TxnHeader: after clientId, cxid, zxid and time.</summary>
    private const int TypeOffset = 8 + 4 + 8 + 8;

    /// <summary>The membership a serialized txn (TxnHeader then body) proposes; null for any other txn.</summary>
    public static QuorumVerifier? MembershipOf(byte[] body, bool multiAddressEnabled)
    {
        if (body.Length < TypeOffset + 4 || (OpCode)BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(TypeOffset)) != OpCode.Reconfig)
        {
            return null;
        }

        var (header, txn) = TxnLogFormat.DecodeBody(body);
        return MembershipOf(header, txn, multiAddressEnabled);
    }

    public static QuorumVerifier? MembershipOf(in TxnHeader header, Txn txn, bool multiAddressEnabled)
    {
        if (header.Type != OpCode.Reconfig || txn is not SetDataTxn { Data: { } data })
        {
            return null;
        }

        try
        {
            return QuorumVerifier.Parse(Encoding.UTF8.GetString(data), $"reconfig 0x{header.Zxid:x}", multiAddressEnabled);
        }
        catch (ConfigException e)
        {
            throw new InvalidDataException($"the reconfig txn 0x{header.Zxid:x} carries no membership: {e.Message}", e);
        }
    }
}
