using System.Text.Json;
using Serverless.Core.Errors;
using Serverless.Core.Storage;

namespace Serverless.Core.Models;

/// <summary>
/// Finds and validates model manifests: <c>&lt;folder&gt;/&lt;name&gt;/model.json</c> in a local folder, or
/// <c>&lt;name&gt;/model.json</c> keys in a model store (what <see cref="ModelPublisher"/> uploads, so a
/// deployment with only MODEL_STORE=s3://... and no local models folder knows its models). A catalog with an
/// invalid manifest or a duplicate name is refused as a whole, at start-up, with the file named.
/// </summary>
public static class ModelCatalog
{
    public const string ManifestFileName = "model.json";

    /// <summary>Reads every <c>*/model.json</c> under <paramref name="folder"/>, sorted by name.</summary>
    public static IReadOnlyList<ModelManifest> LoadFromFolder(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var full = Path.GetFullPath(folder);
        if (!Directory.Exists(full))
        {
            throw new InferenceException(ErrorCode.InvalidInput,
                $"The models folder '{full}' does not exist. Set SERVERLESS_MODELS_DIR (or --models) to a folder holding <name>/model.json files.");
        }

        var found = new List<(ModelManifest, string)>();
        foreach (var dir in Directory.EnumerateDirectories(full).Order(StringComparer.Ordinal))
        {
            var file = Path.Combine(dir, ManifestFileName);
            if (File.Exists(file))
            {
                found.Add((Parse(File.ReadAllBytes(file), file), file));
            }
        }

        return CheckUnique(found);
    }

    /// <summary>True when <paramref name="folder"/> holds at least one <c>*/model.json</c>.</summary>
    public static bool FolderHasManifests(string folder) =>
        Directory.Exists(folder) && Directory.EnumerateDirectories(folder).Any(d => File.Exists(Path.Combine(d, ManifestFileName)));

    /// <summary>Reads every <c>&lt;name&gt;/model.json</c> object at the top level of <paramref name="store"/>.</summary>
    public static async Task<IReadOnlyList<ModelManifest>> LoadFromStoreAsync(IObjectStore store, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var keys = new List<string>();
        await foreach (var item in store.ListAsync(string.Empty, cancellationToken).ConfigureAwait(false))
        {
            var parts = item.Key.Split('/');
            if (parts.Length == 2 && parts[1] == ManifestFileName)
            {
                keys.Add(item.Key);
            }
        }

        var found = new List<(ModelManifest, string)>();
        foreach (var key in keys.Order(StringComparer.Ordinal))
        {
            var stream = await store.OpenReadAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                using var buffer = new MemoryStream();
                await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
                var source = store.Root.TrimEnd('/') + "/" + key;
                var manifest = Parse(buffer.ToArray(), source);
                if (manifest.Name != key[..key.IndexOf('/', StringComparison.Ordinal)])
                {
                    throw Invalid(source, $"its name '{manifest.Name}' differs from its folder '{key[..key.IndexOf('/', StringComparison.Ordinal)]}'");
                }

                found.Add((manifest, source));
            }
        }

