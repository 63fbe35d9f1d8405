using SharpKeeper.Server.Metrics;
using SharpKeeper.Server.Processing;

namespace SharpKeeper.Server.Tests.Metrics;

/// <summary>The exposition as Apache's Prometheus provider (simpleclient 0.9.0) writes it, and the ten-minute quantile window.</summary>
public sealed class PrometheusTextTests
{
    [Theory]
    [InlineData(0.0, "0.0")]
    [InlineData(10.0, "10.0")]
    [InlineData(-89.0, "-89.0")]
    [InlineData(1234567.0, "1234567.0")]
    [InlineData(0.017, "0.017")]
    [InlineData(0.001, "0.001")]
    [InlineData(1e7, "1.0E7")]
    [InlineData(12345678.0, "1.2345678E7")]
    [InlineData(1650284411.123, "1.650284411123E9")]
    [InlineData(1e-4, "1.0E-4")]
    [InlineData(0.00012345, "1.2345E-4")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NegativeInfinity, "-Inf")]
    public void NumbersArePrintedAsJavasDoubleToString(double value, string expected) =>
        Assert.Equal(expected, PrometheusText.JavaDouble(value));

    [Fact]
    public void FamiliesHaveHelpTypeAndLabelsEachFollowedByAComma()
    {
        var text = new PrometheusText();
        text.BeginFamily("cc", "summary");
        text.Sample("cc", 10, ("quantile", "0.5"));
        text.Sample("cc_count", 2);
        text.Sample("cc_sum", 20);
        text.BeginFamily("write_per_namespace", "summary");
        text.BeginFamily("jvm_info", "gauge", "JVM version info");
        text.Sample("jvm_info", 1, ("version", "a\"b\\c\nd"), ("vendor", "v"));
        Assert.Equal(
            "# HELP cc cc\n# TYPE cc summary\ncc{quantile=\"0.5\",} 10.0\ncc_count 2.0\ncc_sum 20.0\n"
            + "# HELP write_per_namespace write_per_namespace\n# TYPE write_per_namespace summary\n"
            + "# HELP jvm_info JVM version info\n# TYPE jvm_info gauge\njvm_info{version=\"a\\\"b\\\\c\\nd\",vendor=\"v\",} 1.0\n",
            text.ToString());
    }

    [Fact]
    public void ANameFilterKeepsOnlyTheNamedSamplesAndDropsEmptiedFamilies()
    {
        var text = new PrometheusText(new HashSet<string> { "cc_count", "gg" });
        text.BeginFamily("cc", "summary");
        text.Sample("cc", 10, ("quantile", "0.5"));
        text.Sample("cc_count", 2);
        text.BeginFamily("empty", "summary");
        text.BeginFamily("other", "gauge");
        text.Sample("other", 1);
        text.BeginFamily("gg", "gauge");
        text.Sample("gg", 78);
        Assert.Equal("# HELP cc cc\n# TYPE cc summary\ncc_count 2.0\n# HELP gg gg\n# TYPE gg gauge\ngg 78.0\n", text.ToString());
    }

    [Fact]
    public void QuantilesComeFromTheLastTenMinutesAndAreNaNWithout()
    {
        var window = new QuantileWindow();
        var values = new double[3];
        window.Quantiles([0.5, 0.9, 0.99], values, nowMillis: 1_000_000);
        Assert.All(values, v => Assert.True(double.IsNaN(v)));

        for (var i = 1; i <= 100; i++)
        {
            window.Add(i, nowMillis: 1_000_000 + i);
        }

        window.Quantiles([0.5, 0.9, 0.99], values, nowMillis: 1_000_200);
        Assert.Equal([50.0, 90.0, 99.0], values);

        // Eleven minutes on, those observations have left the window.
        window.Quantiles([0.5], values, nowMillis: 1_000_000 + 11 * 60_000);
        Assert.True(double.IsNaN(values[0]));
    }

    [Fact]
    public void AWindowKeepsAFixedSampleUnderAnyLoad()
    {
        var window = new QuantileWindow();
        for (var i = 0; i < 100_000; i++)
        {
            window.Add(i % 1000, nowMillis: 5_000);
        }

        var values = new double[1];
        window.Quantiles([0.5], values, nowMillis: 5_000);

        // A uniform sample of 0..999: its median is near 500.
        Assert.InRange(values[0], 400, 600);
    }

    [Fact]
    public void SummaryCountsAndSumsSurviveAResetOfMntrsFigures()
    {
        var summary = new MetricSummary("fsynctime");
        summary.Record(4);
        summary.Record(6);
        summary.Reset();
        Assert.Equal((0L, 0L, 0L, 0L), summary.Read());
        var (count, sum, quantiles) = summary.ReadWindow([0.5]);
        Assert.Equal((2L, 10L), (count, sum));
        Assert.Equal(4.0, quantiles[0]);
    }
}
