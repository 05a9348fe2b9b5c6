using System.CommandLine;

namespace Serverless.Cli.Commands;

/// <summary>
/// Options shared by several commands, and how their defaults come from the environment that
/// <c>build.sh</c> exports (SERVERLESS_MODELS_DIR, MODEL_STORE).
/// </summary>
internal static class CommonOptions
{
    public const string ModelsDirVariable = "SERVERLESS_MODELS_DIR";
    public const string ModelStoreVariable = "MODEL_STORE";

    /// <summary>--verbose: on every command; shows stack traces and debug logs.</summary>
    public static Option<bool> Verbose() => new("--verbose", "-v")
    {
        Description = "Show debug logs and full exception details.",
        Recursive = true,
    };

    public static Option<string?> ModelsDir() => new("--models")
    {
        Description = $"Folder of model manifests (<name>/model.json) or of bare *.onnx files. Default: ${ModelsDirVariable}, else ./models, else the manifests published in the store.",
        HelpName = "DIR",
    };

    public static Option<string?> Store(string? description = null) => new("--store")
    {
        Description = description ?? $"Model store URI (file:///path, s3://bucket/prefix, ...). Default: ${ModelStoreVariable}, else ./.cache/store.",
        HelpName = "URI",
    };

    /// <summary>The --models value as an absolute path, or null to let the settings decide (SERVERLESS_MODELS_DIR, ./models, the store).</summary>
    public static string? ResolveModelsDir(string? option) =>
        string.IsNullOrWhiteSpace(option) ? null : Path.GetFullPath(option);

    /// <summary>The --store value, or null to let the settings decide (MODEL_STORE, else ./.cache/store).</summary>
    public static string? ResolveStore(string? option) =>
        string.IsNullOrWhiteSpace(option) ? null : option;
}
