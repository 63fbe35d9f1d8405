using System.Buffers.Binary;
using System.Text;

namespace SharpKeeper.Protocol.Jute;

/// <summary>
/// Decodes jute primitives (big-endian ints and longs, length-prefixed buffers, strings and vectors)
/// from one contiguous frame. Every read is bounds-checked; a short or malformed frame throws
/// <see cref="JuteException"/> rather than reading past the end.
/// </summary>
public ref struct JuteReader(ReadOnlySpan<byte> source)
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);
    private readonly ReadOnlySpan<byte> _source = source;
    private int _position;

    public readonly int Position => _position;
    public readonly int Remaining => _source.Length - _position;
    public readonly bool AtEnd => _position >= _source.Length;

    public int ReadInt()
    {
        var value = BinaryPrimitives.ReadInt32BigEndian(Take(4));
        return value;
    }

    public long ReadLong() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

    public bool ReadBool() => Take(1)[0] != 0;

    /// <summary>A jute buffer: -1 length means null.</summary>
    public byte[]? ReadBuffer()
    {
        var length = ReadLength();
        return length < 0 ? null : Take(length).ToArray();
    }

    /// <summary>Reads a buffer without copying; the span is only valid while the frame is.</summary>
    public ReadOnlySpan<byte> ReadBufferSpan(out bool isNull)
    {
        var length = ReadLength();
        isNull = length < 0;
        return isNull ? default : Take(length);
    }

    public string? ReadString()
    {
        var length = ReadLength();
        if (length < 0)
        {
            return null;
        }

        try
        {
            return StrictUtf8.GetString(Take(length));
        }
        catch (DecoderFallbackException)
        {
            throw new JuteException("string is not valid UTF-8");
        }
    }

    /// <summary>Reads a string that must be present (null is decoded as empty, as ZooKeeper's server does).</summary>
    public string ReadRequiredString() => ReadString() ?? string.Empty;

    /// <summary>Reads a vector length; -1 (null) is returned as -1. Guards against lengths the frame cannot hold.</summary>
    public int ReadVectorLength(int minElementSize)
    {
        var count = ReadInt();
        if (count < -1 || (count > 0 && (long)count * Math.Max(1, minElementSize) > Remaining))
        {
            throw new JuteException($"vector length {count} exceeds the frame");
        }

        return count;
    }

    public List<string>? ReadStringVector()
    {
        var count = ReadVectorLength(4);
        if (count < 0)
        {
            return null;
        }

        var list = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            list.Add(ReadRequiredString());
        }

        return list;
    }

    private int ReadLength()
    {
        var length = ReadInt();
        if (length < -1 || length > Remaining)
        {
            throw new JuteException($"length {length} exceeds the frame ({Remaining} bytes left)");
        }

        return length;
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count > _source.Length - _position)
        {
            throw new JuteException($"record truncated: wanted {count} bytes, {_source.Length - _position} left");
        }

        var slice = _source.Slice(_position, count);
        _position += count;
        return slice;
    }
}
