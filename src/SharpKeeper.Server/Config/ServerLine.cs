using System.Globalization;

namespace SharpKeeper.Server.Config;

/// <summary>Parses `host:quorumPort:electionPort[:participant|:observer][;[clientAddress:]clientPort]` (IPv6 hosts in brackets).</summary>
public static class ServerLine
{
    public static ServerSpec Parse(long id, string value, string file, int line, string key)
    {
        var semicolon = value.IndexOf(';');
        var serverPart = semicolon < 0 ? value : value[..semicolon];
        var clientPart = semicolon < 0 ? null : value[(semicolon + 1)..].Trim();

        var (host, rest) = SplitHost(serverPart.Trim(), file, line, key);
        var parts = rest.Split(':');
        if (parts.Length is < 2 or > 3)
        {
            throw new ConfigException(file, line, key, $"'{value}' is not host:quorumPort:electionPort[:participant|:observer][;[address:]clientPort]");
        }

        var quorumPort = Port(parts[0], file, line, key);
        var electionPort = Port(parts[1], file, line, key);
        var role = ServerRole.Participant;
        if (parts.Length == 3)
        {
            role = parts[2].ToLowerInvariant() switch
            {
                "participant" => ServerRole.Participant,
                "observer" => ServerRole.Observer,
                _ => throw new ConfigException(file, line, key, $"'{parts[2]}' is not participant or observer"),
            };
        }

        string? clientAddress = null;
        int? clientPort = null;
        if (!string.IsNullOrEmpty(clientPart))
        {
            var colon = clientPart.LastIndexOf(':');
            if (colon < 0)
            {
                clientPort = Port(clientPart, file, line, key);
            }
            else
            {
                clientAddress = clientPart[..colon].Trim('[', ']');
                clientPort = Port(clientPart[(colon + 1)..], file, line, key);
            }
        }

        return new ServerSpec(id, host, quorumPort, electionPort, role, clientAddress, clientPort);
    }

    private static (string Host, string Ports) SplitHost(string text, string file, int line, string key)
    {
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']');
            if (close < 0 || close + 1 >= text.Length || text[close + 1] != ':')
            {
                throw new ConfigException(file, line, key, $"'{text}' has an unterminated IPv6 address");
            }

            return (text[1..close], text[(close + 2)..]);
        }

        var colon = text.IndexOf(':');
        if (colon <= 0)
        {
            throw new ConfigException(file, line, key, $"'{text}' is not host:quorumPort:electionPort");
        }

        return (text[..colon], text[(colon + 1)..]);
    }

    private static int Port(string text, string file, int line, string key)
    {
        if (!int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new ConfigException(file, line, key, $"'{text}' is not a port (1..65535)");
        }

        return port;
    }
}
