using System.Text.Json;
using Serverless.Core.Models;
using Serverless.Infra.Configuration;

namespace Serverless.Infra.Placement;

/// <summary>The model manifests found under the models folder, split into light (Lambda) and heavy (GPU) models.</summary>
public sealed class ModelCatalog
{
    private ModelCatalog(IReadOnlyList<ModelManifest> all)
    {
        All = all;
        Light = all.Where(m => ModelPlacement.Place(m) == ModelTarget.Lambda).ToList();
        Heavy = all.Where(m => ModelPlacement.Place(m) == ModelTarget.GpuService).ToList();
    }

    /// <summary>Every model, sorted by name so resource ids and the server-level route owner are stable.</summary>
    public IReadOnlyList<ModelManifest> All { get; }

    public IReadOnlyList<ModelManifest> Light { get; }

    public IReadOnlyList<ModelManifest> Heavy { get; }

    /// <summary>Reads every <c>&lt;folder&gt;/&lt;name&gt;/model.json</c> and checks what the stack relies on.</summary>
    public static ModelCatalog Load(string modelsDirectory)
    {
        var files = Directory.Exists(modelsDirectory)
            ? Directory.GetFiles(modelsDirectory, "model.json", SearchOption.AllDirectories)
            : [];
        if (files.Length == 0)
        {
            throw new InfraConfigException($"No model manifests under '{modelsDirectory}': expected <name>/model.json files. Point -c {InfraSettings.ModelsKey}=<folder> at the models folder.");
        }

        var manifests = new List<ModelManifest>(files.Length);
        foreach (var file in files)
        {
            ModelManifest? manifest;
            try
            {
                manifest = JsonSerializer.Deserialize(File.ReadAllText(file), ModelManifestJsonContext.Default.ModelManifest);
            }
            catch (JsonException e)
            {
                throw new InfraConfigException($"Model manifest '{file}' is not valid JSON for a manifest: {e.Message} Fix the file (fields: name, versions[{{version, artifact, sha256, size}}], defaultVersion, memoryMb, gpu).", e);
            }

            manifests.Add(Check(manifest, file));
        }

        var duplicate = manifests.GroupBy(m => m.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InfraConfigException($"Model name '{duplicate.Key}' appears in more than one manifest under '{modelsDirectory}': names must be unique because they are URL segments and S3 prefixes.");
        }

        manifests.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return new ModelCatalog(manifests);
    }

    private static ModelManifest Check(ModelManifest? manifest, string file)
    {
        if (manifest is null)
        {
            throw new InfraConfigException($"Model manifest '{file}' is empty (null).");
        }

        // Names become S3 prefixes, IAM resource ARNs, CloudFormation ids and URL segments.
        if (manifest.Name.Length is 0 or > 48 || !manifest.Name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.') || manifest.Name[0] is '.' or '-')
        {
            throw new InfraConfigException($"Model manifest '{file}' has name '{manifest.Name}': use 1-48 lowercase letters, digits, '-', '_' or '.', starting with a letter or digit.");
        }

        if (manifest.Versions.Count == 0 || manifest.FindVersion(null) is null)
        {
            throw new InfraConfigException($"Model '{manifest.Name}' ({file}): defaultVersion '{manifest.DefaultVersion}' is not among its versions [{string.Join(", ", manifest.Versions.Select(v => v.Version))}].");
        }

        foreach (var version in manifest.Versions)
        {
            if (!version.Artifact.StartsWith(manifest.Name + "/", StringComparison.Ordinal))
            {
                throw new InfraConfigException($"Model '{manifest.Name}' version {version.Version}: artifact '{version.Artifact}' must live under '{manifest.Name}/' because each function may only read its own prefix.");
            }

            if (version.Size <= 0)
            {
                throw new InfraConfigException($"Model '{manifest.Name}' version {version.Version}: size is {version.Size}; give the artifact's size in bytes (it sizes the function's /tmp).");
            }
        }

        if (manifest.MemoryMb <= 0)
        {
            throw new InfraConfigException($"Model '{manifest.Name}': memoryMb is {manifest.MemoryMb}; give the memory the model needs in MB (128..10240 for a Lambda).");
        }

        return manifest;
    }
}
