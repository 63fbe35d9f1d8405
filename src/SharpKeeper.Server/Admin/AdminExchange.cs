using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Http;

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
    /// <summary>An HTTP request as a command sees it: the first value of each query parameter, and a POST's body.</summary>
    public static AdminRequest From(HttpContext context)
    {
        var http = context.Request;
        return new AdminRequest(
            http.Method,
            http.Query.ToDictionary(q => q.Key, q => q.Value.FirstOrDefault() ?? "", StringComparer.Ordinal),
            http.Headers.Authorization.FirstOrDefault(),
            context.Connection.RemoteIpAddress,
            context.Connection.ClientCertificate,
            HttpMethods.IsPost(http.Method) ? http.Body : null);
    }
}

/// <summary>A command's answer: its JSON fields (with "command" and "error"), the HTTP status and headers, and for a streamed snapshot the file to send instead.</summary>
public sealed record AdminResponse(List<KeyValuePair<string, object?>> Fields, int Status = 200)
{
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>A file sent as application/octet-stream in place of the JSON.</summary>
    public string? FilePath { get; init; }
}
