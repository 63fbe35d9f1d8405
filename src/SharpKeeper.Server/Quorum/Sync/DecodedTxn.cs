using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Persistence;

namespace SharpKeeper.Server.Quorum.Sync;

/// <summary>A PROPOSAL's or INFORM's txn, decoded where the packet was read (off the core thread); <see cref="Body"/> is the record as logged.</summary>
public sealed record DecodedTxn(TxnHeader Header, Txn Txn, byte[] Body)
{
    /// <summary>The txn a PROPOSAL or INFORM carries; null for every other packet.</summary>
    public static DecodedTxn? Of(QuorumPacket packet)
    {
        if (packet.Type is not (PacketType.Proposal or PacketType.Inform or PacketType.InformAndActivate))
        {
            return null;
        }

        var body = packet.Data ?? throw new InvalidDataException($"{packet.Type} without data");
        if (packet.Type == PacketType.InformAndActivate)
        {
            // The designated leader's id, then the txn.
            body = body.Length >= 8 ? body[8..] : throw new InvalidDataException("INFORMANDACTIVATE without a designated leader");
        }

        var (header, txn) = TxnLogFormat.DecodeBody(body);
        return new DecodedTxn(header, txn, body);
    }
}
