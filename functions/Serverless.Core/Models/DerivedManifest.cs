using System.Security.Cryptography;
using Serverless.Core.Errors;
using Serverless.Core.Inference;
using Serverless.Core.Storage;

namespace Serverless.Core.Models;

/// <summary>
/// Manifests for a folder of bare <c>*.onnx</c> files (<c>serve --models DIR</c>): each file is served under
/// its file name without extension, case kept (<c>MyModel.onnx</c> is <c>MyModel</c>), as version "1". Inputs
/// and outputs are read from the model itself through a session, and SHA-256 and size from the file, so the
/// artifact is verified like any published one. The artifact key is the file name, relative to the folder used
/// as a local store. A folder serves what it can: a file whose name is not a model name is skipped with the
/// rule it breaks, and a file that cannot be read or that ONNX Runtime cannot load becomes an
/// <see cref="UnloadableModel"/> that answers every request with the reason.
/// </summary>
public static class DerivedManifest
{
    /// <summary>True when <paramref name="folder"/> directly holds at least one .onnx file.</summary>
    public static bool FolderHasModels(string folder) =>
        Directory.Exists(folder) && Directory.EnumerateFiles(folder, "*.onnx").Any();

    public static async Task<DerivedCatalog> FromFolderAsync(string folder, IInferenceSessionFactory factory, SessionSettings? settings = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(factory);
        var full = Path.GetFullPath(folder);
        if (!FolderHasModels(full))
        {
            throw new InferenceException(ErrorCode.InvalidInput,
                $"The folder '{full}' holds no .onnx files and no <name>/model.json manifests; there is nothing to serve.");
        }

        var served = new List<ModelManifest>();
        var unloadable = new List<UnloadableModel>();
        var skipped = new List<SkippedModelFile>();
        var names = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var file in Directory.EnumerateFiles(full, "*.onnx").Order(StringComparer.Ordinal))
        {
            var fileName = Path.GetFileName(file);
            if (NameProblem(fileName) is { } problem)
            {
                skipped.Add(new SkippedModelFile(file, problem));
                continue;
            }

            var name = Path.GetFileNameWithoutExtension(fileName);
            if (names.TryGetValue(name, out var first))
            {
                skipped.Add(new SkippedModelFile(file,
                    $"'{fileName}': '{name}' differs only by case from the model '{first}'; model names must be unique, ignoring case, so rename one of the files"));
                continue;
            }

            names.Add(name, name);
            try
            {
                served.Add(await FromFileAsync(file, factory, settings ?? SessionSettings.Default, cancellationToken).ConfigureAwait(false));
            }
            catch (Exception e) when (e is InferenceException or IOException or UnauthorizedAccessException)
            {
                unloadable.Add(UnloadableModel.ForFile(name, file, e));
            }
        }

        return new DerivedCatalog(ModelCatalog.CheckUnique(served.Select(m => (m, m.Versions[0].Artifact))), unloadable, skipped);
    }

    /// <summary>Why <paramref name="fileName"/> (an .onnx file's name) cannot name a model, or null when it can.</summary>
    public static string? NameProblem(string fileName)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        var stem = Path.GetFileNameWithoutExtension(fileName);
        if (ModelCatalog.NameProblem(stem) is { } problem)
        {
            return $"'{ObjectKey.Printable(fileName)}': '{ObjectKey.Printable(stem)}' cannot be a model name because {problem}. Model names are {ModelCatalog.NameRule}; rename the file";
        }

        return ObjectKey.IsValidSegment(fileName) ? null : $"'{ObjectKey.Printable(fileName)}' is not a safe object key; rename the file";
    }

    /// <summary>The manifest for one .onnx file; its artifact key is the file name.</summary>
    public static async Task<ModelManifest> FromFileAsync(string path, IInferenceSessionFactory factory, SessionSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(factory);
        var fileName = Path.GetFileName(path);
        if (NameProblem(fileName) is { } problem)
        {
            throw new InferenceException(ErrorCode.InvalidInput, $"The model file '{ObjectKey.Printable(path)}' cannot be served: {problem}.");
        }

        var name = Path.GetFileNameWithoutExtension(fileName);
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

    private static TensorManifest ToManifest(Tensors.TensorSpec spec) => new()
    {
        Name = spec.Name,
        Datatype = Tensors.TensorElementTypes.ToProtocolName(spec.ElementType) ?? spec.ElementType.ToString().ToUpperInvariant(),
        Shape = [.. spec.Shape],
    };
}
