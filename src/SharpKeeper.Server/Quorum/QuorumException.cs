namespace SharpKeeper.Server.Quorum;

/// <summary>The quorum protocol cannot go on in the current role; the server goes back to looking.</summary>
public sealed class QuorumException(string message) : Exception(message);
