using System.Runtime.InteropServices;

namespace SharpKeeper.Server.Persistence;

/// <summary>
/// Makes a file's data durable with fdatasync where there is one: the transaction log is preallocated,
/// so its size does not change as records are appended, and fdatasync then skips the inode write
/// (the modification time) that fsync adds to every group commit. Apache ZooKeeper syncs its log the
/// same way (FileChannel.force(false)).
/// </summary>
internal static partial class FileSync
{
    public static void DataSync(FileStream file)
    {
        file.Flush(flushToDisk: false);
        if (!OperatingSystem.IsLinux())
        {
            file.Flush(flushToDisk: true);
            return;
        }

        if (LinuxDataSync(file.SafeFileHandle) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"fdatasync of {file.Name} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }
    }

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int LinuxDataSync(Microsoft.Win32.SafeHandles.SafeFileHandle file);
}
