using System.Runtime.InteropServices;
using System.Text;
using Serverless.Core.Errors;

namespace Serverless.Core.Onnx;

/// <summary>The platforms whose ONNX Runtime library onnxruntime-node ships and we know how to find.</summary>
public enum OrtPlatform
{
    LinuxX64,
    LinuxArm64,
    OsxArm64,
    WinX64,
}

/// <summary>
/// Finds and loads the ONNX Runtime native library. There is no NuGet package for it here, so the library comes
/// from, in order: the <c>SERVERLESS_ORT_LIBRARY</c> environment variable (an explicit file), the app folder (what a
/// publish copies next to the executable), and the npm install of onnxruntime-node found by walking up from the app
/// folder and from the current directory (development and tests). The search order is a pure function so it can be
/// tested for every platform on any machine.
/// </summary>
public static class OrtNativeLibrary
{
    /// <summary>Environment variable holding an explicit path to the ONNX Runtime library.</summary>
    public const string LibraryPathVariable = "SERVERLESS_ORT_LIBRARY";

    /// <summary>The npm package and version the binding is written against.</summary>
    public const string NpmPackage = "onnxruntime-node@1.30.0";

    /// <summary>The platform this process runs on, or null when onnxruntime-node ships nothing for it.</summary>
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

    /// <summary>Where onnxruntime-node keeps the library for a platform, relative to the folder holding node_modules.</summary>
    public static string NpmRelativePath(OrtPlatform platform)
    {
        var (os, arch, file) = platform switch
        {
            OrtPlatform.LinuxX64 => ("linux", "x64", "libonnxruntime.so.1"),
            OrtPlatform.LinuxArm64 => ("linux", "arm64", "libonnxruntime.so.1"),
            OrtPlatform.OsxArm64 => ("darwin", "arm64", "libonnxruntime.1.dylib"),
            OrtPlatform.WinX64 => ("win32", "x64", "onnxruntime.dll"),
            _ => throw new ArgumentOutOfRangeException(nameof(platform)),
        };
        return Path.Combine("node_modules", "onnxruntime-node", "bin", "napi-v6", os, arch, file);
    }

    /// <summary>
    /// Every path to try, in order, without touching the file system: the explicit path, the app folder's files,
    /// then the npm location under the app folder and each of its parents, then under the current directory and
    /// each of its parents. Duplicates are dropped, keeping the first.
    /// </summary>
    public static IReadOnlyList<string> CandidatePaths(string? explicitPath, string appDirectory, string? currentDirectory, OrtPlatform platform)
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

        var npm = NpmRelativePath(platform);
        foreach (var start in new[] { appDirectory, currentDirectory })
        {
            for (var dir = start; !string.IsNullOrEmpty(dir); dir = Path.GetDirectoryName(dir))
            {
                Add(Path.Combine(dir, npm));
            }
        }

        return result;
    }

    /// <summary>
    /// Loads the library and returns its <c>OrtGetApiBase</c> export and the path it came from. Throws one
    /// <see cref="InferenceException"/> listing every place looked at and how to fix it.
    /// </summary>
    internal static nint LoadGetApiBase(out string loadedFrom)
    {
        var platform = CurrentPlatform() ?? throw new InferenceException(ErrorCode.RuntimeFailure,
            $"ONNX Runtime: {RuntimeInformation.OSDescription} {RuntimeInformation.ProcessArchitecture} is not a platform {NpmPackage} ships a library for. " +
            $"Build ONNX Runtime 1.30 for it and set {LibraryPathVariable} to the library's path.");
        string? currentDirectory;
        try
        {
            currentDirectory = Environment.CurrentDirectory;
        }
        catch (IOException)
        {
            currentDirectory = null; // deleted working directory: only the other places are searched
        }

        var candidates = CandidatePaths(Environment.GetEnvironmentVariable(LibraryPathVariable), AppContext.BaseDirectory, currentDirectory, platform);
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
            $"application, or install it with `npm install {NpmPackage} --ignore-scripts` (./build.sh setup does this).");
    }
}
