using System.Text.Json;

namespace Serverless.Core.Models;

/// <summary>
/// Reads <c>model.json</c> into a <see cref="ModelManifest"/> over <see cref="JsonDocument"/>, with the rules
/// the serializer's contract (<see cref="ModelManifestJsonContext"/>) states: camelCase names matched exactly,
/// unknown properties ignored, comments and trailing commas allowed, the required members required, defaults
/// for the rest. It exists for start-up: the serializer's first use builds its metadata at run time, which
/// cost a serve start about 30 ms on the critical path (the first request waits for the catalog); this
/// reader costs well under a millisecond. Writing manifests stays with the serializer.
/// Errors are <see cref="JsonException"/>s naming the JSON path, e.g. <c>$.versions[0].size must be a whole number</c>.
/// </summary>
internal static class ModelManifestReader
{
    private static readonly JsonDocumentOptions Options = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    // The records' own initializers are the defaults: read them from instances instead of restating them.
    private static readonly ModelManifest ManifestDefaults = new() { Name = string.Empty, DefaultVersion = string.Empty, Versions = [] };
    private static readonly ModelVersionManifest VersionDefaults = new() { Version = string.Empty, Artifact = string.Empty, Sha256 = string.Empty, Size = 0 };

    public static ModelManifest Read(ReadOnlyMemory<byte> json)
    {
        using var document = JsonDocument.Parse(json, Options);
        var root = document.RootElement;
        if (root.ValueKind == JsonValueKind.Null)
        {
            throw new JsonException("the document is null");
        }

        Expect(root, JsonValueKind.Object, "$");
        return new ModelManifest
        {
            Name = RequiredString(root, "name", "$"),
            Description = OptionalString(root, "description", "$"),
            Platform = OptionalString(root, "platform", "$") ?? ManifestDefaults.Platform,
            DefaultVersion = RequiredString(root, "defaultVersion", "$"),
            Versions = RequiredArray(root, "versions", "$", ReadVersion),
            Inputs = OptionalArray(root, "inputs", "$", ReadTensor) ?? ManifestDefaults.Inputs,
            Outputs = OptionalArray(root, "outputs", "$", ReadTensor) ?? ManifestDefaults.Outputs,
            MemoryMb = OptionalInt(root, "memoryMb", "$") ?? ManifestDefaults.MemoryMb,
            Gpu = OptionalBool(root, "gpu", "$") ?? ManifestDefaults.Gpu,
            MaxBatchSize = OptionalInt(root, "maxBatchSize", "$") ?? ManifestDefaults.MaxBatchSize,
        };
    }

    private static ModelVersionManifest ReadVersion(JsonElement element, string path)
    {
        Expect(element, JsonValueKind.Object, path);
        return new ModelVersionManifest
        {
            Version = RequiredString(element, "version", path),
            Artifact = RequiredString(element, "artifact", path),
            Sha256 = RequiredString(element, "sha256", path),
            Size = RequiredLong(element, "size", path),
            Precision = OptionalString(element, "precision", path) ?? VersionDefaults.Precision,
            Source = element.TryGetProperty("source", out var source) && source.ValueKind != JsonValueKind.Null ? ReadSource(source, path + ".source") : null,
        };
    }

    private static ModelSource ReadSource(JsonElement element, string path)
    {
        Expect(element, JsonValueKind.Object, path);
        return new ModelSource
        {
            Package = OptionalString(element, "package", path),
            Path = OptionalString(element, "path", path),
            License = OptionalString(element, "license", path),
            DerivedFrom = OptionalString(element, "derivedFrom", path),
            ReferenceSha256 = OptionalString(element, "referenceSha256", path),
            ReferenceSize = OptionalLong(element, "referenceSize", path),
            LocalBuild = OptionalString(element, "localBuild", path),
        };
    }

    private static TensorManifest ReadTensor(JsonElement element, string path)
    {
        Expect(element, JsonValueKind.Object, path);
        var shape = Required(element, "shape", path);
        Expect(shape, JsonValueKind.Array, path + ".shape");
        var dims = new long[shape.GetArrayLength()];
        var i = 0;
        foreach (var dim in shape.EnumerateArray())
        {
            dims[i] = Long(dim, $"{path}.shape[{i}]");
            i++;
        }

        return new TensorManifest
        {
            Name = RequiredString(element, "name", path),
            Datatype = RequiredString(element, "datatype", path),
            Shape = dims,
        };
    }

    private static JsonElement Required(JsonElement parent, string name, string path) =>
        parent.TryGetProperty(name, out var value) ? value : throw new JsonException($"{path} is missing the required property '{name}'");

    private static string RequiredString(JsonElement parent, string name, string path) =>
        String(Required(parent, name, path), $"{path}.{name}") ?? throw new JsonException($"{path}.{name} must be a string, not null");

    private static long RequiredLong(JsonElement parent, string name, string path) => Long(Required(parent, name, path), $"{path}.{name}");

    private static IReadOnlyList<T> RequiredArray<T>(JsonElement parent, string name, string path, Func<JsonElement, string, T> read) =>
        Array(Required(parent, name, path), $"{path}.{name}", read) ?? throw new JsonException($"{path}.{name} must be an array, not null");

    private static string? OptionalString(JsonElement parent, string name, string path) =>
        parent.TryGetProperty(name, out var value) ? String(value, $"{path}.{name}") : null;

    private static int? OptionalInt(JsonElement parent, string name, string path)
    {
        if (!parent.TryGetProperty(name, out var value))
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number)
            ? number
            : throw new JsonException($"{path}.{name} must be a whole number (32-bit)");
    }

    private static long? OptionalLong(JsonElement parent, string name, string path) =>
        parent.TryGetProperty(name, out var value) ? Long(value, $"{path}.{name}") : null;

    private static bool? OptionalBool(JsonElement parent, string name, string path)
    {
        if (!parent.TryGetProperty(name, out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new JsonException($"{path}.{name} must be true or false"),
        };
    }

    private static IReadOnlyList<T>? OptionalArray<T>(JsonElement parent, string name, string path, Func<JsonElement, string, T> read) =>
        parent.TryGetProperty(name, out var value) ? Array(value, $"{path}.{name}", read) : null;

    private static IReadOnlyList<T>? Array<T>(JsonElement value, string path, Func<JsonElement, string, T> read)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        Expect(value, JsonValueKind.Array, path);
        var items = new List<T>(value.GetArrayLength());
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            items.Add(read(item, $"{path}[{i}]"));
            i++;
        }

        return items;
    }

    private static string? String(JsonElement value, string path) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Null => null,
        _ => throw new JsonException($"{path} must be a string"),
    };

    private static long Long(JsonElement value, string path) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number)
            ? number
            : throw new JsonException($"{path} must be a whole number");

    private static void Expect(JsonElement value, JsonValueKind kind, string path)
    {
        if (value.ValueKind != kind)
        {
            throw new JsonException($"{path} must be {(kind == JsonValueKind.Object ? "an object" : "an array")}, not {value.ValueKind.ToString().ToLowerInvariant()}");
        }
    }
}
