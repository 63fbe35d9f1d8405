namespace SharpKeeper.Server.Persistence;

/// <summary>The Adler-32 checksum, which ZooKeeper uses for log records and snapshots.</summary>
public struct Adler32
{
    private const uint Modulus = 65521;

    // The largest n such that 255 * n * (n + 1) / 2 + (n + 1) * (Modulus - 1) fits in 32 bits.
    private const int MaxBlock = 5552;

    private uint _a;
    private uint _b;

    public Adler32()
    {
        _a = 1;
        _b = 0;
    }

    public readonly long Value => ((long)_b << 16) | _a;

    public void Update(ReadOnlySpan<byte> data)
    {
        var a = _a;
        var b = _b;
        while (data.Length > 0)
        {
            var block = data[..Math.Min(MaxBlock, data.Length)];
            foreach (var value in block)
            {
                a += value;
                b += a;
            }

            a %= Modulus;
            b %= Modulus;
            data = data[block.Length..];
        }

        _a = a;
        _b = b;
    }

    public static long Compute(ReadOnlySpan<byte> data)
    {
        var adler = new Adler32();
        adler.Update(data);
        return adler.Value;
    }
}
