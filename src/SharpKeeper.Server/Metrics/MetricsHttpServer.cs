using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using SharpKeeper.Server.Config;

namespace SharpKeeper.Server.Metrics;

/// <summary>
/// The Prometheus endpoint of Apache's PrometheusMetricsProvider, on Kestrel: /metrics only (GET,
/// POST or HEAD), in the 0.0.4 text format, optionally narrowed by name[] parameters. As Apache's,
/// a port that cannot be bound stops the server from starting.
/// </summary>
public sealed class MetricsHttpServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private MetricsHttpServer(WebApplication app) => _app = app;

    public static async Task<MetricsHttpServer> StartAsync(MetricsSettings settings, PrometheusScrape scrape, ILogger logger)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var address = IPAddress.TryParse(settings.Host, out var parsed) ? parsed : (await Dns.GetHostAddressesAsync(settings.Host).ConfigureAwait(false))[0];
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(address, settings.Port);
            kestrel.AddServerHeader = false;
        });
        var app = builder.Build();
        app.MapMethods("/metrics", ["GET", "POST", "HEAD"], async (HttpContext context) =>
        {
            var names = context.Request.Query["name[]"] is { Count: > 0 } requested
                ? new HashSet<string>(requested.OfType<string>(), StringComparer.Ordinal)
                : null;
            var body = await scrape.RenderAsync(names, settings.ExportRuntime).ConfigureAwait(false);
            context.Response.ContentType = PrometheusText.ContentType;
            if (!HttpMethods.IsHead(context.Request.Method))
            {
                await context.Response.WriteAsync(body).ConfigureAwait(false);
            }
        });
        try
        {
            await app.StartAsync().ConfigureAwait(false);
        }
        catch (IOException e)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new IOException($"Cannot start the Prometheus endpoint on {settings.Host}:{settings.Port} (metricsProvider.httpHost/httpPort): {e.Message}", e);
        }

        logger.LogInformation("Prometheus metrics on http://{Host}:{Port}/metrics (runtime series: {Runtime})", settings.Host, settings.Port, settings.ExportRuntime);
        return new MetricsHttpServer(app);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
