using System.CommandLine;
using System.Globalization;

namespace Serverless.Cli.Commands;

/// <summary>
/// Options shared by several commands, how their defaults come from the environment that <c>build.sh</c>
/// exports (SERVERLESS_MODELS_DIR, MODEL_STORE), and how relative paths in them resolve: against the folder the
/// command was typed in (<see cref="CliConsole.WorkingDirectory"/>), never the repository root build.sh runs from.
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
        Description = description ?? $"Model store URI (file:///path, a folder, s3://bucket/prefix, ...). Default: ${ModelStoreVariable}, else ./.cache/store.",
        HelpName = "URI",
    };

    /// <summary>
    /// A TCP port option whose bad values are one clear line ("--port 'abc' is not a port number: ..."), instead of
    /// the parser's "Cannot parse argument" with a .NET type name.
    /// </summary>
    public static Option<int> Port(string name, string description, int defaultValue, params string[] aliases) => new(name, aliases)
    {
        Description = description,
        HelpName = "PORT",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value <= 65535)
            {
                return value;
            }

            result.AddError($"{name} '{text}' is not a port number: use 1-65535, or 0 to pick a free port.");
            return defaultValue;
        },
    };

    /// <summary>The --models value as an absolute path, or null to let the settings decide (SERVERLESS_MODELS_DIR, ./models, the store).</summary>
    public static string? ResolveModelsDir(string? option, CliConsole console) =>
        string.IsNullOrWhiteSpace(option) ? null : console.FullPath(option);

    /// <summary>
    /// The --store value, or null to let the settings decide (MODEL_STORE, else ./.cache/store). A URI with a
    /// scheme is kept as typed; a plain path is made absolute against the caller's folder.
    /// </summary>
    public static string? ResolveStore(string? option, CliConsole console) =>
        string.IsNullOrWhiteSpace(option) ? null
        : option.Contains("://", StringComparison.Ordinal) ? option
        : console.FullPath(option);
}
