using Serverless.Core.Errors;
using Serverless.Core.Onnx;
using Serverless.Tests.Shared;

namespace Serverless.Core.Tests.Onnx;

public class OrtNativeLibraryTests
{
    [Theory]
    [InlineData(OrtPlatform.LinuxX64, "linux-x64/native/libonnxruntime.so")]
    [InlineData(OrtPlatform.LinuxArm64, "linux-arm64/native/libonnxruntime.so")]
    [InlineData(OrtPlatform.OsxArm64, "osx-arm64/native/libonnxruntime.dylib")]
    [InlineData(OrtPlatform.WinX64, "win-x64/native/onnxruntime.dll")]
    public void RuntimesRelativePath_PicksTheFileTheNuGetPackageShipsForThePlatform(OrtPlatform platform, string tail)
    {
        var path = OrtNativeLibrary.RuntimesRelativePath(platform).Replace('\\', '/');
        Assert.Equal("runtimes/" + tail, path);
    }

    [Theory]
    [InlineData(OrtPlatform.LinuxX64)]
    [InlineData(OrtPlatform.LinuxArm64)]
    public void LinuxLibraries_AreCopiedIntoAPortableBuild(OrtPlatform platform)
    {
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, OrtNativeLibrary.RuntimesRelativePath(platform))));
    }

    [Theory]
    [InlineData(OrtPlatform.OsxArm64)]
    [InlineData(OrtPlatform.WinX64)]
    public void OtherPlatformsLibraries_AreLeftOutOfTheBuild(OrtPlatform platform)
    {
        Assert.False(File.Exists(Path.Combine(AppContext.BaseDirectory, OrtNativeLibrary.RuntimesRelativePath(platform))));
        Assert.False(File.Exists(Path.Combine(AppContext.BaseDirectory, "onnxruntime.dll")));
    }

    [Fact]
    public void CandidatePaths_OnLinux_TriesExplicitThenAppFolderThenItsRuntimesFolder()
    {
        var paths = OrtNativeLibrary.CandidatePaths("/opt/ort/libonnxruntime.so.1", "/srv/app/bin", OrtPlatform.LinuxX64);
        Assert.Equal(
        [
            "/opt/ort/libonnxruntime.so.1",
            "/srv/app/bin/libonnxruntime.so",
            "/srv/app/bin/libonnxruntime.so.1",
            "/srv/app/bin/runtimes/linux-x64/native/libonnxruntime.so",
        ], paths);
    }

    [Fact]
    public void CandidatePaths_OnLinuxArm64_UsesTheArm64Library()
    {
        var paths = OrtNativeLibrary.CandidatePaths(null, "/app", OrtPlatform.LinuxArm64);
        Assert.Equal(
        [
            "/app/libonnxruntime.so",
            "/app/libonnxruntime.so.1",
            "/app/runtimes/linux-arm64/native/libonnxruntime.so",
        ], paths);
    }

    [Fact]
    public void CandidatePaths_OnMacArm64_UsesTheDylibs()
    {
        var paths = OrtNativeLibrary.CandidatePaths("", "/Users/me/app", OrtPlatform.OsxArm64);
        Assert.Equal("/Users/me/app/libonnxruntime.dylib", paths[0]);
        Assert.Equal("/Users/me/app/libonnxruntime.1.dylib", paths[1]);
        Assert.Equal("/Users/me/app/runtimes/osx-arm64/native/libonnxruntime.dylib", paths[2]);
        Assert.DoesNotContain("", paths); // a blank variable is ignored, not tried as a path
    }

    [Fact]
    public void CandidatePaths_OnWindowsX64_UsesOnnxruntimeDll()
    {
        var paths = OrtNativeLibrary.CandidatePaths(null, "/app", OrtPlatform.WinX64);
        Assert.Equal("/app/onnxruntime.dll", paths[0]);
        Assert.EndsWith("win-x64/native/onnxruntime.dll", paths[1].Replace('\\', '/'), StringComparison.Ordinal);
        Assert.All(paths, p => Assert.DoesNotContain(".so", p, StringComparison.Ordinal));
    }

    [Fact]
    public void CandidatePaths_WhenTheExplicitPathIsTheAppFolderFile_ListsItOnce()
    {
        var paths = OrtNativeLibrary.CandidatePaths("/repo/bin/libonnxruntime.so", "/repo/bin", OrtPlatform.LinuxX64);
        Assert.Equal(paths.Count, paths.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal("/repo/bin/libonnxruntime.so", paths[0]);
    }

    [Fact]
    public void Load_WhenNothingUsableExists_ListsEveryPlaceLookedAtAndHowToFixIt()
    {
        var text = Path.Combine(Path.GetTempPath(), $"not-a-library-{Guid.NewGuid():N}.so");
        File.WriteAllText(text, "plain text");
        try
        {
            var candidates = new List<string> { "/nowhere/libonnxruntime.so.1", text };
            const string libm = "/lib/x86_64-linux-gnu/libm.so.6";
            if (File.Exists(libm))
            {
                candidates.Add(libm);
            }

            var ex = Assert.Throws<InferenceException>(() => OrtNativeLibrary.LoadGetApiBase(candidates, out _));
            Assert.Contains("/nowhere/libonnxruntime.so.1: not found", ex.Message, StringComparison.Ordinal);
            Assert.Contains(text + ": could not be loaded", ex.Message, StringComparison.Ordinal);
            if (File.Exists(libm))
            {
                Assert.Contains(libm + ": loaded, but it has no OrtGetApiBase export", ex.Message, StringComparison.Ordinal);
            }

            Assert.Contains("SERVERLESS_ORT_LIBRARY", ex.Message, StringComparison.Ordinal);
            Assert.Contains("Microsoft.ML.OnnxRuntime 1.30.0", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(text);
        }
    }

    [Fact]
    public void Load_WithTheRepositoryLibrary_FindsOrtGetApiBase()
    {
        var export = OrtNativeLibrary.LoadGetApiBase(["/nowhere/x.so", RepoPaths.OrtLibrary], out var from);
        Assert.NotEqual(0, export);
        Assert.Equal(RepoPaths.OrtLibrary, from);
    }

    [Fact]
    public void CurrentPlatform_OnThisMachine_IsLinuxX64()
    {
        Assert.Equal(OrtPlatform.LinuxX64, OrtNativeLibrary.CurrentPlatform());
        Assert.Equal("1.30.0", OrtRuntime.Version);
    }
}
