using System.Globalization;
using System.Text;

namespace SharpKeeper.Server.Metrics;

/// <summary>
/// Prometheus' text exposition format 0.0.4 as Apache ZooKeeper's Prometheus provider writes it
/// (simpleclient 0.9.0): HELP and TYPE lines, every label followed by a comma, numbers as Java's
/// Double.toString prints them. With a name filter (the name[] query parameter) only the samples
/// named are kept and a family left with none is dropped.
/// </summary>
public sealed class PrometheusText(IReadOnlySet<string>? names = null)
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;
    private readonly StringBuilder _text = new();
    private readonly StringBuilder _family = new();
    private string? _familyName;
    private int _samples;

    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public void BeginFamily(string name, string type, string? help = null)
    {
        EndFamily();
        _familyName = name;
        _samples = 0;
        _family.Clear();
        _family.Append("# HELP ").Append(name).Append(' ');
        AppendEscaped(_family, help ?? name, escapeQuotes: false);
        _family.Append("\n# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
    }

    public void Sample(string sampleName, double value, params (string Name, string Value)[] labels)
    {
        if (names is not null && !names.Contains(sampleName))
        {
            return;
        }

        _samples++;
        _family.Append(sampleName);
        if (labels.Length > 0)
        {
            _family.Append('{');
            foreach (var (label, text) in labels)
            {
                _family.Append(label).Append("=\"");
                AppendEscaped(_family, text, escapeQuotes: true);
                _family.Append("\",");
            }

            _family.Append('}');
        }

        _family.Append(' ').Append(JavaDouble(value)).Append('\n');
    }

    public override string ToString()
    {
        EndFamily();
        return _text.ToString();
    }

    private void EndFamily()
    {
        // Unfiltered, a family with no samples yet still shows its HELP and TYPE, as simpleclient's do.
        if (_familyName is not null && (names is null || _samples > 0))
        {
            _text.Append(_family);
        }

        _familyName = null;
    }

    private static void AppendEscaped(StringBuilder text, string value, bool escapeQuotes)
    {
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\':
                    text.Append(@"\\");
                    break;
                case '\n':
                    text.Append(@"\n");
                    break;
                case '"' when escapeQuotes:
                    text.Append("\\\"");
                    break;
                default:
                    text.Append(c);
                    break;
            }
        }
    }

    /// <summary>
    /// A double as Java's Double.toString (which simpleclient prints): "0.0" and "12.0" for whole
    /// numbers, plain decimals from 10^-3 up to 10^7, else "1.2345678E7"; "NaN", "+Inf", "-Inf".
    /// </summary>
    public static string JavaDouble(double value)
    {
        if (double.IsNaN(value))
        {
            return "NaN";
        }

        if (double.IsInfinity(value))
        {
            return value > 0 ? "+Inf" : "-Inf";
        }

        if (value == 0)
        {
            return double.IsNegative(value) ? "-0.0" : "0.0";
        }

        var sign = value < 0 ? "-" : "";
        var magnitude = Math.Abs(value);
        if (magnitude is >= 1e-3 and < 1e7)
        {
            var plain = magnitude.ToString("R", Invariant);
            return sign + (plain.Contains('.', StringComparison.Ordinal) ? plain : plain + ".0");
        }

        return sign + Scientific(magnitude);
    }

    /// <summary>The shortest round-tripping digits as d.dddE&lt;exponent&gt;, Java's form.</summary>
    private static string Scientific(double magnitude)
    {
        var shortest = magnitude.ToString("R", Invariant);
        string digits;
        int exponent;
        var e = shortest.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            var mantissa = shortest[..e];
            exponent = int.Parse(shortest[(e + 1)..], NumberStyles.AllowLeadingSign, Invariant);
            var point = mantissa.IndexOf('.', StringComparison.Ordinal);
            digits = point < 0 ? mantissa : mantissa[..point] + mantissa[(point + 1)..];
        }
        else
        {
            var point = shortest.IndexOf('.', StringComparison.Ordinal);
            var whole = point < 0 ? shortest : shortest[..point];
            var all = whole + (point < 0 ? "" : shortest[(point + 1)..]);
            var first = 0;
            while (first < all.Length - 1 && all[first] == '0')
            {
                first++;
            }

            exponent = whole.Length - 1 - first;
            digits = all[first..];
        }

        digits = digits.TrimEnd('0');
        if (digits.Length == 0)
        {
            digits = "0";
        }

        return digits[0] + "." + (digits.Length > 1 ? digits[1..] : "0") + "E" + exponent.ToString(Invariant);
    }
}
