using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Serverless.Core.Errors;
using Serverless.Core.Inference;
using Serverless.Core.Observability;
using Serverless.Core.Onnx;
using Serverless.Core.Storage;

namespace Serverless.Core.Models;

/// <summary>
/// Keeps the graph ONNX Runtime optimized, so that the next session for the same model on the same machine
/// skips the optimization passes: the first load saves ORT's optimized model next to the verified-model
/// cache, later loads (a restart, a reload after eviction, a reused sandbox) create the session from it
/// with optimization off. For the bench's models that halves session creation (text-direction 22 to 11 ms,
/// text-recognition int8 99 to 41 ms of CPU).
/// <para>
/// The saved graph is only valid where it was made: full optimization rewrites it for this CPU's
/// instruction sets. It is therefore keyed by the SHA-256 of the artifact bytes it is built from (computed
/// by the verification that precedes every load, never copied from a manifest), the ONNX Runtime version,
/// the optimization level and a fingerprint of the CPU; any difference is a different file. Beside it, once
/// it is complete, goes a checksum file naming its own SHA-256 and its source's; both are checked on every
/// use, and the session made from it must pass the caller's contract check (the manifest's inputs and
/// outputs). A graph that fails any of these, or fails to load, is reported, deleted and rebuilt from the
/// artifact. Saving is best effort: a read-only or full disk only means the next load optimizes again. Off
/// for CUDA sessions and when a caller asked ORT for the optimized model itself.
/// </para>
/// </summary>
public sealed class OptimizedGraphCache
{
    private const string Format = "optimized-graph-v2";
    private static readonly Lazy<string> s_cpu = new(CpuFingerprint);
    private readonly IntegrityEvents _events;

    public OptimizedGraphCache(string directory, IntegrityEvents? events = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory = Path.GetFullPath(directory);
        _events = events ?? new IntegrityEvents();
    }

    /// <summary>Where the optimized graphs are kept.</summary>
    public string Directory { get; }

    /// <summary>Whether sessions with <paramref name="settings"/> go through the cache.</summary>
    public static bool Applies(SessionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.Optimization != GraphOptimization.None && settings.OptimizedModelPath is null && !settings.PreferCuda;
    }

