using System.Globalization;

namespace SharpKeeper.Server.Config;

/// <summary>
/// Parses the value of a <c>server.N</c> line: <c>host:quorumPort:electionPort[:participant|:observer][;[clientAddress:]clientPort]</c>,
/// with IPv6 addresses in brackets and, with multiAddress.enabled, several addresses joined by '|', as QuorumPeer.QuorumServer reads it.
/// </summary>
internal static class ServerLine
{
    private const string Form = "host:quorumPort:electionPort[:participant|:observer][;[clientAddress:]clientPort]";

    public static ServerSpec Parse(long id, ConfigEntry entry, bool multiAddressEnabled = false)
    {
        var value = entry.Value;
        var parts = value.Split(';');
        var count = parts.Length;
        while (count > 1 && parts[count - 1].Trim().Length == 0)
        {
            count--; // Java's String.split drops trailing empty strings: "a:1:2;" has no client part.
        }

        if (count > 2)
        {
            throw Error(entry, $"'{value}' has more than one ';': expected {Form}");
        }

        var addressTexts = parts[0].Trim().Split('|');
        if (addressTexts.Length > 1 && !multiAddressEnabled)
        {
            throw Error(entry, $"'{value}' lists several addresses ('|'), but multiAddress.enabled is false (set it to true in zoo.cfg or -Dzookeeper.multiAddress.enabled=true)");
        }

        var addresses = new List<ServerAddress>();
        ServerRole? role = null;
        foreach (var addressText in addressTexts)
        {
            var (address, addressRole) = ParseAddress(addressText.Trim(), value, entry);
            if (addressRole is { } stated)
            {
                if (role is { } earlier && earlier != stated)
                {
                    throw Error(entry, $"'{value}' gives its addresses different roles ({earlier} and {stated}): they must be alike");
                }

                role = stated;
            }

            addresses.Add(address);
        }

        string? clientAddress = null;
        int? clientPort = null;
        if (count == 2)
        {
            var clientFields = SplitHostAndPorts(parts[1].Trim(), entry);
            if (clientFields.Length > 2)
            {
                throw Error(entry, $"'{parts[1].Trim()}' is not [clientAddress:]clientPort");
            }

            if (clientFields.Length == 2)
            {
                clientAddress = clientFields[0].Trim();
                if (clientAddress.Length == 0)
                {
                    throw Error(entry, $"'{parts[1].Trim()}' has an empty client address");
                }
            }

            clientPort = Port(clientFields[^1], "client port", entry);
        }

        var first = addresses[0];
        return new ServerSpec(id, first.Host, first.QuorumPort, first.ElectionPort, role ?? ServerRole.Participant, clientAddress, clientPort)
        {
            Addresses = addresses,
        };
    }

    private static (ServerAddress Address, ServerRole? Role) ParseAddress(string serverPart, string value, ConfigEntry entry)
    {
        var fields = SplitHostAndPorts(serverPart, entry);
        if (fields.Length is < 3 or > 4)
        {
            var hint = fields.Length > 4 ? " (an IPv6 address goes in brackets: [::1]:2888:3888)" : "";
            throw Error(entry, $"'{value}' is not {Form}{hint}");
        }

        var host = fields[0].Trim();
        if (host.Length == 0)
        {
            throw Error(entry, $"'{value}' has no host");
        }

        var quorumPort = Port(fields[1], "quorum port", entry);
        var electionPort = Port(fields[2], "election port", entry);
        if (quorumPort == electionPort)
        {
            throw Error(entry, $"the quorum port and the election port must differ (both are {quorumPort})");
        }

        ServerRole? role = null;
        if (fields.Length == 4)
        {
            role = fields[3].Trim().ToLowerInvariant() switch
            {
                "participant" => ServerRole.Participant,
                "observer" => ServerRole.Observer,
                _ => throw Error(entry, $"'{fields[3].Trim()}' is not participant or observer"),
            };
        }

        return (new ServerAddress(host, quorumPort, electionPort), role);
    }

    /// <summary>Splits on ':', keeping a leading bracketed IPv6 address whole (without its brackets).</summary>
    private static string[] SplitHostAndPorts(string text, ConfigEntry entry)
    {
        string[] fields;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw Error(entry, $"'{text}' starts with '[' but has no matching ']'");
            }

            var host = text[1..close];
            var rest = text[(close + 1)..];
            if (rest.Length > 0 && rest[0] != ':')
            {
                throw Error(entry, $"'{text}' has no ':' after ']'");
            }

            fields = rest.Length == 0 ? [host] : [host, .. rest[1..].Split(':')];
        }
        else
        {
            fields = text.Split(':');
        }

        var count = fields.Length;
        while (count > 1 && fields[count - 1].Length == 0)
        {
            count--;
        }

        return count == fields.Length ? fields : fields[..count];
    }

    private static int Port(string text, string what, ConfigEntry entry)
    {
        if (!int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw Error(entry, $"{what} '{text.Trim()}' is not a port (1..65535)");
        }

        return port;
    }

    private static ConfigException Error(ConfigEntry entry, string message) => new(entry.File, entry.Line, entry.Key, message);
}
