using System.Buffers;
using System.Buffers.Binary;

namespace SharpKeeper.Server.Network;

/// <summary>
/// How a client's byte stream splits into frames: a big-endian int length, then that many bytes;
/// before the handshake, a four-letter word (ruok, stat, ...) in place of the length. A length below
/// zero or above jute.maxbuffer throws <see cref="FrameTooLargeException"/> (the connection is closed).
/// </summary>
public static class ClientFraming
{
    public sealed class FrameTooLargeException(int length) : Exception($"frame length {length} is out of range")
    {
        public int Length { get; } = length;
    }

    /// <summary>Takes the next whole frame (or four-letter word) off the front of <paramref name="buffer"/>; false when it is not all there yet.</summary>
    public static bool TryTakeFrame(ref ReadOnlySequence<byte> buffer, bool handshaken, int maxFrame, out ReadOnlySequence<byte> frame, out string? fourLetterWord)
    {
        frame = default;
        fourLetterWord = null;
        if (buffer.Length < 4)
        {
            return false;
        }

        Span<byte> prefix = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(prefix);
        if (!handshaken && FourLetterWords.TryParse(prefix, out var word))
        {
            fourLetterWord = word;
            buffer = buffer.Slice(4);
            return true;
        }

        var length = BinaryPrimitives.ReadInt32BigEndian(prefix);
        if (length < 0 || length > maxFrame)
        {
            throw new FrameTooLargeException(length);
        }

        if (buffer.Length < 4L + length)
        {
            return false;
        }

        frame = buffer.Slice(4, length);
        buffer = buffer.Slice(4 + length);
        return true;
    }
}
