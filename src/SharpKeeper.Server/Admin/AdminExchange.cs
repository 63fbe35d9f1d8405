using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace SharpKeeper.Server.Admin;

/// <summary>What an AdminServer command is asked with: the method, the query, the Authorization header, who asks, and a POST's body.</summary>
public sealed record AdminRequest(
    string Method,
    IReadOnlyDictionary<string, string> Query,
    string? Authorization = null,
    IPAddress? Remote = null,
    X509Certificate2? ClientCertificate = null,
    Stream? Body = null)
{
    public static AdminRequest Get(IReadOnlyDictionary<string, string>? query = null) => new("GET", query ?? new Dictionary<string, string>());
}

/// <summary>A command's answer: its JSON fields (with "command" and "error"), the HTTP status and headers, and for a streamed snapshot the file to send instead.</summary>
public sealed record AdminResponse(List<KeyValuePair<string, object?>> Fields, int Status = 200)
{
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>A file sent as application/octet-stream in place of the JSON.</summary>
    public string? FilePath { get; init; }
}
