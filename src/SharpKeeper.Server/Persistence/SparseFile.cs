using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace SharpKeeper.Server.Persistence;

/// <summary>
/// Finds the data in a sparse file (lseek SEEK_DATA), so checking that a preallocated log holds
/// only zeros after its last record does not read tens of megabytes of holes.
/// </summary>
internal static partial class SparseFile
{
    private const int SeekData = 3;

    /// <summary>
    /// The offset of the first byte at or after <paramref name="offset"/> that is not in a hole, or
    /// -1 when only holes follow. Where holes cannot be found (not Linux, or a file system without
    /// SEEK_DATA) every byte counts as data and <paramref name="offset"/> itself is returned.
    /// </summary>
    public static long NextData(SafeFileHandle file, long offset)
    {
        if (!OperatingSystem.IsLinux())
        {
            return offset;
        }

        var data = LinuxSeek(file, offset, SeekData);
        if (data >= 0)
        {
            return data;
        }

        const int noDataAfterOffset = 6; // ENXIO
        return Marshal.GetLastPInvokeError() == noDataAfterOffset ? -1 : offset;
    }

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static partial long LinuxSeek(SafeFileHandle file, long offset, int whence);
}
