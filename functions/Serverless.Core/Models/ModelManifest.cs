using System.Text.Json.Serialization;

namespace Serverless.Core.Models;

/// <summary>
/// <c>models/&lt;name&gt;/model.json</c>: what a model is, where its artifact lives inside the model store,
/// how to verify it, what it expects and produces, and how much memory it needs. One manifest can list
/// several versions (for example an int8 default and the fp32 original).
/// </summary>
public sealed record ModelManifest
{
    /// <summary>The model's name in URLs (/v2/models/{name}); see <see cref="ModelCatalog.NameRule"/>.</summary>
    public required string Name { get; init; }

    public string? Description { get; init; }

    /// <summary>Protocol platform string, always "onnxruntime_onnx" here.</summary>
    public string Platform { get; init; } = "onnxruntime_onnx";

    /// <summary>The version served when a request names none.</summary>
    public required string DefaultVersion { get; init; }

    public required IReadOnlyList<ModelVersionManifest> Versions { get; init; }

    public IReadOnlyList<TensorManifest> Inputs { get; init; } = [];

    public IReadOnlyList<TensorManifest> Outputs { get; init; } = [];

    /// <summary>Memory a function serving this model needs, in MB (sizes the Lambda and the cache budget).</summary>
    public int MemoryMb { get; init; } = 512;

    /// <summary>True when the model must run on the GPU service rather than a function.</summary>
    public bool Gpu { get; init; }

    /// <summary>Largest batch the model accepts along a dynamic first dimension (for batching); 0 for no batching.</summary>
    public int MaxBatchSize { get; init; } = 32;

    public ModelVersionManifest? FindVersion(string? version) =>
        Versions.FirstOrDefault(v => v.Version == (version ?? DefaultVersion));
}

/// <summary>One version's artifact: its key in the model store, SHA-256 and size, precision and provenance.</summary>
public sealed record ModelVersionManifest
{
    public required string Version { get; init; }

    /// <summary>Key of the .onnx file relative to the model store root, e.g. "text-direction/1/model.onnx".</summary>
    public required string Artifact { get; init; }

    /// <summary>Lowercase hex SHA-256 of the artifact; downloads that do not match are rejected.</summary>
    public required string Sha256 { get; init; }

    public required long Size { get; init; }

    /// <summary>"fp32" or "int8".</summary>
    public string Precision { get; init; } = "fp32";

    public ModelSource? Source { get; init; }
}

/// <summary>Where the artifact came from: an npm package and the file inside it, and its licence.</summary>
public sealed record ModelSource
{
    public string? Package { get; init; }

    public string? Path { get; init; }

    public string? License { get; init; }

    /// <summary>For derived artifacts (e.g. int8): the version it was derived from and how.</summary>
    public string? DerivedFrom { get; init; }

    /// <summary>
    /// For a derived artifact built on this machine whose bytes differ from the recorded reference build: the
    /// reference's SHA-256 (the version's own <c>sha256</c> is the local build's, which serving verifies).
    /// </summary>
    public string? ReferenceSha256 { get; init; }

    /// <summary>The reference build's size in bytes (see <see cref="ReferenceSha256"/>).</summary>
    public long? ReferenceSize { get; init; }

    /// <summary>Why the local build differs from the reference, and the accuracy that accepted it (written by setup).</summary>
    public string? LocalBuild { get; init; }
}

/// <summary>A declared input or output: protocol datatype name and shape (-1 for dynamic).</summary>
public sealed record TensorManifest
{
    public required string Name { get; init; }

    public required string Datatype { get; init; }

    public required long[] Shape { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(ModelManifest))]
public sealed partial class ModelManifestJsonContext : JsonSerializerContext
{
}
