using System.Globalization;
using Serverless.Core.Errors;
using Serverless.Core.Models;

namespace Serverless.Core.Hosting;

/// <summary>
/// Model-serving settings shared by every host, read from environment variables. Each invalid value is a
/// start-up error (InvalidInput) naming the variable, the value and what is accepted.
/// <list type="table">
/// <item><term>MODEL_STORE</term><description>Store root URI: file:///abs/path, a relative path, s3://bucket/prefix, azblob://...
/// Default: <c>.cache/store</c> under the current directory (where <c>./build.sh setup</c> puts the verified models).</description></item>
/// <item><term>MODEL_CACHE_DIR</term><description>Where downloaded models are verified and kept. Default: /tmp/models on Lambda
/// (AWS_LAMBDA_FUNCTION_NAME set; /tmp is its only writable disk), else $XDG_CACHE_HOME/serverless/models or ~/.cache/serverless/models.</description></item>
/// <item><term>MODEL_MEMORY_BUDGET_MB</term><description>Memory for loaded sessions. Default: 70% of the memory the container grants,
/// leaving the rest for request buffers and the runtime.</description></item>
/// <item><term>MODEL_PRELOAD</term><description>Comma-separated model names loaded at start-up, or * for all. Default: none.</description></item>
/// <item><term>MODEL_GRAPH_CACHE</term><description>on (default) or off: keep ONNX Runtime's optimized graph of each model under
/// MODEL_CACHE_DIR/optimized, keyed by model, ORT version and CPU, so later loads on this machine skip graph optimization.</description></item>
/// <item><term>MODEL_NAME</term><description>Per-model functions: the one model this process serves; others answer 404.</description></item>
/// <item><term>SERVERLESS_MODELS_DIR</term><description>Folder of &lt;name&gt;/model.json manifests, or of bare *.onnx files.
/// Default: ./models when it holds manifests, else the manifests published in the store (&lt;name&gt;/model.json keys).</description></item>
/// </list>
/// </summary>
public sealed record ServerlessSettings
{
    public const string DefaultStore = ".cache/store";
    public const double DefaultBudgetFraction = 0.7;

    public required string ModelStore { get; init; }

    public required string CacheDirectory { get; init; }

    public required long MemoryBudgetBytes { get; init; }

    /// <summary>Names to load at start-up; empty for none. See <see cref="PreloadAll"/>.</summary>
    public IReadOnlyList<string> Preload { get; init; } = [];

    /// <summary>MODEL_PRELOAD=*.</summary>
    public bool PreloadAll { get; init; }

    /// <summary>The single model served, or null to serve all.</summary>
    public string? ModelName { get; init; }

    /// <summary>Folder of manifests or bare .onnx files, or null to read manifests from the store.</summary>
    public string? ModelsDirectory { get; init; }

    /// <summary>MODEL_GRAPH_CACHE: keep ORT's optimized graphs under <see cref="OptimizedGraphDirectory"/>.</summary>
    public bool GraphCache { get; init; } = true;

    /// <summary>Where optimized graphs are kept: <c>optimized</c> under the cache directory.</summary>
    public string OptimizedGraphDirectory => Path.Combine(CacheDirectory, "optimized");

    /// <summary>Running inside AWS Lambda.</summary>
    public bool OnLambda { get; init; }

    public static ServerlessSettings FromEnvironment() => FromEnvironment(SystemEnvironment.Instance);