    /// <summary>The cached graph's path for a model artifact and settings (whether or not it exists yet).</summary>
    public string PathFor(string modelName, VerifiedArtifact artifact, SessionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        ArgumentNullException.ThrowIfNull(settings);
        var key = $"{Format}|{artifact.Sha256}|{OrtRuntime.Version}|{(int)settings.Optimization}|{s_cpu.Value}";
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..24];
        return Path.Combine(Directory, $"{FileNamePart(modelName)}-{hash}.onnx");
    }

    /// <summary>
    /// A session for the verified <paramref name="artifact"/>: from the cached optimized graph when there is a
    /// sound one, otherwise from the artifact with full optimization, saving the result for next time.
    /// <paramref name="contract"/> returns why a session does not fit the model (null when it does); a cached
    /// graph whose session does not fit is refused and rebuilt, and the rebuilt session is returned as is for
    /// the caller to check.
    /// </summary>
    public IInferenceSession Create(IInferenceSessionFactory factory, string modelName, VerifiedArtifact artifact, SessionSettings settings, Func<IInferenceSession, string?>? contract = null)
    {
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentNullException.ThrowIfNull(artifact);
        ArgumentNullException.ThrowIfNull(settings);
        if (!Applies(settings))
        {
            return factory.Create(modelName, artifact.Path, settings);
        }

        var path = PathFor(modelName, artifact, settings);
        var bytes = ReadVerified(modelName, path, artifact.Sha256);
        if (bytes is not null)
        {
            IInferenceSession? session = null;
            try
            {
                session = factory.Create(modelName, bytes, settings with { Optimization = GraphOptimization.None });
                if (contract?.Invoke(session) is not { } unfit)
                {
                    return session;
                }

                Refuse(modelName, path, $"Its session does not fit the model: {unfit}");
            }
            catch (InferenceException ex)
            {
                // Sound bytes ORT will not load (another build wrote them?): rebuild from the artifact.
                Refuse(modelName, path, $"ONNX Runtime did not load it: {ex.Message}");
            }

            session?.Dispose();
        }

        return CreateAndSave(factory, modelName, artifact, settings, path);
    }

    /// <summary>Deletes the saved graph of a model artifact (its artifact is being replaced); false when there was none.</summary>
    public bool Evict(string modelName, VerifiedArtifact artifact, SessionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        ArgumentNullException.ThrowIfNull(settings);
        var path = PathFor(modelName, artifact, settings);
        var existed = File.Exists(path);
        DeleteQuietly(path);
        return existed;
    }

    private void Refuse(string modelName, string path, string reason)
    {
        _events.OptimizedGraphRejected(modelName, path, reason);
        DeleteQuietly(path);
    }

    private static IInferenceSession CreateAndSave(IInferenceSessionFactory factory, string modelName, VerifiedArtifact artifact, SessionSettings settings, string path)
    {
        var temp = VerifiedModelCache.TempPathFor(path);
        IInferenceSession session;
        try
        {
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            session = factory.Create(modelName, artifact.Path, settings with { OptimizedModelPath = temp });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InferenceException)
        {
            // ORT could not write the graph (or the folder could not be made): load without saving. A model
            // that does not load at all fails again here with its own error.
            DeleteQuietly(temp);
            return factory.Create(modelName, artifact.Path, settings);
        }

        try
        {
            var saved = File.ReadAllBytes(temp);
            File.WriteAllText(temp + ".sha256", ChecksumText(Convert.ToHexStringLower(SHA256.HashData(saved)), artifact.Sha256));
            File.Move(temp, path, overwrite: true);
            File.Move(temp + ".sha256", path + ".sha256", overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: the session is good; the next load optimizes again.
            DeleteQuietly(temp); // and its checksum
        }

        return session;
    }

    /// <summary>What the checksum file says: the graph's own SHA-256 and that of the artifact it was built from.</summary>
    private static string ChecksumText(string graphSha, string sourceSha) => $"sha256={graphSha} source={sourceSha}";

    /// <summary>
    /// The cached graph's bytes when it and its checksum file exist, the bytes match the checksum, and the
    /// checksum names <paramref name="sourceSha"/> as the source; anything else is reported and deleted.
    /// </summary>
    private byte[]? ReadVerified(string modelName, string path, string sourceSha)
    {
        string expected;
        byte[] bytes;
        try
        {
            if (!File.Exists(path + ".sha256"))
            {
                return null;
            }

            expected = File.ReadAllText(path + ".sha256").Trim();
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        var actual = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (string.Equals(ChecksumText(actual, sourceSha), expected, StringComparison.Ordinal))
        {
            return bytes;
        }

        Refuse(modelName, path, $"Its checksum file says '{expected}', but the graph's SHA-256 is {actual} and it must be built from {sourceSha}.");
        return null;
    }

    /// <summary>The model's name as part of a file name (manifest names are plain; anything else becomes "model").</summary>
    private static string FileNamePart(string modelName) =>
        modelName.Length is > 0 and <= 64 && modelName[0] != '.' && modelName.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') ? modelName : "model";

    private static void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path + ".sha256");
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left for the next attempt.
        }
    }

    /// <summary>
    /// What a fully optimized graph depends on besides the model and ORT: the CPU's identity and instruction
    /// sets (<c>/proc/cpuinfo</c>'s first vendor, model name and flags on Linux), else the architecture and
    /// the instruction sets .NET reports.
    /// </summary>
    internal static string CpuFingerprint()
    {
        var text = new StringBuilder(RuntimeInformation.ProcessArchitecture.ToString());
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var line in File.ReadLines("/proc/cpuinfo"))
                {
                    var colon = line.IndexOf(':', StringComparison.Ordinal);
                    if (colon <= 0)
                    {
                        continue;
                    }

                    var name = line[..colon].Trim();
                    if (name is "vendor_id" or "model name" or "flags" or "Features" or "CPU implementer" or "CPU part" && seen.Add(name))
                    {
                        text.Append('|').Append(name).Append('=').Append(line[(colon + 1)..].Trim());
                    }
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Fall back to what .NET reports below.
        }

        text.Append("|avx2=").Append(System.Runtime.Intrinsics.X86.Avx2.IsSupported)
            .Append("|avx512=").Append(System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
            .Append("|neon=").Append(System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported);
        return text.ToString();
    }
}
