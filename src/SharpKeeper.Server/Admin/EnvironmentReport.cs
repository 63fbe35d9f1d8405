using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace SharpKeeper.Server.Admin;

/// <summary>
/// The envi word: Apache ZooKeeper's keys in its order, each filled with the .NET counterpart of
/// the JVM property it prints (java.version is the .NET runtime's version, and so on).
/// </summary>
public static class EnvironmentReport
{
    private const string NotAvailable = "<NA>";
    private const long MegaByte = 1024 * 1024;

    public static string Build()
    {
        var text = new StringBuilder("Environment:\n");
        foreach (var (key, value) in Entries())
        {
            text.Append(key).Append('=').Append(value).Append('\n');
        }

        return text.ToString();
    }

    public static IEnumerable<(string Key, string Value)> Entries()
    {
        yield return ("zookeeper.version", VersionInfo.Full);
        yield return ("host.name", HostName());
        yield return ("java.version", Environment.Version.ToString());
        yield return ("java.vendor", RuntimeInformation.FrameworkDescription);
        yield return ("java.home", TrimSeparator(RuntimeEnvironment.GetRuntimeDirectory()));
        yield return ("java.class.path", TrimSeparator(AppContext.BaseDirectory));
        yield return ("java.library.path", NativeLibraryPath());
        yield return ("java.io.tmpdir", TrimSeparator(Path.GetTempPath()));
        yield return ("java.compiler", NotAvailable);
        yield return ("os.name", OsName());
        yield return ("os.arch", OsArch());
        yield return ("os.version", OsVersion());
        yield return ("user.name", Environment.UserName);
        yield return ("user.home", Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));
        yield return ("user.dir", Environment.CurrentDirectory);

        // The JVM's heap figures: free within the committed heap, the most the heap may grow to, and the committed heap.
        var used = GC.GetTotalMemory(false);
        var committed = Math.Max(GC.GetGCMemoryInfo().TotalCommittedBytes, used);
        yield return ("os.memory.free", Megabytes(committed - used));
        yield return ("os.memory.max", Megabytes(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes));
        yield return ("os.memory.total", Megabytes(committed));
    }

    /// <summary>Where the runtime looks for native libraries, ':'-separated as java.library.path is.</summary>
    private static string NativeLibraryPath()
    {
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is not string { Length: > 0 } directories)
        {
            return NotAvailable;
        }

        var parts = directories.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Select(TrimSeparator);
        return string.Join(Path.PathSeparator, parts);
    }

    private static string Megabytes(long bytes) => (bytes / MegaByte).ToString(CultureInfo.InvariantCulture) + "MB";

    private static string TrimSeparator(string path) =>
        path.Length > 1 ? path.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar) : path;

    /// <summary>As InetAddress.getLocalHost().getCanonicalHostName(): the host's address, named by a reverse lookup.</summary>
    private static string HostName()
    {
        string name;
        try
        {
            name = Dns.GetHostName();
        }
        catch (SocketException)
        {
            return NotAvailable;
        }

        try
        {
            var address = Dns.GetHostAddresses(name).FirstOrDefault();
            if (address is null)
            {
                return NotAvailable;
            }

            try
            {
                return Dns.GetHostEntry(address).HostName;
            }
            catch (SocketException)
            {
                return JavaText.Address(address);
            }
        }
        catch (SocketException)
        {
            return NotAvailable;
        }
    }

    private static string OsName()
    {
        if (OperatingSystem.IsLinux())
        {
            return "Linux";
        }

        if (OperatingSystem.IsMacOS())
        {
            return "Mac OS X";
        }

        if (OperatingSystem.IsFreeBSD())
        {
            return "FreeBSD";
        }

        return RuntimeInformation.OSDescription;
    }

    /// <summary>The JVM's names: amd64, aarch64, x86, arm.</summary>
    private static string OsArch() => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "amd64",
        Architecture.Arm64 => "aarch64",
        Architecture.X86 => "x86",
        Architecture.Arm => "arm",
        var other => other.ToString().ToLowerInvariant(),
    };

    /// <summary>The kernel release as uname reports it ("6.1.0-18-amd64"), as the JVM's os.version is on Linux.</summary>
    private static string OsVersion()
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                var release = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
                if (release.Length > 0)
                {
                    return release;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        return Environment.OSVersion.Version.ToString();
    }
}
