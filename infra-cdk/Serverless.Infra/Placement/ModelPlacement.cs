using Serverless.Core.Models;

namespace Serverless.Infra.Placement;

/// <summary>Where a model is served.</summary>
public enum ModelTarget
{
    /// <summary>Its own Lambda function (one bootstrap.zip, MODEL_NAME set per function).</summary>
    Lambda,
    /// <summary>The ECS GPU service behind an internal load balancer.</summary>
    GpuService,
}

/// <summary>
/// The "heavy" rule: which models go to the GPU service instead of a Lambda, and how a Lambda is sized.
/// A model is heavy when any of these holds (the largest version counts, since a function may serve any):
/// <list type="number">
/// <item>its manifest says <c>gpu: true</c>;</item>
/// <item><c>memoryMb</c> &gt; 10,240 MB, the Lambda memory ceiling;</item>
/// <item>2 x artifact size &gt; 10,240 MB, the ceiling of Lambda's /tmp: the function downloads the
/// artifact and keeps a verified copy in MODEL_CACHE_DIR, so it needs room for two;</item>
/// <item>when the model would be bundled into the deployment package instead of downloaded
/// (<paramref name="bundled"/>), artifact size &gt; 250 MB, Lambda's unzipped package limit.</item>
/// </list>
/// This stack never bundles (functions download from the model bucket), so rule 4 is off by default.
/// </summary>
public static class ModelPlacement
{
    public const int LambdaMinMemoryMb = 128;
    public const int LambdaMaxMemoryMb = 10_240;
    public const int LambdaMinEphemeralMb = 512;
    public const int LambdaMaxEphemeralMb = 10_240;
    public const int LambdaUnzippedPackageLimitMb = 250;

    /// <summary>Room in /tmp beyond the two artifact copies, for ONNX Runtime's and the runtime's own files.</summary>
    public const int EphemeralHeadroomMb = 256;

    public static ModelTarget Place(ModelManifest manifest, bool bundled = false) =>
        IsHeavy(manifest, bundled) ? ModelTarget.GpuService : ModelTarget.Lambda;

    public static bool IsHeavy(ModelManifest manifest, bool bundled = false)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var artifactMb = LargestArtifactMb(manifest);
        return manifest.Gpu
            || manifest.MemoryMb > LambdaMaxMemoryMb
            || 2 * artifactMb > LambdaMaxEphemeralMb
            || (bundled && artifactMb > LambdaUnzippedPackageLimitMb);
    }

    /// <summary>Why a model is heavy, for the synth log and README; null when it fits a Lambda.</summary>
    public static string? HeavyReason(ModelManifest manifest, bool bundled = false)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var artifactMb = LargestArtifactMb(manifest);
        if (manifest.Gpu)
        {
            return "manifest sets gpu: true";
        }

        if (manifest.MemoryMb > LambdaMaxMemoryMb)
        {
            return $"memoryMb {manifest.MemoryMb} > Lambda's {LambdaMaxMemoryMb} MB";
        }

        if (2 * artifactMb > LambdaMaxEphemeralMb)
        {
            return $"artifact {artifactMb:F0} MB x2 (download + cache) > Lambda's {LambdaMaxEphemeralMb} MB of /tmp";
        }

        return bundled && artifactMb > LambdaUnzippedPackageLimitMb
            ? $"artifact {artifactMb:F0} MB > Lambda's {LambdaUnzippedPackageLimitMb} MB unzipped package when bundled"
            : null;
    }

    /// <summary>Function memory: the manifest's memoryMb clamped to Lambda's 128..10,240 MB.</summary>
    public static int LambdaMemoryMb(ModelManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        return Math.Clamp(manifest.MemoryMb, LambdaMinMemoryMb, LambdaMaxMemoryMb);
    }

    /// <summary>/tmp size: two copies of the largest artifact plus headroom, at least 512 MB, at most 10,240 MB.</summary>
    public static int EphemeralStorageMb(ModelManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var needed = (long)Math.Ceiling(2 * LargestArtifactMb(manifest)) + EphemeralHeadroomMb;
        return (int)Math.Clamp(needed, LambdaMinEphemeralMb, LambdaMaxEphemeralMb);
    }

    /// <summary>
    /// MODEL_MEMORY_BUDGET_MB: what the model cache may hold. Three quarters of the function's memory, so
    /// the .NET runtime, ONNX Runtime's arenas and request buffers keep the rest.
    /// </summary>
    public static int MemoryBudgetMb(ModelManifest manifest) => LambdaMemoryMb(manifest) * 3 / 4;

    public static double LargestArtifactMb(ModelManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        long largest = 0;
        foreach (var version in manifest.Versions)
        {
            largest = Math.Max(largest, version.Size);
        }

        return largest / (1024.0 * 1024.0);
    }
}
