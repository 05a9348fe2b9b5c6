using System.Runtime.InteropServices;
using System.Text;
using Serverless.Core.Errors;

namespace Serverless.Core.Onnx;

/// <summary>The platforms whose ONNX Runtime library the Microsoft.ML.OnnxRuntime package ships and we know how to find.</summary>
public enum OrtPlatform
{
    LinuxX64,
    LinuxArm64,
    OsxArm64,
    WinX64,
}

/// <summary>
/// Finds and loads the ONNX Runtime native library, which comes from the Microsoft.ML.OnnxRuntime NuGet package.
/// The places, in order: the <c>SERVERLESS_ORT_LIBRARY</c> environment variable (an explicit file), the app folder
/// (where a runtime-specific publish puts it), and the app folder's <c>runtimes/{rid}/native/</c> (where a portable
/// build puts it: development, tests and the tools). The search order is a pure function so it can be tested for
/// every platform on any machine.
/// </summary>
public static class OrtNativeLibrary
{
    /// <summary>Environment variable holding an explicit path to the ONNX Runtime library.</summary>
    public const string LibraryPathVariable = "SERVERLESS_ORT_LIBRARY";

    /// <summary>The NuGet package and version the binding is written against.</summary>
    public const string NuGetPackage = "Microsoft.ML.OnnxRuntime 1.30.0";

    /// <summary>The platform this process runs on, or null when Microsoft.ML.OnnxRuntime ships nothing for it.</summary>
    public static OrtPlatform? CurrentPlatform()
    {
        var arch = RuntimeInformation.ProcessArchitecture;
        if (OperatingSystem.IsLinux())
        {
            return arch switch { Architecture.X64 => OrtPlatform.LinuxX64, Architecture.Arm64 => OrtPlatform.LinuxArm64, _ => null };
        }

        if (OperatingSystem.IsMacOS())
        {
            return arch == Architecture.Arm64 ? OrtPlatform.OsxArm64 : null;
        }

        if (OperatingSystem.IsWindows())
        {
            return arch == Architecture.X64 ? OrtPlatform.WinX64 : null;
        }

        return null;
    }

    /// <summary>File names a publish may place in the app folder, most specific first.</summary>
    public static IReadOnlyList<string> AppFolderFileNames(OrtPlatform platform) => platform switch
    {
        OrtPlatform.LinuxX64 or OrtPlatform.LinuxArm64 => ["libonnxruntime.so", "libonnxruntime.so.1"],
        OrtPlatform.OsxArm64 => ["libonnxruntime.dylib", "libonnxruntime.1.dylib"],
        OrtPlatform.WinX64 => ["onnxruntime.dll"],
        _ => throw new ArgumentOutOfRangeException(nameof(platform)),
    };

    /// <summary>Where a portable build of an app keeps the package's library, relative to the app folder.</summary>
    public static string RuntimesRelativePath(OrtPlatform platform)
    {
        var (rid, file) = platform switch
        {
            OrtPlatform.LinuxX64 => ("linux-x64", "libonnxruntime.so"),
            OrtPlatform.LinuxArm64 => ("linux-arm64", "libonnxruntime.so"),
            OrtPlatform.OsxArm64 => ("osx-arm64", "libonnxruntime.dylib"),
            OrtPlatform.WinX64 => ("win-x64", "onnxruntime.dll"),
            _ => throw new ArgumentOutOfRangeException(nameof(platform)),
        };
        return Path.Combine("runtimes", rid, "native", file);
    }

    /// <summary>
    /// Every path to try, in order, without touching the file system: the explicit path, the app folder's files,
    /// then the app folder's <c>runtimes/{rid}/native/</c> file. Duplicates are dropped, keeping the first.
    /// </summary>
    public static IReadOnlyList<string> CandidatePaths(string? explicitPath, string appDirectory, OrtPlatform platform)
    {
        ArgumentNullException.ThrowIfNull(appDirectory);
        var result = new List<string>();
        void Add(string path)
        {
            if (!result.Contains(path, StringComparer.Ordinal))
            {
                result.Add(path);
            }
        }

        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            Add(explicitPath);
        }

        foreach (var name in AppFolderFileNames(platform))
        {
            Add(Path.Combine(appDirectory, name));
        }

        Add(Path.Combine(appDirectory, RuntimesRelativePath(platform)));
        return result;
    }

    /// <summary>
    /// Loads the library and returns its <c>OrtGetApiBase</c> export and the path it came from. Throws one
    /// <see cref="InferenceException"/> listing every place looked at and how to fix it.
    /// </summary>
    internal static nint LoadGetApiBase(out string loadedFrom)
    {
        var platform = CurrentPlatform() ?? throw new InferenceException(ErrorCode.RuntimeFailure,
            $"ONNX Runtime: {RuntimeInformation.OSDescription} {RuntimeInformation.ProcessArchitecture} is not a platform {NuGetPackage} ships a library for. " +
            $"Build ONNX Runtime 1.30 for it and set {LibraryPathVariable} to the library's path.");
        var candidates = CandidatePaths(Environment.GetEnvironmentVariable(LibraryPathVariable), AppContext.BaseDirectory, platform);
        return LoadGetApiBase(candidates, out loadedFrom);
    }

    /// <summary>Tries <paramref name="candidates"/> in order; the first ONNX Runtime library that loads wins.</summary>
    internal static nint LoadGetApiBase(IReadOnlyList<string> candidates, out string loadedFrom)
    {
        var report = new StringBuilder();
        foreach (var path in candidates)
        {
            if (!File.Exists(path))
            {
                report.Append("\n  ").Append(path).Append(": not found");
                continue;
            }

            nint handle;
            try
            {
                handle = NativeLibrary.Load(path);
            }
            catch (DllNotFoundException ex)
            {
                report.Append("\n  ").Append(path).Append(": could not be loaded: ").Append(ex.Message);
                continue;
            }
            catch (BadImageFormatException ex)
            {
                report.Append("\n  ").Append(path).Append(": wrong architecture: ").Append(ex.Message);
                continue;
            }

            if (NativeLibrary.TryGetExport(handle, "OrtGetApiBase", out var export))
            {
                loadedFrom = path;
                return export;
            }

            report.Append("\n  ").Append(path).Append(": loaded, but it has no OrtGetApiBase export (not an ONNX Runtime library)");
        }

        throw new InferenceException(ErrorCode.RuntimeFailure,
            $"ONNX Runtime's native library was not found. Places looked at, in order:{report}\n" +
            $"To fix: set {LibraryPathVariable} to the full path of the ONNX Runtime 1.30 library, copy it next to the " +
            $"application, or reference the NuGet package {NuGetPackage} from the application's project (Serverless.Core does).");
    }
}
