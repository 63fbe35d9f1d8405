using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SharpKeeper.Server.Admin;

/// <summary>
/// Values printed the way the JVM prints them, so scripts that parse Apache ZooKeeper's
/// four-letter words read ours unchanged.
/// </summary>
public static class JavaText
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Java's Double.toString: "0.0", "8.9", "78.0", and scientific below 10^-3 or from 10^7 ("2.0E-4", "1.0E7").</summary>
    public static string Double(double value)
    {
        if (double.IsNaN(value) || double.IsInfinity(value))
        {
            return double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
        }

        if (value == 0)
        {
            return double.IsNegative(value) ? "-0.0" : "0.0";
        }

        var magnitude = Math.Abs(value);
        if (magnitude is >= 1e-3 and < 1e7)
        {
            var plain = value.ToString("R", Invariant);
            return plain.Contains('.', StringComparison.Ordinal) ? plain : plain + ".0";
        }

        // Shortest round-trip digits, re-laid out as d.ddd...E<exponent>.
        var text = magnitude.ToString("R", Invariant);
        var exponent = 0;
        var e = text.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            exponent = int.Parse(text.AsSpan(e + 1), NumberStyles.AllowLeadingSign, Invariant);
            text = text[..e];
        }

        var dot = text.IndexOf('.', StringComparison.Ordinal);
        var digits = dot >= 0 ? text.Remove(dot, 1) : text;
        var point = dot >= 0 ? dot : text.Length;
        var leadingZeros = 0;
        while (leadingZeros < digits.Length - 1 && digits[leadingZeros] == '0')
        {
            leadingZeros++;
        }

        digits = digits[leadingZeros..].TrimEnd('0');
        point -= leadingZeros;
        if (digits.Length == 0)
        {
            digits = "0";
        }

        var mantissa = digits.Length > 1 ? $"{digits[0]}.{digits[1..]}" : $"{digits[0]}.0";
        return $"{(value < 0 ? "-" : "")}{mantissa}E{(point + exponent - 1).ToString(Invariant)}";
    }

    /// <summary>An average as ZooKeeper's counters report it: rounded half-up to four decimals, printed as a Java double.</summary>
    public static string Average(double value) => Double(Math.Round(value, 4, MidpointRounding.AwayFromZero));

    /// <summary>InetSocketAddress.toString of an unresolved peer: "/127.0.0.1:2181", "/[0:0:0:0:0:0:0:1]:2181".</summary>
    public static string SocketAddress(IPEndPoint endpoint) => $"/{Address(endpoint.Address, bracketV6: true)}:{endpoint.Port.ToString(Invariant)}";

    /// <summary>InetAddress.getHostAddress: dotted IPv4, or all eight IPv6 groups uncompressed with an optional %scope.</summary>
    public static string Address(IPAddress address, bool bracketV6 = false)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        var text = new StringBuilder(bracketV6 ? "[" : "");
        for (var i = 0; i < 16; i += 2)
        {
            if (i > 0)
            {
                text.Append(':');
            }

            text.Append(((bytes[i] << 8) | bytes[i + 1]).ToString("x", Invariant));
        }

        if (address.ScopeId != 0)
        {
            text.Append('%').Append(address.ScopeId.ToString(Invariant));
        }

        return text.Append(bracketV6 ? "]" : "").ToString();
    }

    /// <summary>java.util.Date.toString ("Sun Nov 22 13:34:42 UTC 2026"), always in UTC.</summary>
    public static string Date(long epochMillis) =>
        DateTimeOffset.FromUnixTimeMilliseconds(epochMillis).UtcDateTime.ToString("ddd MMM dd HH:mm:ss 'UTC' yyyy", Invariant);

    /// <summary>Long.toHexString: two's complement, lower case, no padding (-1 is ffffffffffffffff).</summary>
    public static string Hex(long value) => value.ToString("x", Invariant);
}