    public static ServerlessSettings FromEnvironment(IEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var cwd = environment.CurrentDirectory;
        var onLambda = !string.IsNullOrEmpty(environment.GetVariable("AWS_LAMBDA_FUNCTION_NAME"));

        var store = Trimmed(environment, "MODEL_STORE") ?? Path.Combine(cwd, DefaultStore);

        var cache = Trimmed(environment, "MODEL_CACHE_DIR");
        cache = cache is null ? DefaultCacheDirectory(environment, onLambda) : Path.GetFullPath(cache, cwd);

        var budget = ParseBudget(environment);

        var (preload, all) = ParsePreload(Trimmed(environment, "MODEL_PRELOAD"));

        var modelName = Trimmed(environment, "MODEL_NAME");
        if (modelName is not null && !ModelCatalog.IsValidName(modelName))
        {
            throw Invalid("MODEL_NAME", modelName, $"a model name: {ModelCatalog.NameRule}, e.g. text-direction");
        }

        var graphCacheText = Trimmed(environment, "MODEL_GRAPH_CACHE");
        var graphCache = graphCacheText is null || (ParseSwitch(graphCacheText) ?? throw Invalid("MODEL_GRAPH_CACHE", graphCacheText, "on or off"));

        var modelsDir = Trimmed(environment, "SERVERLESS_MODELS_DIR");
        if (modelsDir is not null)
        {
            modelsDir = Path.GetFullPath(modelsDir, cwd);
            if (!Directory.Exists(modelsDir))
            {
                throw Invalid("SERVERLESS_MODELS_DIR", modelsDir, "an existing folder of <name>/model.json manifests or *.onnx files");
            }
        }
        else if (ModelCatalog.FolderHasManifests(Path.Combine(cwd, "models")))
        {
            modelsDir = Path.Combine(cwd, "models");
        }

        return new ServerlessSettings
        {
            ModelStore = store,
            CacheDirectory = cache,
            MemoryBudgetBytes = budget,
            Preload = preload,
            PreloadAll = all,
            ModelName = modelName,
            ModelsDirectory = modelsDir,
            OnLambda = onLambda,
            GraphCache = graphCache,
        };
    }

    /// <summary>An on/off setting: "on", "1", "true", "yes" or "off", "0", "false", "no" (any case, trimmed); null for anything else.</summary>
    public static bool? ParseSwitch(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        "on" or "1" or "true" or "yes" => true,
        "off" or "0" or "false" or "no" => false,
        _ => null,
    };

    /// <summary>True when <paramref name="name"/> should be loaded at start-up.</summary>
    public bool ShouldPreload(string name) => PreloadAll || Preload.Contains(name, StringComparer.Ordinal);

    private static string DefaultCacheDirectory(IEnvironment environment, bool onLambda)
    {
        if (onLambda)
        {
            return "/tmp/models";
        }

        var xdg = Trimmed(environment, "XDG_CACHE_HOME");
        var root = xdg is not null && Path.IsPathFullyQualified(xdg) ? xdg : Path.Combine(environment.HomeDirectory, ".cache");
        return Path.Combine(root, "serverless", "models");
    }

    private static long ParseBudget(IEnvironment environment)
    {
        var text = Trimmed(environment, "MODEL_MEMORY_BUDGET_MB");
        if (text is null)
        {
            var available = environment.TotalAvailableMemoryBytes;
            return available > 0 ? (long)(available * DefaultBudgetFraction) : 1L << 30;
        }

        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var mb) || mb <= 0 || mb > 16L << 20)
        {
            throw Invalid("MODEL_MEMORY_BUDGET_MB", text, "a whole number of megabytes between 1 and 16777216, e.g. 1024");
        }

        return mb << 20;
    }

    private static (IReadOnlyList<string> Names, bool All) ParsePreload(string? text)
    {
        if (text is null)
        {
            return ([], false);
        }

        if (text == "*")
        {
            return ([], true);
        }

        var names = new List<string>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!ModelCatalog.IsValidName(part))
            {
                throw Invalid("MODEL_PRELOAD", text, $"'*' or comma-separated model names; '{part}' is not a model name");
            }

            if (!names.Contains(part, StringComparer.Ordinal))
            {
                names.Add(part);
            }
        }

        return (names, false);
    }

    private static string? Trimmed(IEnvironment environment, string name) =>
        environment.GetVariable(name)?.Trim() is { Length: > 0 } value ? value : null;

    internal static InferenceException Invalid(string variable, string value, string expected) =>
        new(ErrorCode.InvalidInput, $"The setting {variable}='{Storage.ObjectKey.Printable(value)}' is invalid: expected {expected}.");
}
