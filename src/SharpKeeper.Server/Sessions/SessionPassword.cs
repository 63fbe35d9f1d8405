namespace SharpKeeper.Server.Sessions;

/// <summary>
/// Session passwords derived from the session id exactly as Apache ZooKeeper derives them (its
/// java.util.Random seeded with id XOR a fixed secret), so any server of a mixed ensemble can
/// validate a reconnecting client without sharing state.
/// </summary>
public static class SessionPassword
{
    public const int Length = 16;
    private const long SuperSecret = 0xB3415C00L;
    private const long Multiplier = 0x5DEECE66DL;
    private const long Mask = (1L << 48) - 1;

    public static byte[] For(long sessionId)
    {
        var seed = ((sessionId ^ SuperSecret) ^ Multiplier) & Mask;
        var bytes = new byte[Length];
        for (var i = 0; i < Length;)
        {
            seed = (seed * Multiplier + 0xBL) & Mask;
            var random = (int)((ulong)seed >> 16);
            for (var n = Math.Min(Length - i, 4); n-- > 0; random >>= 8)
            {
                bytes[i++] = (byte)random;
            }
        }

        return bytes;
    }

    public static bool Matches(long sessionId, ReadOnlySpan<byte> password) => password.SequenceEqual(For(sessionId));
}
