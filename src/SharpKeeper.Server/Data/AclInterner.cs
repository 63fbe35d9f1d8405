using SharpKeeper.Protocol.Records;

namespace SharpKeeper.Server.Data;

/// <summary>
/// Shares one instance of each distinct ACL list among all nodes that use it, as ZooKeeper's ACL
/// cache does, so a million nodes with the same ACL hold one list.
/// </summary>
public sealed class AclInterner
{
    private readonly Dictionary<AclKey, IReadOnlyList<Acl>> _lists = new();

    public AclInterner()
    {
        Intern(Acl.OpenAclUnsafe);
    }

    public int Count => _lists.Count;

    /// <summary>Every list interned so far (none is ever dropped).</summary>
    public IEnumerable<IReadOnlyList<Acl>> Lists => _lists.Values;

    public IReadOnlyList<Acl> Intern(IReadOnlyList<Acl> acl)
    {
        var key = new AclKey(acl);
        if (_lists.TryGetValue(key, out var shared))
        {
            return shared;
        }

        IReadOnlyList<Acl> copy = [.. acl];
        _lists[new AclKey(copy)] = copy;
        return copy;
    }

    private readonly struct AclKey(IReadOnlyList<Acl> acl) : IEquatable<AclKey>
    {
        private readonly IReadOnlyList<Acl> _acl = acl;

        public bool Equals(AclKey other) => _acl.SequenceEqual(other._acl);

        public override bool Equals(object? obj) => obj is AclKey other && Equals(other);

        public override int GetHashCode()
        {
            var hash = new HashCode();
            foreach (var entry in _acl)
            {
                hash.Add(entry);
            }

            return hash.ToHashCode();
        }
    }
}
