using System.Net;
using SharpKeeper.Server.Admin;

namespace SharpKeeper.Server.Tests.Admin;

/// <summary>Values printed as the JVM prints them (expected strings taken from a Java 17 run).</summary>
public sealed class JavaTextTests
{
    [Theory]
    [InlineData(0.0, "0.0")]
    [InlineData(0.001, "0.001")]
    [InlineData(8.9, "8.9")]
    [InlineData(2.3333, "2.3333")]
    [InlineData(78.0, "78.0")]
    [InlineData(0.0002, "2.0E-4")]
    [InlineData(0.00012, "1.2E-4")]
    [InlineData(1e7, "1.0E7")]
    [InlineData(12345678.5, "1.23456785E7")]
    [InlineData(-0.5, "-0.5")]
    public void DoublesPrintAsJavaDoubleToString(double value, string expected) => Assert.Equal(expected, JavaText.Double(value));

    [Theory]
    [InlineData(0.0, "0.0")]
    [InlineData(10.0 / 3, "3.3333")]
    [InlineData(2.0 / 3, "0.6667")]
    [InlineData(1.0 / 5000, "2.0E-4")]
    [InlineData(0.03125, "0.0313")]
    [InlineData(85.0 / 4, "21.25")]
    public void AveragesRoundHalfUpToFourDecimals(double value, string expected) => Assert.Equal(expected, JavaText.Average(value));

    [Theory]
    [InlineData("127.0.0.1", 2181, "/127.0.0.1:2181")]
    [InlineData("::1", 2181, "/[0:0:0:0:0:0:0:1]:2181")]
    [InlineData("2001:db8::ab:0:1", 2181, "/[2001:db8:0:0:0:ab:0:1]:2181")]
    [InlineData("fe80::1%1", 2181, "/[fe80:0:0:0:0:0:0:1%1]:2181")]
    [InlineData("::ffff:127.0.0.1", 2181, "/127.0.0.1:2181")]
    public void SocketAddressesPrintAsInetSocketAddress(string address, int port, string expected) =>
        Assert.Equal(expected, JavaText.SocketAddress(new IPEndPoint(IPAddress.Parse(address), port)));

    [Fact]
    public void DatesPrintAsJavaUtilDateInUtc() =>
        Assert.Equal("Sun Nov 22 13:34:02 UTC 2026", JavaText.Date(new DateTimeOffset(2026, 11, 22, 13, 34, 2, TimeSpan.Zero).ToUnixTimeMilliseconds()));

    [Fact]
    public void HexIsTwosComplementLikeLongToHexString()
    {
        Assert.Equal("ffffffffffffffff", JavaText.Hex(-1));
        Assert.Equal("10000592fad0000", JavaText.Hex(0x10000592fad0000));
        Assert.Equal("0", JavaText.Hex(0));
    }
}
