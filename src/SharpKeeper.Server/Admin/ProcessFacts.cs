namespace SharpKeeper.Server.Admin;

/// <summary>Operating-system figures mntr and dirs report; -1 where the platform does not tell, as the JVM reports it.</summary>
public static class ProcessFacts
{
    /// <summary>Open file descriptors of this process (not counting the one used to list them).</summary>
    public static long OpenFileDescriptors()
    {
        try
        {
            return Directory.Exists("/proc/self/fd") ? Directory.EnumerateFileSystemEntries("/proc/self/fd").LongCount() - 1 : -1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return -1;
        }
    }

    /// <summary>The soft limit on open files (RLIMIT_NOFILE), -1 when unlimited or unknown.</summary>
    public static long MaxFileDescriptors()
    {
        try
        {
            if (!File.Exists("/proc/self/limits"))
            {
                return -1;
            }

            foreach (var line in File.ReadLines("/proc/self/limits"))
            {
                if (!line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    continue;
                }

                var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return fields.Length > 0 && long.TryParse(fields[0], out var soft) ? soft : -1;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return -1;
    }

    /// <summary>The bytes of every file under a directory, recursively, as ZooKeeper sizes dataDir and dataLogDir.</summary>
    public static long DirectorySize(string path)
    {
        try
        {
            if (File.Exists(path))
            {
                return new FileInfo(path).Length;
            }

            if (!Directory.Exists(path))
            {
                return 0;
            }

            var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
            var size = 0L;
            foreach (var file in new DirectoryInfo(path).EnumerateFiles("*", options))
            {
                size += LengthOrZero(file);
            }

            return size;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>A file removed while being listed (a purge, a log roll) counts as empty, as java.io.File.length() does.</summary>
    private static long LengthOrZero(FileInfo file)
    {
        try
        {
            return file.Length;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
