using System.Globalization;
using System.Text;
using SharpKeeper.Server.Config;

namespace SharpKeeper.Server.Quorum.Reconfig;

/// <summary>
/// One version of the ensemble's membership, as Apache's QuorumMaj holds it: every server with its
/// addresses and role, and the config version (the zxid of the reconfig that made it, or of the
/// NEWLEADER that first established it; 0 for a configuration never established). A set of servers
/// is a quorum when it holds more than half of the participants.
/// </summary>
public sealed class QuorumVerifier
{
    public QuorumVerifier(IEnumerable<ServerSpec> members, long version)
    {
        Members = new SortedDictionary<long, ServerSpec>(members.ToDictionary(s => s.Id));
        Version = version;
        Voters = Members.Values.Where(s => s.Role == ServerRole.Participant).Select(s => s.Id).ToHashSet();
        Text = BuildText();
    }

    public IReadOnlyDictionary<long, ServerSpec> Members { get; }

    public long Version { get; }

    public IReadOnlySet<long> Voters { get; }

    public IEnumerable<long> Observers => Members.Values.Where(s => s.Role == ServerRole.Observer).Select(s => s.Id);

    /// <summary>
    /// The membership as Apache prints it in /zookeeper/config, election notifications and NEWLEADER:
    /// a <c>server.N=…</c> line per member by id, then <c>version=</c> in hex without a newline.
    /// </summary>
    public string Text { get; }

    public bool IsVoter(long sid) => Voters.Contains(sid);

    /// <summary>Whether <paramref name="servers"/> hold more than half of the participants.</summary>
    public bool ContainsQuorum(IEnumerable<long> servers) => servers.Distinct().Count(Voters.Contains) > Voters.Count / 2;

    public QuorumVerifier WithVersion(long version) => new(Members.Values, version);

    /// <summary>The same servers with the same addresses and roles, whatever the version.</summary>
    public bool HasSameMembers(QuorumVerifier other) =>
        Members.Count == other.Members.Count && Members.All(m => other.Members.TryGetValue(m.Key, out var spec) && spec.Equals(m.Value));

    /// <summary>As Apache's QuorumMaj.equals: the same version, or the same members.</summary>
    public bool IsEquivalentTo(QuorumVerifier other) => Version == other.Version || HasSameMembers(other);

    /// <summary>
    /// Reads a membership in the Properties form of /zookeeper/config and dynamic files
    /// (<c>server.N=…</c> lines and an optional <c>version=hex</c>), as Apache's parseDynamicConfig;
    /// any other key is refused.
    /// </summary>
    /// <exception cref="ConfigException">A line is not a server line, or a server line is wrong.</exception>
    public static QuorumVerifier Parse(string text, string source, bool multiAddressEnabled, long? version = null)
    {
        var warnings = new List<ConfigWarning>();
        var members = new List<ServerSpec>();
        long parsedVersion = 0;
        foreach (var entry in PropertiesParser.Parse(text, source, warnings))
        {
            if (entry.Key == "version")
            {
                if (!long.TryParse(entry.Value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out parsedVersion))
                {
                    throw new ConfigException(entry.File, entry.Line, entry.Key, $"'{entry.Value}' is not a hexadecimal version");
                }

                continue;
            }

            if (!entry.Key.StartsWith("server.", StringComparison.Ordinal)
                || !long.TryParse(entry.Key["server.".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                throw new ConfigException(entry.File, entry.Line, entry.Key, "unrecognised parameter: only server.N and version belong in a dynamic configuration");
            }

            if (members.Any(m => m.Id == id))
            {
                throw new ConfigException(entry.File, entry.Line, entry.Key, $"server id {id} is given twice");
            }

            members.Add(ServerLine.Parse(id, entry, multiAddressEnabled));
        }

        return new QuorumVerifier(members, version ?? parsedVersion);
    }

    private string BuildText()
    {
        var text = new StringBuilder();
        foreach (var spec in Members.Values)
        {
            text.Append("server.").Append(spec.Id).Append('=').Append(spec.ToConfigValue()).Append('\n');
        }

        return text.Append("version=").Append(Version.ToString("x", CultureInfo.InvariantCulture)).ToString();
    }

    public override string ToString() => Text;
}
