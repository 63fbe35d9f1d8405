using System.Reflection;

namespace SharpKeeper.Server;

/// <summary>The version string shown by envi, srvr and `sharpkeeper version`.</summary>
public static class VersionInfo
{
    /// <summary>The Apache ZooKeeper release whose behaviour this server follows; clients and tools parse this form.</summary>
    public const string CompatibleZooKeeper = "3.8.4";

    public static string Product { get; } =
        typeof(VersionInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    /// <summary>As ZooKeeper prints it ("3.8.4-sharpkeeper-0.1.0, built on ..."), so scripts that parse the version keep working.</summary>
    public static string Full { get; } = $"{CompatibleZooKeeper}-sharpkeeper-{Product}, built on {BuildDate:yyyy-MM-dd HH:mm} UTC";

    private static DateTime BuildDate => File.GetLastWriteTimeUtc(typeof(VersionInfo).Assembly.Location);
}
