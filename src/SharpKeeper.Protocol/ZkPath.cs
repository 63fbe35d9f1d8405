namespace SharpKeeper.Protocol;

/// <summary>Path rules of ZooKeeper: absolute, no empty or relative segments, no trailing slash, no control or reserved characters.</summary>
public static class ZkPath
{
    /// <summary>Returns null when the path is valid, otherwise the reason.</summary>
    public static string? Validate(string? path, bool sequential = false)
    {
        if (path is null)
        {
            return "Path cannot be null";
        }

        // A sequential create may end in '/': the server appends the counter.
        return ValidateCore(sequential ? path + "1" : path);
    }

    private static string? ValidateCore(string path)
    {
        if (path.Length == 0)
        {
            return "Path length must be > 0";
        }

        if (path[0] != '/')
        {
            return "Path must start with / character";
        }

        if (path.Length == 1)
        {
            return null;
        }

        if (path[^1] == '/')
        {
            return "Path must not end with / character";
        }

        var previous = '/';
        for (var i = 1; i < path.Length; i++)
        {
            var c = path[i];
            if (c == 0)
            {
                return $"null character not allowed @{i}";
            }

            if (c == '/' && previous == '/')
            {
                return $"empty node name specified @{i}";
            }

            if (c == '.' && previous == '.' && path[i - 2] == '/' && (i + 1 == path.Length || path[i + 1] == '/'))
            {
                return $"relative paths not allowed @{i}";
            }

            if (c == '.' && previous == '/' && (i + 1 == path.Length || path[i + 1] == '/'))
            {
                return $"relative paths not allowed @{i}";
            }

            if (c is > '\u0000' and <= '\u001f' or >= '\u007f' and <= '\u009f' or >= '\ud800' and <= '\uf8ff' or >= '\ufff0')
            {
                return $"invalid character @{i}";
            }

            previous = c;
        }

        return null;
    }

    public static bool IsValid(string? path, bool sequential = false) => Validate(path, sequential) is null;

    /// <summary>The parent of an absolute path ("/" for a top-level node).</summary>
    public static string Parent(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash <= 0 ? "/" : path[..slash];
    }

    /// <summary>The last segment of a path.</summary>
    public static string Name(string path) => path[(path.LastIndexOf('/') + 1)..];

    public static string Join(string parent, string child) => parent == "/" ? "/" + child : parent + "/" + child;
}
