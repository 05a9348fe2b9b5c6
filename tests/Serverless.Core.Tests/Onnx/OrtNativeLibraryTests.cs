using Serverless.Core.Errors;
using Serverless.Core.Onnx;
using Serverless.Tests.Shared;

namespace Serverless.Core.Tests.Onnx;

public class OrtNativeLibraryTests
{
    [Theory]
    [InlineData(OrtPlatform.LinuxX64, "linux/x64/libonnxruntime.so.1")]
    [InlineData(OrtPlatform.LinuxArm64, "linux/arm64/libonnxruntime.so.1")]
    [InlineData(OrtPlatform.OsxArm64, "darwin/arm64/libonnxruntime.1.dylib")]
    [InlineData(OrtPlatform.WinX64, "win32/x64/onnxruntime.dll")]
    public void NpmRelativePath_PicksTheFileOnnxruntimeNodeShipsForThePlatform(OrtPlatform platform, string tail)
    {
        var path = OrtNativeLibrary.NpmRelativePath(platform).Replace('\\', '/');
        Assert.Equal("node_modules/onnxruntime-node/bin/napi-v6/" + tail, path);
    }

    [Theory]
    [InlineData(OrtPlatform.LinuxX64)]
    [InlineData(OrtPlatform.LinuxArm64)]
    [InlineData(OrtPlatform.OsxArm64)]
    [InlineData(OrtPlatform.WinX64)]
    public void NpmFiles_ExistInTheInstalledPackageForEveryPlatform(OrtPlatform platform)
    {
        Assert.True(File.Exists(Path.Combine(RepoPaths.Root, OrtNativeLibrary.NpmRelativePath(platform))));
    }

    [Fact]
    public void CandidatePaths_OnLinux_TriesExplicitThenAppFolderThenNpmWalkingUpFromAppThenCurrentDirectory()
    {
        var paths = OrtNativeLibrary.CandidatePaths("/opt/ort/libonnxruntime.so.1", "/srv/app/bin", "/home/me/repo", OrtPlatform.LinuxX64);
        var npm = "node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1";
        Assert.Equal(
        [
            "/opt/ort/libonnxruntime.so.1",
            "/srv/app/bin/libonnxruntime.so",
            "/srv/app/bin/libonnxruntime.so.1",
            "/srv/app/bin/" + npm,
            "/srv/app/" + npm,
            "/srv/" + npm,
            "/" + npm,
            "/home/me/repo/" + npm,
            "/home/me/" + npm,
            "/home/" + npm,
        ], paths);
    }

    [Fact]
    public void CandidatePaths_OnLinuxArm64_UsesTheArm64Library()
    {
        var paths = OrtNativeLibrary.CandidatePaths(null, "/app", null, OrtPlatform.LinuxArm64);
        Assert.Equal(
        [
            "/app/libonnxruntime.so",
            "/app/libonnxruntime.so.1",
            "/app/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/libonnxruntime.so.1",
            "/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/libonnxruntime.so.1",
        ], paths);
    }

    [Fact]
    public void CandidatePaths_OnMacArm64_UsesTheDylibs()
    {
        var paths = OrtNativeLibrary.CandidatePaths("", "/Users/me/app", null, OrtPlatform.OsxArm64);
        Assert.Equal("/Users/me/app/libonnxruntime.dylib", paths[0]);
        Assert.Equal("/Users/me/app/libonnxruntime.1.dylib", paths[1]);
        Assert.Equal("/Users/me/app/node_modules/onnxruntime-node/bin/napi-v6/darwin/arm64/libonnxruntime.1.dylib", paths[2]);
        Assert.DoesNotContain("", paths); // a blank variable is ignored, not tried as a path
    }

    [Fact]
    public void CandidatePaths_OnWindowsX64_UsesOnnxruntimeDll()
    {
        var paths = OrtNativeLibrary.CandidatePaths(null, "/app", null, OrtPlatform.WinX64);
        Assert.Equal("/app/onnxruntime.dll", paths[0]);
        Assert.EndsWith("win32/x64/onnxruntime.dll", paths[1].Replace('\\', '/'), StringComparison.Ordinal);
        Assert.All(paths, p => Assert.DoesNotContain(".so", p, StringComparison.Ordinal));
    }

    [Fact]
    public void CandidatePaths_WhenCurrentDirectoryIsInsideTheAppFolder_ListsEachPathOnce()
    {
        var paths = OrtNativeLibrary.CandidatePaths(null, "/repo/bin", "/repo", OrtPlatform.LinuxX64);
        Assert.Equal(paths.Count, paths.Distinct(StringComparer.Ordinal).Count());
        Assert.Contains("/repo/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1", paths);
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
            Assert.Contains("npm install onnxruntime-node@1.30.0 --ignore-scripts", ex.Message, StringComparison.Ordinal);
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
