namespace SharpKeeper.Server.Config;

/// <summary>Where the Prometheus endpoint listens (metricsProvider.httpHost/httpPort) and whether it exports the runtime's own series (exportJvmInfo).</summary>
public sealed record MetricsSettings(string Host, int Port, bool ExportRuntime);
