namespace SharpKeeper.Server.Quorum;

/// <summary>
/// Committed txns read from the txn log for a learner older than the history in memory: every txn
/// after its last zxid through <paramref name="Through"/>; <paramref name="Reason"/> says why the log was used.
/// </summary>
public sealed record LoggedTxns(long Through, IReadOnlyList<(long Zxid, byte[] Body)> Txns, long Bytes, string Reason);
