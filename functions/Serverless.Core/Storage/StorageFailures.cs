using Serverless.Core.Errors;

namespace Serverless.Core.Storage;

/// <summary>Recognises and reports local-disk failures the same way on every platform.</summary>
public static class StorageFailures
{
    private const int Enospc = 28;          // Linux/macOS errno, which .NET puts in IOException.HResult
    private const int ErrorDiskFull = 112;  // Windows ERROR_DISK_FULL
    private const int ErrorHandleDiskFull = 39;

    /// <summary>True when <paramref name="exception"/> says the disk (or quota) is full.</summary>
    public static bool IsDiskFull(Exception exception)
    {
        if (exception is not IOException io)
        {
            return false;
        }

        var code = io.HResult & 0xFFFF;
        return io.HResult == Enospc || code == ErrorDiskFull || code == ErrorHandleDiskFull;
    }

    /// <summary>An InsufficientStorage error saying how much space was needed, and where.</summary>
    public static InferenceException DiskFull(string what, long bytesNeeded, string folder, Exception? inner = null)
    {
        var free = TryGetFreeBytes(folder);
        var freeText = free is { } f ? $" ({FormatBytes(f)} free)" : string.Empty;
        return new InferenceException(
            ErrorCode.InsufficientStorage,
            $"Not enough disk space to write {what}: it needs {FormatBytes(bytesNeeded)} in '{folder}'{freeText}. " +
            "Free some space, or point MODEL_CACHE_DIR at a larger volume (on Lambda raise the function's ephemeral storage).",
            inner);
    }

    public static long? TryGetFreeBytes(string folder)
    {
        try
        {
            return new DriveInfo(Path.GetFullPath(folder)).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    public static string FormatBytes(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.##} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.##} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.##} KiB",
        _ => $"{bytes} bytes",
    };
}
