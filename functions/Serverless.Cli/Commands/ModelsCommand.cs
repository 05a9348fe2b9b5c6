using System.CommandLine;
using System.Globalization;
using Serverless.Cli.Hosting;

namespace Serverless.Cli.Commands;

/// <summary>
/// <c>models</c>: one row per model version with precision, artifact size, this process's state and
/// whether the artifact is present in the store, so a missing fetch or publish shows before serving.
/// Plain aligned text, so the output reads the same in a terminal, a pipe or a test.
/// </summary>
internal static class ModelsCommand
{
    public static Command Create(CliConsole console, Option<bool> verbose)
    {
        var models = CommonOptions.ModelsDir();
        var store = CommonOptions.Store();
        var command = new Command("models", "List the models, their versions, precision, size and state.") { models, store };
        command.SetAction((parse, cancellationToken) =>
        {
            var isVerbose = parse.GetValue(verbose);
            var options = new ServeOptions
            {
                ModelsDir = CommonOptions.ResolveModelsDir(parse.GetValue(models), console),
                Store = CommonOptions.ResolveStore(parse.GetValue(store), console),
                WorkingDirectory = console.WorkingDirectory,
            };
            return CommandRunner.RunAsync(console, isVerbose, ct => RunAsync(console, options, ct), cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(CliConsole console, ServeOptions options, CancellationToken cancellationToken)
    {
        await using var components = await ServingComponents.CreateAsync(options, cancellationToken).ConfigureAwait(false);
        var repository = components.Repository;
        if (repository.Manifests.Count == 0)
        {
            await console.Error.WriteLineAsync($"{console.CommandName}: no models found in {components.Source}. Add <name>/model.json manifests or .onnx files there, or pass --models DIR.").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        // No STATE column: this command's own registry never loads anything, so every model would read
        // UNAVAILABLE (the KServe state of "not loaded here"), which says nothing about a running server.
        var rows = new List<string[]> { new[] { "MODEL", "VERSION", "PRECISION", "SIZE", "STORE" } };
        foreach (var manifest in repository.Manifests)
        {
            foreach (var version in manifest.Versions)
            {
                var present = await components.ArtifactStateAsync(version, cancellationToken).ConfigureAwait(false);
                var label = version.Version == manifest.DefaultVersion && manifest.Versions.Count > 1 ? version.Version + " (default)" : version.Version;
                rows.Add([manifest.Name, label, version.Precision, FormatSize(version.Size), present]);
            }
        }

        await WriteTableAsync(console.Output, rows).ConfigureAwait(false);
        foreach (var unloadable in components.Unloadable)
        {
            await console.Output.WriteLineAsync($"{unloadable.Name} cannot be served: {unloadable.Error.Message}").ConfigureAwait(false);
        }

        foreach (var skipped in components.Skipped)
        {
            await console.Output.WriteLineAsync($"not served: {skipped.Reason}.").ConfigureAwait(false);
        }

        foreach (var manifest in repository.Manifests)
        {
            foreach (var version in manifest.Versions)
            {
                if (version.Source is { ReferenceSha256: { } reference } source)
                {
                    await console.Output.WriteLineAsync(
                        $"{manifest.Name} {version.Version}: built on this machine (sha256 {version.Sha256[..12]}..., {FormatSize(version.Size)}); it differs from the reference build "
                        + $"(sha256 {reference[..Math.Min(12, reference.Length)]}...). {source.LocalBuild}").ConfigureAwait(false);
                }
            }
        }

        await console.Output.WriteLineAsync($"{repository.Manifests.Count} model(s) from {components.Source}").ConfigureAwait(false);
        return ExitCodes.Success;
    }

    internal static string FormatSize(long bytes) => bytes switch
    {
        < 1024 => bytes.ToString(CultureInfo.InvariantCulture) + " B",
        < 1024 * 1024 => (bytes / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " KB",
        < 1024L * 1024 * 1024 => (bytes / (1024.0 * 1024)).ToString("0.0", CultureInfo.InvariantCulture) + " MB",
        _ => (bytes / (1024.0 * 1024 * 1024)).ToString("0.00", CultureInfo.InvariantCulture) + " GB",
    };

    private static async Task WriteTableAsync(TextWriter output, List<string[]> rows)
    {
        var widths = new int[rows[0].Length];
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        foreach (var row in rows)
        {
            var cells = new string[row.Length];
            for (var i = 0; i < row.Length; i++)
            {
                cells[i] = i == row.Length - 1 ? row[i] : row[i].PadRight(widths[i]);
            }

            await output.WriteLineAsync(string.Join("  ", cells)).ConfigureAwait(false);
        }
    }
}
