using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using SharpKeeper.Server.Config;
using SharpKeeper.Server.Network;

namespace SharpKeeper.Server.Admin;

/// <summary>
/// The AdminServer on Kestrel, as Apache 3.8's Jetty one: GET COMMANDURL lists the commands as links,
/// GET COMMANDURL/NAME (or an alias) answers the command's JSON. A port already in use is logged and
/// the server goes on without it, as Apache does.
/// </summary>
public sealed class AdminHttpServer : IAsyncDisposable
{
    private static readonly JsonWriterOptions Indented = new() { Indented = true };
    private readonly WebApplication _app;
    private readonly RateLimitedWarnings? _warnings;

    private AdminHttpServer(WebApplication app, RateLimitedWarnings? warnings)
    {
        _app = app;
        _warnings = warnings;
    }

    public static async Task<AdminHttpServer?> StartAsync(AdminSettings settings, AdminCommands commands, Console.ConsoleApi? console, ILogger logger)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var address = IPAddress.TryParse(settings.Address, out var parsed) ? parsed : (await Dns.GetHostAddressesAsync(settings.Address).ConfigureAwait(false))[0];
        var tls = settings.Https is { } https ? new TlsMaterial(https, logger) : null;
        var warnings = tls is null ? null : new RateLimitedWarnings(logger, TimeSpan.FromMinutes(1));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(address, settings.Port, listen =>
            {
                if (tls is not null)
                {
                    AdminTls.Use(listen, tls, settings.ForceHttps, logger, warnings!);
                }
            });
            kestrel.Limits.KeepAliveTimeout = settings.IdleTimeout;
            kestrel.AddServerHeader = false;
        });
        var app = builder.Build();
        if (tls is not null)
        {
            // As Apache's AdminServer over TLS: browsers are told to keep to HTTPS.
            app.Use(async (context, next) =>
            {
                if (context.Features.Get<ITlsConnectionFeature>() is not null)
                {
                    context.Response.Headers.StrictTransportSecurity = "max-age=86400; includeSubDomains";
                }

                await next(context).ConfigureAwait(false);
            });
        }

        console?.Map(app);
        app.MapMethods(settings.CommandUrl, ["GET", "POST"], () => Results.Content(Listing(settings.CommandUrl, commands), "text/html"));
        app.MapMethods(settings.CommandUrl + "/{name}", ["GET", "POST", "HEAD"], async (string name, HttpContext context) =>
        {
            var request = AdminRequest.From(context);
            AdminResponse response;
            try
            {
                response = await commands.ExecuteAsync(name, request).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A command that fails is a bug: logged with its stack, answered as a server error.
                logger.LogError(e, "AdminServer command {Command} failed", name);
                response = new([new("command", name), new("error", "Internal error: " + e.Message)], StatusCodes.Status500InternalServerError);
            }

            context.Response.StatusCode = response.Status;
            foreach (var (header, value) in response.Headers)
            {
                context.Response.Headers[header] = value;
            }

            if (response.FilePath is { } file)
            {
                context.Response.ContentType = "application/octet-stream";
                await context.Response.SendFileAsync(file).ConfigureAwait(false);
                return;
            }

            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(Json(response.Fields)).ConfigureAwait(false);
        });
        try
        {
            await app.StartAsync().ConfigureAwait(false);
        }
        catch (IOException e)
        {
            logger.LogError("Cannot start the AdminServer on {Address}:{Port}: {Message}; serving without it (admin.enableServer=false turns it off)",
                settings.Address, settings.Port, e.Message);
            await app.DisposeAsync().ConfigureAwait(false);
            warnings?.Dispose();
            return null;
        }

        logger.LogInformation("AdminServer on {Address}:{Port} ({Scheme}), commands under {Url}", settings.Address, settings.Port,
            tls is null ? "HTTP" : settings.ForceHttps ? "HTTPS" : "HTTP and HTTPS", settings.CommandUrl);
        return new AdminHttpServer(app, warnings);
    }

    private static string Listing(string commandUrl, AdminCommands commands)
    {
        var html = new StringBuilder();
        foreach (var command in commands.All.OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            html.Append("<a href=\"").Append(commandUrl).Append('/').Append(command.Name).Append("\">").Append(command.Name).Append("</a>\n<br/>\n");
        }

        return html.ToString();
    }

    /// <summary>The fields as a JSON object: nested field lists are objects, arrays are arrays.</summary>
    public static byte[] Json(List<KeyValuePair<string, object?>> fields)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, Indented))
        {
            WriteValue(writer, fields);
        }

        return buffer.ToArray();
    }

    private static void WriteValue(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case null:
                writer.WriteNullValue();
                break;
            case List<KeyValuePair<string, object?>> fields:
                writer.WriteStartObject();
                foreach (var (key, field) in fields)
                {
                    writer.WritePropertyName(key);
                    WriteValue(writer, field);
                }

                writer.WriteEndObject();
                break;
            case string text:
                writer.WriteStringValue(text);
                break;
            case bool flag:
                writer.WriteBooleanValue(flag);
                break;
            case long whole:
                writer.WriteNumberValue(whole);
                break;
            case int whole:
                writer.WriteNumberValue(whole);
                break;
            case double real:
                writer.WriteNumberValue(real);
                break;
            case System.Collections.IEnumerable items:
                writer.WriteStartArray();
                foreach (var item in items)
                {
                    WriteValue(writer, item);
                }

                writer.WriteEndArray();
                break;
            default:
                writer.WriteStringValue(value.ToString());
                break;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _warnings?.Dispose();
    }
}
