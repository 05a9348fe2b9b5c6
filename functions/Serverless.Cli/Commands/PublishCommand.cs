using System.CommandLine;
using Serverless.Cli.Hosting;
using Serverless.Core.Models;
using Serverless.Core.Storage;
using Spectre.Console;

namespace Serverless.Cli.Commands;

/// <summary>
/// <c>publish</c>: uploads every model's verified artifacts, then its model.json, from the local store to
/// another store (s3://, azblob://, file://) so functions there can load them lazily. A progress bar is
/// drawn only on a terminal; piped output gets one line per object, which logs and tests can read.
/// </summary>
internal static class PublishCommand
{
    public static Command Create(CliConsole console, Option<bool> verbose)
    {
        var store = CommonOptions.Store("Destination store URI (s3://bucket/prefix, azblob://account/container/prefix, file:///path).");
        store.Required = true;
        var source = new Option<string?>("--source")
        {
            Description = $"Store holding the verified artifacts to upload. Default: ${CommonOptions.ModelStoreVariable}, else ./.cache/store.",
            HelpName = "URI",
        };
        var models = CommonOptions.ModelsDir();
        var command = new Command("publish", "Upload model artifacts and manifests to a model store.") { store, source, models };
        command.SetAction((parse, cancellationToken) =>
        {
            var isVerbose = parse.GetValue(verbose);
            var options = new ServeOptions
            {
                ModelsDir = CommonOptions.ResolveModelsDir(parse.GetValue(models), console),
                Store = CommonOptions.ResolveStore(parse.GetValue(source), console),
                WorkingDirectory = console.WorkingDirectory,
            };
            var destination = CommonOptions.ResolveStore(parse.GetValue(store), console)!;
            return CommandRunner.RunAsync(console, isVerbose, ct => RunAsync(console, options, destination, ct), cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(CliConsole console, ServeOptions options, string destinationUri, CancellationToken cancellationToken)
    {
        var settings = ServingComponents.Settings(options);
        if (settings.ModelsDirectory is null || !ModelCatalog.FolderHasManifests(settings.ModelsDirectory))
        {
            throw new CliUsageException("publish needs a folder of <name>/model.json manifests: pass --models DIR or set SERVERLESS_MODELS_DIR.");
        }

        var manifests = ModelCatalog.LoadFromFolder(settings.ModelsDirectory);
        var resolver = StoreResolver.Create(console.WorkingDirectory);
        var sourceStore = resolver.Resolve(settings.ModelStore);
        var destination = resolver.Resolve(destinationUri);
        if (string.Equals(sourceStore.Root, destination.Root, StringComparison.Ordinal))
        {
            throw new CliUsageException($"The destination {destination.Root} is the source store itself; pass another --store.");
        }

        var publisher = new ModelPublisher(sourceStore, destination);
        await console.Output.WriteLineAsync($"Publishing {manifests.Count} model(s) from {sourceStore.Root} to {destination.Root}").ConfigureAwait(false);
        var result = console.IsTerminal
            ? await PublishWithProgressBarAsync(publisher, manifests, cancellationToken).ConfigureAwait(false)
            : await publisher.PublishAsync(manifests, new LineProgress(console.Output), cancellationToken).ConfigureAwait(false);

        await console.Output.WriteLineAsync(
            $"Done: {result.Uploaded.Count} object(s) uploaded ({ModelsCommand.FormatSize(result.BytesUploaded)}), {result.Skipped.Count} already present.").ConfigureAwait(false);
        return ExitCodes.Success;
    }

    private static Task<PublishResult> PublishWithProgressBarAsync(ModelPublisher publisher, IReadOnlyList<ModelManifest> manifests, CancellationToken cancellationToken) =>
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn())
            .StartAsync(async context =>
            {
                var tasks = new Dictionary<string, ProgressTask>(StringComparer.Ordinal);
                var progress = new SynchronousProgress(p =>
                {
                    if (!tasks.TryGetValue(p.Key, out var task))
                    {
                        task = context.AddTask(p.Key, maxValue: Math.Max(1, p.TotalBytes));
                        tasks[p.Key] = task;
                    }

                    task.Description = $"{p.Key} [grey]{p.Stage.ToString().ToUpperInvariant()}[/]";
                    task.Value = p.Stage is TransferStage.Skipped or TransferStage.Completed ? task.MaxValue : p.BytesDone;
                });
                return await publisher.PublishAsync(manifests, progress, cancellationToken).ConfigureAwait(false);
            });

    /// <summary>
    /// Reports on the caller's thread: <see cref="Progress{T}"/> posts to the thread pool, which would
    /// reorder lines and could print after the summary.
    /// </summary>
    private sealed class SynchronousProgress(Action<TransferProgress> report) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value) => report(value);
    }

    /// <summary>One line per finished or skipped object, for pipes and logs.</summary>
    private sealed class LineProgress(TextWriter output) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value)
        {
            if (value.Stage is TransferStage.Completed or TransferStage.Skipped)
            {
                var verb = value.Stage == TransferStage.Completed ? "uploaded" : "skipped (already present)";
                output.WriteLine($"  {verb,-24}  {value.Key}  {ModelsCommand.FormatSize(value.TotalBytes)}");
            }
        }
    }
}
