namespace SharpKeeper.Protocol.Jute;

/// <summary>A record could not be decoded: truncated, a negative or oversized length, or bad UTF-8.</summary>
public sealed class JuteException(string message) : Exception(message);
