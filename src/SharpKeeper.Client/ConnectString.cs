using System.Globalization;
using SharpKeeper.Protocol;

namespace SharpKeeper.Client;

/// <summary>A parsed connect string: the servers to try and the optional chroot.</summary>
internal sealed record ConnectString(IReadOnlyList<(string Host, int Port)> Hosts, string? Chroot)
{
    public const int DefaultPort = 2181;

    public static ConnectString Parse(string text)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        string? chroot = null;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var hostPart = text;
        if (slash >= 0)
        {
            chroot = NormalizeChroot(text[slash..]);
            hostPart = text[..slash];
        }

        var hosts = new List<(string, int)>();
        foreach (var entry in hostPart.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            hosts.Add(ParseHost(entry));
        }

        if (hosts.Count == 0)
        {
            throw new ArgumentException($"connect string '{text}' names no server", nameof(text));
        }

        return new ConnectString(hosts, chroot);
    }

    /// <summary>Null for no chroot ("/" or empty); otherwise a validated absolute path.</summary>
    public static string? NormalizeChroot(string? chroot)
    {
        if (string.IsNullOrEmpty(chroot) || chroot == "/")
        {
            return null;
        }

        var error = ZkPath.Validate(chroot);
        return error is null ? chroot : throw new ArgumentException($"invalid chroot '{chroot}': {error}", nameof(chroot));
    }

    private static (string, int) ParseHost(string entry)
    {
        string host;
        string? port = null;
        if (entry.StartsWith('['))
        {
            var close = entry.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new ArgumentException($"unterminated IPv6 address in '{entry}'", nameof(entry));
            }

            host = entry[1..close];
            var rest = entry[(close + 1)..];
            if (rest.Length > 0)
            {
                port = rest[0] == ':' ? rest[1..] : throw new ArgumentException($"bad server address '{entry}'", nameof(entry));
            }
        }
        else
        {
            var colon = entry.LastIndexOf(':');
            if (colon >= 0 && entry.IndexOf(':', StringComparison.Ordinal) == colon)
            {
                host = entry[..colon];
                port = entry[(colon + 1)..];
            }
            else
            {
                host = entry;
            }
        }

        if (host.Length == 0)
        {
            throw new ArgumentException($"bad server address '{entry}'", nameof(entry));
        }

        if (port is null)
        {
            return (host, DefaultPort);
        }

        return int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number is > 0 and <= 65535
            ? (host, number)
            : throw new ArgumentException($"bad port in '{entry}'", nameof(entry));
    }
}

/// <summary>Maps paths between the application's view (under the chroot) and the server's.</summary>
internal static class ChrootPath
{
    public static string ToServer(string? chroot, string clientPath)
    {
        if (chroot is null)
        {
            return clientPath;
        }

        return clientPath == "/" ? chroot : chroot + clientPath;
    }

    public static string ToClient(string? chroot, string serverPath)
    {
        if (chroot is null || !serverPath.StartsWith(chroot, StringComparison.Ordinal))
        {
            return serverPath;
        }

        if (serverPath.Length == chroot.Length)
        {
            return "/";
        }

        return serverPath[chroot.Length] == '/' ? serverPath[chroot.Length..] : serverPath;
    }

    public static List<string> ToServer(string? chroot, List<string> paths) =>
        chroot is null ? paths : paths.ConvertAll(p => ToServer(chroot, p));
}