        return CheckUnique(found);
    }

    /// <summary>Parses and validates one manifest; <paramref name="source"/> names it in errors.</summary>
    public static ModelManifest Parse(ReadOnlySpan<byte> json, string source)
    {
        ModelManifest? manifest;
        try
        {
            manifest = ModelManifestReader.Read(json.ToArray());
        }
        catch (JsonException e)
        {
            throw Invalid(source, $"it is not valid manifest JSON ({e.Message})", e);
        }

        if (manifest is null)
        {
            throw Invalid(source, "it is empty (null)");
        }

        Validate(manifest, source);
        return manifest;
    }

    /// <summary>The manifest as the JSON written to <c>model.json</c>.</summary>
    public static byte[] Serialize(ModelManifest manifest) =>
        JsonSerializer.SerializeToUtf8Bytes(manifest, ModelManifestJsonContext.Default.ModelManifest);

    /// <summary>
    /// The one rule for model and version names, as messages and the README state it. Names keep their case
    /// ('MyModel' is served as /v2/models/MyModel), but two models may not differ by case alone, so every name
    /// maps to one artifact folder on case-insensitive file systems too.
    /// </summary>
    public const string NameRule = "1 to 128 ASCII letters, digits, '-', '_' and '.', starting with a letter or digit, without '..'";

    /// <summary>Model and version names: see <see cref="NameRule"/>.</summary>
    public static bool IsValidName(string? name) => NameProblem(name) is null;

    /// <summary>What in <paramref name="name"/> breaks <see cref="NameRule"/>, for messages; null when it is a valid name.</summary>
    public static string? NameProblem(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "it is empty";
        }

        if (name.Length > 128)
        {
            return $"it is {name.Length} characters long";
        }

        if (!char.IsAsciiLetterOrDigit(name[0]))
        {
            return $"it starts with '{ObjectKey.Printable(name[..1])}'";
        }

        if (name.Contains("..", StringComparison.Ordinal))
        {
            return "it contains '..'";
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.'))
            {
                return $"it contains '{ObjectKey.Printable(c.ToString())}'";
            }
        }

        return null;
    }

    /// <summary>Checks names, versions, artifact keys, SHA-256 format and sizes; throws InvalidInput naming <paramref name="source"/>.</summary>
    public static void Validate(ModelManifest manifest, string source)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        if (NameProblem(manifest.Name) is { } problem)
        {
            throw Invalid(source, $"the name '{ObjectKey.Printable(manifest.Name ?? string.Empty)}' is not allowed: {problem} (model names are {NameRule}, e.g. 'text-direction')");
        }

        if (manifest.Versions is null || manifest.Versions.Count == 0)
        {
            throw Invalid(source, "it lists no versions");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var version in manifest.Versions)
        {
            if (!IsValidName(version.Version))
            {
                throw Invalid(source, $"the version '{ObjectKey.Printable(version.Version ?? string.Empty)}' is not allowed (use e.g. '1' or 'int8')");
            }

            if (!seen.Add(version.Version))
            {
                throw Invalid(source, $"version '{version.Version}' is listed twice");
            }

            if (!ObjectKey.IsValid(version.Artifact))
            {
                throw Invalid(source, $"version '{version.Version}' has the artifact key '{ObjectKey.Printable(version.Artifact ?? string.Empty)}', which is not a safe relative key like '{manifest.Name}/{version.Version}/model.onnx'");
            }

            if (version.Sha256 is null || version.Sha256.Length != 64 || !version.Sha256.All(char.IsAsciiHexDigitLower))
            {
                throw Invalid(source, $"version '{version.Version}' has sha256 '{ObjectKey.Printable(version.Sha256 ?? string.Empty)}', expected 64 lowercase hex digits (sha256sum's output)");
            }

            if (version.Size <= 0)
            {
                throw Invalid(source, $"version '{version.Version}' has size {version.Size}; it must be the artifact's size in bytes");
            }
        }

        if (manifest.FindVersion(null) is null)
        {
            throw Invalid(source, $"its defaultVersion '{manifest.DefaultVersion}' is not among its versions ({string.Join(", ", manifest.Versions.Select(v => v.Version))})");
        }
    }

    /// <summary>Refuses duplicate names; returns the manifests sorted by name.</summary>
    public static IReadOnlyList<ModelManifest> CheckUnique(IEnumerable<(ModelManifest Manifest, string Source)> manifests)
    {
        ArgumentNullException.ThrowIfNull(manifests);
        var byName = new Dictionary<string, (string Name, string Source)>(StringComparer.OrdinalIgnoreCase);
        var result = new List<ModelManifest>();
        foreach (var (manifest, source) in manifests)
        {
            if (byName.TryGetValue(manifest.Name, out var first))
            {
                var same = first.Name == manifest.Name ? $"the model '{manifest.Name}'" : $"the models '{first.Name}' and '{manifest.Name}', which differ only by case,";
                throw new InferenceException(ErrorCode.InvalidInput,
                    $"Two manifests declare {same}: '{first.Source}' and '{source}'. Model names must be unique, ignoring case; rename one.");
            }

            byName.Add(manifest.Name, (manifest.Name, source));
            result.Add(manifest);
        }

        result.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return result;
    }

    private static InferenceException Invalid(string source, string problem, Exception? inner = null) =>
        new(ErrorCode.InvalidInput, $"The model manifest '{source}' is invalid: {problem}.", inner);
}
