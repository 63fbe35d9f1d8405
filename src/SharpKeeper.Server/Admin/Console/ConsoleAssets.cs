using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;

namespace SharpKeeper.Server.Admin.Console;

/// <summary>The console's files, embedded in the assembly at build time and served from memory.</summary>
public static class ConsoleAssets
{
    private static readonly ConcurrentDictionary<string, byte[]?> Loaded = new(StringComparer.Ordinal);

    public static IResult Result(string name)
    {
        var bytes = Loaded.GetOrAdd(name, Load);
        if (bytes is null)
        {
            return Results.NotFound();
        }

        var type = Path.GetExtension(name) switch
        {
            ".html" => "text/html; charset=utf-8",
            ".js" => "text/javascript; charset=utf-8",
            ".css" => "text/css; charset=utf-8",
            ".svg" => "image/svg+xml",
            _ => "application/octet-stream",
        };
        return Results.Bytes(bytes, type);
    }

    private static byte[]? Load(string name)
    {
        using var stream = typeof(ConsoleAssets).Assembly.GetManifestResourceStream("console/" + name);
        if (stream is null)
        {
            return null;
        }

        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
