using System.Globalization;
using Microsoft.Extensions.Logging;
using SharpKeeper.Server.Config;
using SharpKeeper.Server.Persistence;

namespace SharpKeeper.Server.Admin;

/// <summary>
/// Apache 3.9's snapshot and restore commands: after the caller's authorization, each is refused
/// with 503 when disabled (admin.snapshot.enabled, admin.restore.enabled) and with 429 beyond one
/// per admin.rateLimiterIntervalInMS (the first is always allowed). snapshot takes a snapshot and
/// streams its file with last_zxid and snapshot_size headers; restore replaces the data tree with
/// the POSTed snapshot.
/// </summary>
public sealed class SnapshotCommands(SharpKeeperServer server, AdminSettings settings, ILogger logger)
{
    private readonly IntervalLimiter _snapshots = new(settings.RateLimitInterval);
    private readonly IntervalLimiter _restores = new(settings.RateLimitInterval);

    public async Task<AdminResponse> SnapshotAsync(AdminRequest request)
    {
        if (!settings.SnapshotEnabled)
        {
            return Status("snapshot", 503, "snapshot is disabled (admin.snapshot.enabled=false)");
        }

        if (!_snapshots.TryAcquire())
        {
            return Status("snapshot", 429, null);
        }

        string path;
        try
        {
            path = await server.TakeSnapshotAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or TimeoutException or UnauthorizedAccessException)
        {
            logger.LogError("The snapshot command failed: {Message}", e.Message);
            return Status("snapshot", 500, e.Message);
        }

        var zxid = Math.Max(0, StoreLayout.ZxidOf(Path.GetFileName(path), StoreLayout.SnapshotPrefix));
        var headers = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["last_zxid"] = "0x" + zxid.ToString("x", CultureInfo.InvariantCulture),
            ["snapshot_size"] = new FileInfo(path).Length.ToString(CultureInfo.InvariantCulture),
        };

        // As Apache: streaming unless the parameter says otherwise (only "true", in any case, is true).
        var streaming = !request.Query.TryGetValue("streaming", out var flag) || string.Equals(flag, "true", StringComparison.OrdinalIgnoreCase);
        return new AdminResponse(Envelope("snapshot", null)) { Headers = headers, FilePath = streaming ? path : null };
    }

    public async Task<AdminResponse> RestoreAsync(AdminRequest request)
    {
        if (!settings.RestoreEnabled)
        {
            return Status("restore", 503, "restore is disabled (admin.restore.enabled=false)");
        }

        if (request.Body is not { } body)
        {
            return Status("restore", 400, "restore needs the snapshot as the request body");
        }

        if (!_restores.TryAcquire())
        {
            return Status("restore", 429, null);
        }

        try
        {
            var zxid = await server.RestoreAsync(body).ConfigureAwait(false);
            return new AdminResponse([new("last_zxid", zxid), .. Envelope("restore", null)]);
        }
        catch (Exception e) when (e is CorruptStoreException or IOException or InvalidOperationException or TimeoutException or UnauthorizedAccessException)
        {
            logger.LogError("The restore command failed: {Message}", e.Message);
            return Status("restore", 500, e.Message);
        }
    }

    private static List<KeyValuePair<string, object?>> Envelope(string command, string? error) => [new("command", command), new("error", error)];

    private static AdminResponse Status(string command, int status, string? error) => new(Envelope(command, error), status);

    /// <summary>One use per interval, the first at once (Apache's RateLimiter with a rate of 1).</summary>
    private sealed class IntervalLimiter(TimeSpan interval)
    {
        private readonly Lock _gate = new();
        private long _lastAllowed = long.MinValue;

        public bool TryAcquire()
        {
            lock (_gate)
            {
                var now = Environment.TickCount64;
                if (_lastAllowed != long.MinValue && now - _lastAllowed <= (long)interval.TotalMilliseconds)
                {
                    return false;
                }

                _lastAllowed = now;
                return true;
            }
        }
    }
}
