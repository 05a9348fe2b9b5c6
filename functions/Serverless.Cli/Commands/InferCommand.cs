using System.CommandLine;
using System.Text.Json;
using Serverless.Cli.Hosting;
using Serverless.Core.Protocol;

namespace Serverless.Cli.Commands;

/// <summary>
/// <c>infer</c>: runs one protocol request file through the same <see cref="ProtocolHandler"/> that
/// <c>serve</c> uses, in-process, and prints the protocol response. <c>--model</c> is a model name from
/// the manifests folder, or a path to an .onnx file served under a derived manifest.
/// </summary>
internal static class InferCommand
{
    public static Command Create(CliConsole console, Option<bool> verbose)
    {
        var model = new Option<string>("--model", "-m")
        {
            Description = "Model name (from --models) or path to an .onnx file.",
            HelpName = "NAME|PATH.onnx",
            Required = true,
        };
        var input = new Option<string>("--input", "-i")
        {
            Description = "Open Inference Protocol request (JSON) to send.",
            HelpName = "request.json",
            Required = true,
        };
        var output = new Option<string?>("--output", "-o")
        {
            Description = "Write the response here instead of stdout.",
            HelpName = "FILE",
        };
        var models = CommonOptions.ModelsDir();
        var store = CommonOptions.Store();

        var command = new Command("infer", "Run one inference request locally and print the protocol response.") { model, input, output, models, store };
        command.SetAction((parse, cancellationToken) =>
        {
            var isVerbose = parse.GetValue(verbose);
            return CommandRunner.RunAsync(
                console,
                isVerbose,
                ct => RunAsync(
                    console,
                    parse.GetValue(model)!,
                    console.FullPath(parse.GetValue(input)!),
                    parse.GetValue(output) is { } path ? console.FullPath(path) : null,
                    CommonOptions.ResolveModelsDir(parse.GetValue(models), console),
                    CommonOptions.ResolveStore(parse.GetValue(store), console),
                    ct),
                cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(CliConsole console, string model, string input, string? output, string? modelsDir, string? store, CancellationToken cancellationToken)
    {
        if (!File.Exists(input))
        {
            throw new CliUsageException($"Request file '{input}' does not exist. Pass an Open Inference Protocol JSON request with --input.");
        }

        var isFile = model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);
        var modelFile = isFile ? console.FullPath(model) : null;
        if (modelFile is not null && !File.Exists(modelFile))
        {
            throw new CliUsageException($"Model file '{modelFile}' does not exist. Pass a model name (see `{console.CommandName} models`) or the path of an existing .onnx file.");
        }

        var serveOptions = new ServeOptions { ModelsDir = modelsDir, Store = store, WorkingDirectory = console.WorkingDirectory };
        await using var components = modelFile is not null
            ? await ServingComponents.CreateForFileAsync(modelFile, cancellationToken).ConfigureAwait(false)
            : await ServingComponents.CreateAsync(serveOptions, cancellationToken).ConfigureAwait(false);
        var modelName = isFile ? components.Repository.Manifests[0].Name : model;

        var body = await File.ReadAllBytesAsync(input, cancellationToken).ConfigureAwait(false);
        var request = ProtocolRequest.FromBytes("POST", $"/v2/models/{Uri.EscapeDataString(modelName)}/infer", body, ProtocolContentTypes.Json);
        using var response = new BufferedProtocolResponse();
        await components.Handler.HandleAsync(request, response, cancellationToken).ConfigureAwait(false);

        if (response.StatusCode != 200)
        {
            await console.Error.WriteLineAsync($"{console.CommandName}: {ErrorMessage(response)} (HTTP {response.StatusCode})").ConfigureAwait(false);
            return response.StatusCode is >= 400 and < 500 ? ExitCodes.Usage : ExitCodes.Failure;
        }

        if (output is null)
        {
            var stdout = console.Output;
            await stdout.WriteLineAsync(System.Text.Encoding.UTF8.GetString(response.BodyMemory.Span)).ConfigureAwait(false);
            await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await File.WriteAllBytesAsync(output, response.BodyMemory.ToArray(), cancellationToken).ConfigureAwait(false);
            await console.Error.WriteLineAsync($"wrote {response.BodyLength} bytes to {output}").ConfigureAwait(false);
        }

        return ExitCodes.Success;
    }

    /// <summary>The "error" text of a protocol error body, or the raw body when it is not the usual shape.</summary>
    private static string ErrorMessage(BufferedProtocolResponse response)
    {
        try
        {
            using var document = JsonDocument.Parse(response.BodyMemory);
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out var error))
            {
                return error.GetString() ?? "unknown error";
            }
        }
        catch (JsonException)
        {
        }

        return System.Text.Encoding.UTF8.GetString(response.BodyMemory.Span);
    }
}
