using System.Diagnostics;
using System.Globalization;
using System.Text;
using Serverless.Tests.Shared;

namespace Serverless.Azure.Tests.EndToEnd;

/// <summary>
/// The published function app, started as the Functions host starts a dotnet-isolated worker: <c>dotnet
/// serverless-azure.dll</c> from worker.config.json, in the app folder, with the host's command-line arguments
/// (both the legacy and the <c>--functions-</c> spellings, as the host passes them) and its environment
/// (FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_WORKER_DIRECTORY, FUNCTIONS_APPLICATION_DIRECTORY). The app folder is SERVERLESS_AZURE_APP when set (e.g.
/// artifacts/azure/app from ./build.sh package-azure); otherwise the Release build is published once per test
/// run with <c>dotnet publish --no-build</c>, the same publish step the package script runs.
/// </summary>
public sealed class PublishedWorker : IAsyncDisposable
{
    private static readonly SemaphoreSlim PublishLock = new(1, 1);
    private static string? _published;

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private PublishedWorker(Process process, string workerId)
    {
        _process = process;
        WorkerId = workerId;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string WorkerId { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>What the worker wrote to stdout and stderr (the host copies it into its logs).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The published app folder (serverless-azure.dll, worker.config.json, functions.metadata).</summary>
    public static async Task<string> AppFolderAsync()
    {
        if (Environment.GetEnvironmentVariable("SERVERLESS_AZURE_APP") is { Length: > 0 } given)
        {
            return File.Exists(Path.Combine(given, "serverless-azure.dll")) ? given : throw new InvalidOperationException($"SERVERLESS_AZURE_APP={given} holds no serverless-azure.dll; run ./build.sh package-azure or unset it.");
        }

        await PublishLock.WaitAsync();
        try
        {
            return _published ??= await PublishAsync();
        }
        finally
        {
            PublishLock.Release();
        }
    }

    public static PublishedWorker Start(string app, Uri hostUri, IReadOnlyDictionary<string, string> environment)
    {
        var workerId = Guid.NewGuid().ToString();
        var requestId = Guid.NewGuid().ToString();
        const string maxMessage = "2147483647";
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = app,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            Path.Combine(app, "serverless-azure.dll"),
            "--host", hostUri.Host, "--port", hostUri.Port.ToString(CultureInfo.InvariantCulture),
            "--workerId", workerId, "--requestId", requestId, "--grpcMaxMessageLength", maxMessage,
            "--functions-uri", hostUri.AbsoluteUri, "--functions-worker-id", workerId,
            "--functions-request-id", requestId, "--functions-grpc-max-message-length", maxMessage,
        })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["FUNCTIONS_WORKER_RUNTIME"] = "dotnet-isolated";
        start.Environment["FUNCTIONS_WORKER_DIRECTORY"] = app;
        start.Environment["FUNCTIONS_APPLICATION_DIRECTORY"] = app;
        start.Environment["AzureFunctionsJobHost__functionTimeout"] = "00:10:00";
        start.Environment["SERVERLESS_ORT_LIBRARY"] = RepoPaths.OrtLibrary;
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        return new PublishedWorker(Process.Start(start) ?? throw new InvalidOperationException("Could not start dotnet for the worker."), workerId);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    private static async Task<string> PublishAsync()
    {
        var project = Path.Combine(RepoPaths.Root, "functions", "Serverless.Azure", "Serverless.Azure.csproj");
        var output = Path.Combine(RepoPaths.Root, ".cache", "azure-worker-test");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "publish", project, "-c", "Release", "--no-build", "-o", output, "-nologo", "-v:quiet" })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start dotnet publish.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet publish {project} failed ({process.ExitCode}): {await stdout}{await stderr}");
        }

        return output;
    }
}
