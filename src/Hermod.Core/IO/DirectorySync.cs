using System.Runtime.InteropServices;
using System.Text;

namespace Hermod.Core.IO;

/// <summary>fsync(2) of a directory, which .NET cannot open: makes a rename or a new entry in it durable.</summary>
public static class DirectorySync
{
    private const int O_RDONLY = 0;
    private const int O_CLOEXEC_LINUX = 0x80000;

    /// <summary>Flushes <paramref name="directory"/>'s entries to disk; a no-op on Windows (NTFS journals metadata).</summary>
    public static void Flush(string directory)
    {
        if (OperatingSystem.IsWindows())
            return;
        var path = Encoding.UTF8.GetBytes(directory + "\0");
        var fd = open(path, OperatingSystem.IsLinux() ? O_RDONLY | O_CLOEXEC_LINUX : O_RDONLY);
        if (fd < 0)
            throw Failure("open", directory);
        try
        {
            if (fsync(fd) != 0)
                throw Failure("fsync", directory);
        }
        finally
        {
            _ = close(fd);
        }
    }

    private static IOException Failure(string call, string directory)
    {
        var errno = Marshal.GetLastPInvokeError();
        return new IOException($"{call} of directory {directory} failed: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
    }

    // DllImport, not LibraryImport: the generated stubs need unsafe code, which this project does not allow;
    // a byte[] (NUL-terminated UTF-8) is pinned, not copied.
    [DllImport("libc", SetLastError = true)]
    private static extern int open(byte[] path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int fsync(int fd);

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);
}
