using System.Globalization;
using System.Net;
using SharpKeeper.Protocol;
using SharpKeeper.Protocol.Records;
using SharpKeeper.Server.Config;

namespace SharpKeeper.Server.Quorum.Reconfig;

/// <summary>
/// The membership a reconfig request asks for, computed as Apache's PrepRequestProcessor does:
/// non-incremental (<c>newMembers</c>: the whole new membership) or incremental (the current members
/// without the <c>leavingServers</c> ids, then each of the <c>joiningServers</c> added or replaced).
/// Its errors are Apache's: BadArguments for a wrong server or too few participants; MarshallingError
/// where Apache fails with a runtime exception (an id that is not a number, observers without participants).
/// </summary>
public static class ReconfigPlanner
{
    private const string Source = "reconfig";

    /// <exception cref="KeeperException">The request cannot become a membership.</exception>
    public static QuorumVerifier Plan(ReconfigRequest request, QuorumVerifier current, long version, bool standaloneEnabled, bool multiAddressEnabled)
    {
        var next = request.NewMembers is { } members
            ? NonIncremental(members, multiAddressEnabled)
            : Incremental(request, current, multiAddressEnabled);
        CheckParticipants(next, standaloneEnabled);
        return next.WithVersion(version);
    }

    private static QuorumVerifier NonIncremental(string newMembers, bool multiAddressEnabled)
    {
        try
        {
            var parsed = QuorumVerifier.Parse(newMembers.Replace(',', '\n'), Source, multiAddressEnabled);
            if (parsed.Voters.Count == 0 && parsed.Members.Count > 0)
            {
                // Apache's parseDynamicConfig throws IllegalArgumentException here: a MarshallingError to the client.
                throw new KeeperException(ErrorCode.MarshallingError, "observers without participants");
            }

            return parsed;
        }
        catch (ConfigException e)
        {
            throw new KeeperException(ErrorCode.BadArguments, e.Detail);
        }
    }

    private static QuorumVerifier Incremental(ReconfigRequest request, QuorumVerifier current, bool multiAddressEnabled)
    {
        var next = new SortedDictionary<long, ServerSpec>(current.Members.ToDictionary());
        foreach (var leaving in Items(request.LeavingServers))
        {
            if (!long.TryParse(leaving, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var sid))
            {
                throw new KeeperException(ErrorCode.MarshallingError, $"'{leaving}' is not a server id");
            }

            next.Remove(sid);
        }

        foreach (var joining in Items(request.JoiningServers))
        {
            var parts = joining.Split('=', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2)
            {
                throw new KeeperException(ErrorCode.BadArguments, $"wrong format of server string '{joining}'");
            }

            var idText = parts[0][(parts[0].LastIndexOf('.') + 1)..];
            if (!long.TryParse(idText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var sid))
            {
                throw new KeeperException(ErrorCode.MarshallingError, $"'{parts[0]}' names no server id");
            }

            ServerSpec spec;
            try
            {
                spec = ServerLine.Parse(sid, new ConfigEntry($"server.{sid}", parts[1], Source, 0), multiAddressEnabled);
            }
            catch (ConfigException e)
            {
                throw new KeeperException(ErrorCode.BadArguments, e.Detail);
            }

            if (spec.ClientPort is null)
            {
                throw new KeeperException(ErrorCode.BadArguments, $"server.{sid}: each server should have 3 ports specified (quorum, election and client)");
            }

            CheckAddressesAreFree(spec, next.Values);
            next[sid] = spec;
        }

        return new QuorumVerifier(next.Values, current.Version);
    }

    private static void CheckParticipants(QuorumVerifier next, bool standaloneEnabled)
    {
        var minimum = standaloneEnabled ? 2 : 1;
        if (next.Voters.Count < minimum)
        {
            throw new KeeperException(ErrorCode.BadArguments,
                $"the new configuration has {next.Voters.Count} participant(s); it needs at least {minimum} (standaloneEnabled={standaloneEnabled.ToString().ToLowerInvariant()})");
        }
    }

    /// <summary>As Apache's StringUtils.split: comma-separated, trimmed, empty items dropped; null is none.</summary>
    private static string[] Items(string? list) =>
        list is null ? [] : list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    /// <summary>
    /// As Apache's checkAddressDuplicate: a joiner's quorum, election or client address must not be
    /// another server's. Wildcard, loopback and unresolved (host name) addresses are not compared.
    /// </summary>
    private static void CheckAddressesAreFree(ServerSpec joiner, IEnumerable<ServerSpec> others)
    {
        foreach (var other in others.Where(o => o.Id != joiner.Id))
        {
            foreach (var mine in EndPoints(joiner))
            {
                if (EndPoints(other).FirstOrDefault(theirs => theirs.EndPoint.Equals(mine.EndPoint)) is { EndPoint: not null } clash)
                {
                    throw new KeeperException(ErrorCode.BadArguments,
                        $"{mine.What} {mine.EndPoint} of server.{joiner.Id} conflicts {clash.What} {clash.EndPoint} of server.{other.Id}");
                }
            }
        }
    }

    private static IEnumerable<(string What, IPEndPoint EndPoint)> EndPoints(ServerSpec spec)
    {
        foreach (var address in spec.Addresses)
        {
            if (Comparable(address.Host) is { } ip)
            {
                yield return ("quorum address", new IPEndPoint(ip, address.QuorumPort));
                yield return ("election address", new IPEndPoint(ip, address.ElectionPort));
            }
        }

        if (spec.ClientPort is { } port && Comparable(spec.ClientAddress ?? "0.0.0.0") is { } client)
        {
            yield return ("client address", new IPEndPoint(client, port));
        }
    }

    private static IPAddress? Comparable(string host) =>
        IPAddress.TryParse(host, out var ip) && !IPAddress.IsLoopback(ip) && !ip.Equals(IPAddress.Any) && !ip.Equals(IPAddress.IPv6Any) ? ip : null;
}
