using System.Security.Cryptography;
using System.Text;
using Serverless.Core.Errors;
using Serverless.Core.Inference;
using Serverless.Core.Storage;

namespace Serverless.Core.Models;

/// <summary>
/// Manifests for a folder of bare <c>*.onnx</c> files (<c>serve --models DIR</c>): each file is served under
/// its file name without extension, sanitized to a model name, as version "1". Inputs and outputs are read
/// from the model itself through a session, and SHA-256 and size from the file, so the artifact is verified
/// like any published one. The artifact key is the file name, relative to the folder used as a local store.
/// </summary>
public static class DerivedManifest
{
    /// <summary>True when <paramref name="folder"/> directly holds at least one .onnx file.</summary>
    public static bool FolderHasModels(string folder) =>
        Directory.Exists(folder) && Directory.EnumerateFiles(folder, "*.onnx").Any();

    public static async Task<IReadOnlyList<ModelManifest>> FromFolderAsync(string folder, IInferenceSessionFactory factory, SessionSettings? settings = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(factory);
        var full = Path.GetFullPath(folder);
        if (!FolderHasModels(full))
        {
            throw new InferenceException(ErrorCode.InvalidInput,
                $"The folder '{full}' holds no .onnx files and no <name>/model.json manifests; there is nothing to serve.");
        }

        var found = new List<(ModelManifest, string)>();
        foreach (var file in Directory.EnumerateFiles(full, "*.onnx").Order(StringComparer.Ordinal))
        {
            found.Add((await FromFileAsync(file, factory, settings ?? SessionSettings.Default, cancellationToken).ConfigureAwait(false), file));
        }

        return ModelCatalog.CheckUnique(found);
    }

    /// <summary>The manifest for one .onnx file; its artifact key is the file name.</summary>
    public static async Task<ModelManifest> FromFileAsync(string path, IInferenceSessionFactory factory, SessionSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(factory);
        var fileName = Path.GetFileName(path);
        if (!ObjectKey.IsValidSegment(fileName))
        {
            throw new InferenceException(ErrorCode.InvalidInput, $"The model file name '{ObjectKey.Printable(fileName)}' cannot be served; rename it (letters, digits, '-', '_', '.').");
        }

        var name = ToModelName(Path.GetFileNameWithoutExtension(fileName));
        string sha;
        long size;
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (stream.ConfigureAwait(false))
        {
            size = stream.Length;
            sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
        }

        using var session = factory.Create(name, path, settings);
        var batched = session.Inputs.Count > 0 && session.Inputs.All(i => i.HasDynamicBatch);
        return new ModelManifest
        {
            Name = name,
            Description = $"Served from {fileName}; manifest derived from the model.",
            DefaultVersion = "1",
            Versions = [new ModelVersionManifest { Version = "1", Artifact = fileName, Sha256 = sha, Size = size }],
            Inputs = [.. session.Inputs.Select(ToManifest)],
            Outputs = [.. session.Outputs.Select(ToManifest)],
            MemoryMb = (int)Math.Clamp(256 + 3 * (size >> 20), 256, 10240),
            MaxBatchSize = batched ? 32 : 0,
        };
    }

    /// <summary>"My Model (v2)" becomes "my-model-v2": lowercase, other characters to '-', no leading or repeated separators.</summary>
    public static string ToModelName(string stem)
    {
        ArgumentNullException.ThrowIfNull(stem);
        var builder = new StringBuilder(stem.Length);
        foreach (var c in stem.ToLowerInvariant())
        {
            var keep = char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_' or '.';
            var next = keep ? c : '-';
            if (builder.Length == 0 && !char.IsAsciiLetterOrDigit(next))
            {
                continue;
            }

            if (!char.IsAsciiLetterOrDigit(next) && builder.Length > 0 && !char.IsAsciiLetterOrDigit(builder[^1]))
            {
                continue;
            }

            builder.Append(next);
        }

        var name = builder.ToString().TrimEnd('-', '_', '.');
        if (name.Length > 128)
        {
            name = name[..128].TrimEnd('-', '_', '.');
        }

        return name.Length == 0 ? "model" : name;
    }

    private static TensorManifest ToManifest(Tensors.TensorSpec spec) => new()
    {
        Name = spec.Name,
        Datatype = Tensors.TensorElementTypes.ToProtocolName(spec.ElementType) ?? spec.ElementType.ToString().ToUpperInvariant(),
        Shape = [.. spec.Shape],
    };
}
